import { z } from 'zod';
import { SLO_WINDOWS } from './slo-schema.js';
import type { SloReport } from './slo-service.js';

const Burn = z.number().nullable();

/** One SLO's status as every surface shows it (get_slo_status, GET /v1/ops/slo, sealab://ops/slo): compact, numbers only. */
export const SloStatusViewSchema = z.object({
  name: z.string(),
  category: z.string(),
  objective: z.number().describe('e.g. 0.999'),
  sli: z.number().nullable().describe('Good / total over 30 days (since start when younger); null without events'),
  budgetLeft: z.number().nullable().describe('1 − (1 − sli)/(1 − objective): 1 untouched, 0 spent, below 0 overspent'),
  state: z.enum(['ok', 'ticket', 'page', 'no_data']),
  burnRates: z.object(Object.fromEntries(SLO_WINDOWS.map((w) => [w, Burn])) as Record<(typeof SLO_WINDOWS)[number], typeof Burn>),
  alerts: z.array(
    z.object({
      severity: z.enum(['page', 'ticket']),
      long: z.string(),
      short: z.string(),
      burnRate: z.number().describe('Threshold both windows exceed'),
      longBurn: z.number(),
      shortBurn: z.number(),
    }),
  ),
  actions: z.object({ holdRamps: z.boolean(), approvalAboveFirstStage: z.boolean() }).describe('What a firing page alert does to rollouts'),
});

export const SloReportViewSchema = z.object({
  version: z.string().describe('The SLO file version'),
  at: z.string(),
  since: z.string().nullable().describe('Oldest sample kept: longer windows read only this much history'),
  samples: z.number().int(),
  slos: z.array(SloStatusViewSchema),
});
export type SloReportView = z.infer<typeof SloReportViewSchema>;

export function sloView(r: SloReport): SloReportView {
  return {
    ...r,
    slos: r.slos.map((s) => ({
      name: s.name,
      category: s.category,
      objective: s.objective,
      sli: s.sli,
      budgetLeft: s.budgetLeft,
      state: s.state,
      burnRates: Object.fromEntries(s.burnRates.map((b) => [b.window, b.burnRate])) as SloReportView['slos'][number]['burnRates'],
      alerts: s.alerts,
      actions: s.actions,
    })),
  };
}

/** A few lines an agent or operator can read: the SLOs that burn first, then a count of the healthy ones. */
export function sloText(v: SloReportView): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(3)}%`);
  const lines = v.slos
    .filter((s) => s.state !== 'ok' && s.state !== 'no_data')
    .map(
      (s) =>
        `${s.state.toUpperCase()} ${s.name}: SLI ${pct(s.sli)} vs ${pct(s.objective)}, budget left ${pct(s.budgetLeft)}, ${s.alerts.map((a) => `${a.longBurn.toFixed(1)}×/${a.long} ${a.shortBurn.toFixed(1)}×/${a.short} > ${a.burnRate}×`).join('; ')}`,
    );
  const ok = v.slos.filter((s) => s.state === 'ok').length;
  const none = v.slos.filter((s) => s.state === 'no_data').length;
  return [`SLO file ${v.version}, ${v.samples} samples since ${v.since ?? 'never'}.`, ...lines, `${ok} ok, ${none} without data yet.`].join('\n');
}
