import type { Metric } from '../schemas.js';
import { requiredWholeDays } from '../sizing.js';
import type { PendingItem } from '../stats/index.js';
import type { ArmStats } from './compare-arms.js';

const DAY_MS = 86_400_000;

/** The latest time a Date holds (ECMA-262: ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

/**
 * What the plan still waits for: the planned sample (expected at the observed daily rate) and the
 * planned minimum duration in whole days (whole weeks from 7 days up, so weekly cycles are covered).
 */
export function pendingItems(p: { observedTotal: number; plannedTotal: number; durationDays: number; startedAt: string | null; now: Date }): {
  pending: PendingItem[];
  requiredDays: number;
  daysRunning: number | null;
} {
  const requiredDays = requiredWholeDays(p.durationDays);
  const started = p.startedAt ? Date.parse(p.startedAt) : null;
  const daysRunning = started !== null ? (p.now.getTime() - started) / DAY_MS : null;
  const pending: PendingItem[] = [];
  if (p.observedTotal < p.plannedTotal) {
    const rate = daysRunning && daysRunning > 0 ? p.observedTotal / daysRunning : 0;
    const at = rate > 0 ? p.now.getTime() + ((p.plannedTotal - p.observedTotal) / rate) * DAY_MS : Number.NaN;
    // A trickle of units projects past the last representable date: no projection rather than a RangeError.
    const expectedAt = Number.isFinite(at) && at <= MAX_DATE_MS ? new Date(at).toISOString() : null;
    pending.push({ kind: 'sample', have: p.observedTotal, need: p.plannedTotal, expectedAt });
  }
  const haveDays = daysRunning === null ? 0 : Math.max(0, Math.floor(daysRunning + 1e-9));
  if (haveDays < requiredDays)
    pending.push({
      kind: 'duration',
      haveDays,
      needDays: requiredDays,
      metAt: started !== null ? new Date(started + requiredDays * DAY_MS).toISOString() : null,
    });
  return { pending, requiredDays, daysRunning };
}

/**
 * An arm is blind for a metric when it has exposed units but no unit has any data for the metric:
 * Σx = Σx² = 0 for a mean, count or binary metric, a zero denominator sum for a ratio.
 */
export const isBlind = (m: Pick<Metric, 'kind'>, s: ArmStats) => s.n > 0 && (m.kind === 'ratio' ? s.sumY === 0 : s.sumX === 0 && s.sumX2 === 0);
