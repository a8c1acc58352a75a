import { SLO_WINDOWS, WINDOW_SECONDS, type AlertPair, type Slo, type SloWindow } from './slo-schema.js';
import type { SampleRing } from './sample-ring.js';

export interface WindowReading {
  window: SloWindow;
  /** bad / total over the window; null without events in it. */
  errorRatio: number | null;
  /** errorRatio / (1 − objective): 1 spends the budget exactly over 30 days; null without events. */
  burnRate: number | null;
  events: number;
}

export interface FiringAlert extends AlertPair {
  longBurn: number;
  shortBurn: number;
}

export interface SloStatus {
  name: string;
  category: Slo['category'];
  objective: number;
  /** The SLI over the 30-day window (good / total); null without events. */
  sli: number | null;
  /** 1 − (1 − SLI) / (1 − objective): 1 untouched, 0 spent, negative overspent; null without events. */
  budgetLeft: number | null;
  burnRates: WindowReading[];
  alerts: FiringAlert[];
  state: 'ok' | 'ticket' | 'page' | 'no_data';
  actions: Slo['actions'];
}

/** One SLO's readings over every window from the ring of cumulative samples. */
export function evaluateSlo(slo: Slo, index: number, ring: SampleRing, now: number): SloStatus {
  const latest = ring.latest()?.counts[index] ?? null;
  const burnRates = SLO_WINDOWS.map((window): WindowReading => {
    const start = ring.at(now - WINDOW_SECONDS[window] * 1000)?.counts[index] ?? null;
    if (!latest) return { window, errorRatio: null, burnRate: null, events: 0 };
    const bad = latest[0] - (start?.[0] ?? 0);
    const total = latest[1] - (start?.[1] ?? 0);
    if (total <= 0) return { window, errorRatio: null, burnRate: null, events: 0 };
    const errorRatio = Math.min(1, Math.max(0, bad / total));
    return { window, errorRatio, burnRate: errorRatio / (1 - slo.objective), events: total };
  });
  const burn = (w: SloWindow) => burnRates.find((b) => b.window === w)?.burnRate ?? null;
  const alerts = slo.alerting.flatMap((a): FiringAlert[] => {
    const longBurn = burn(a.long);
    const shortBurn = burn(a.short);
    return longBurn !== null && shortBurn !== null && longBurn > a.burnRate && shortBurn > a.burnRate ? [{ ...a, longBurn, shortBurn }] : [];
  });
  const month = burnRates.find((b) => b.window === '30d')!;
  const sli = month.errorRatio === null ? null : 1 - month.errorRatio;
  return {
    name: slo.name,
    category: slo.category,
    objective: slo.objective,
    sli,
    budgetLeft: month.errorRatio === null ? null : 1 - month.errorRatio / (1 - slo.objective),
    burnRates,
    alerts,
    state: alerts.some((a) => a.severity === 'page') ? 'page' : alerts.length ? 'ticket' : sli === null ? 'no_data' : 'ok',
    actions: slo.actions,
  };
}

/** "assignment-availability: burn 20.0× over 1h and 31.2× over 5m (page above 14.4×), budget left 72.1%". */
export function describeBurn(s: SloStatus): string {
  const firing = s.alerts
    .filter((a) => a.severity === 'page')
    .map((a) => `burn ${a.longBurn.toFixed(1)}× over ${a.long} and ${a.shortBurn.toFixed(1)}× over ${a.short} (page above ${a.burnRate}×)`)
    .join('; ');
  const budget = s.budgetLeft === null ? 'no budget data' : `budget left ${(100 * s.budgetLeft).toFixed(1)}%`;
  return `${s.name} (objective ${(100 * s.objective).toFixed(2)}%): ${firing}, ${budget}`;
}
