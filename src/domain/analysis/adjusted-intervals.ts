import {
  adjustPValues,
  confidenceSequenceRho,
  groupSequentialBoundaries,
  multiplicityLevels,
  type EffectResult,
  type Interval,
  type PValueAdjustment,
} from '../stats/index.js';
import { normalQuantile, studentTCritical } from '../stats/distributions.js';
import type { Comparison, InferenceSettings } from './compare-arms.js';
import type { MetricResult } from './analyze-experiment.js';

/** A success metric's interval after the multiplicity correction: read at `level` (α/m for Bonferroni, Holm's step level, BH's k·α/m). */
export interface AdjustedInterval {
  level: number;
  absolute: Interval;
  relative: Interval | null;
}

/** The cell's intervals at another level under the method in force; null when none can be stated (mSPRT, before the first group-sequential look). */
export type LevelReader = (level: number) => AdjustedInterval | null;

/**
 * The method-in-force intervals of a comparison at `level` instead of the plan's α:
 * - fixed horizon: estimate ± critical(level)·SE, Student t with the test's df when it has one, else normal;
 *   for the pooled and χ² proportions tests, whose p-value does not come from the Wald SE, Miettinen's (1976)
 *   test-based interval (SE = |estimate|/|z|, the construction GrowthBook's adjustedCI uses), so it excludes 0
 *   exactly when that test's p is below the level;
 * - always-valid: the confidence sequence at `level` with ρ held where the plan's α tuned it (as the
 *   always-valid p-value does, so it excludes 0 exactly when that p is below the level);
 * - group-sequential: estimate ± b_k(level)·SE, the boundary of the look in force for a design at `level`.
 */
export function intervalAtLevel(cmp: Comparison, s: InferenceSettings, level: number): AdjustedInterval | null {
  // mSPRT readings are running intersections over the daily looks: no single level maps to them.
  if ((cmp as { msprt?: unknown }).msprt) return null;
  const t = cmp.test;
  const multiple = criticalAt(t, s, level);
  if (multiple === null) return null;
  const testBased = t.method === 'z-proportions' && 'proportionTest' in t && t.proportionTest !== 'unpooled' && t.zStatistic !== 0;
  const scale = testBased ? Math.abs(t.absolute.estimate / (t as { zStatistic: number }).zStatistic) / t.standardError : 1;
  const around = (estimate: number, se: number): Interval => ({ estimate, lower: estimate - multiple * scale * se, upper: estimate + multiple * scale * se });
  return {
    level,
    absolute: around(t.absolute.estimate, t.standardError),
    relative: t.relative && t.relativeStandardError !== null ? around(t.relative.estimate, t.relativeStandardError) : null,
  };
}

/** The half-width of the method's interval at `level`, in standard errors. */
function criticalAt(t: EffectResult & { ok: true }, s: InferenceSettings, level: number): number | null {
  if (s.method === 'fixed-horizon') return 'df' in t && Number.isFinite(t.df) ? studentTCritical(level, t.df) : -normalQuantile(level / 2);
  if (s.method === 'always-valid') {
    const rho = confidenceSequenceRho(s.alpha, Math.max(s.plannedTotal, 2));
    const x = s.observedTotal * rho * rho;
    return Math.sqrt(((2 * (x + 1)) / x) * (0.5 * Math.log1p(x) - Math.log(level)));
  }
  const looks = s.looks ?? 5;
  const reached = Math.min(1, s.observedTotal / Math.max(s.plannedTotal, 1));
  const lookIndex = Math.min(looks - 1, Math.floor(reached * looks + 1e-9) - 1);
  if (lookIndex < 0) return null;
  return boundaryAt(looks, level, lookIndex);
}

const boundaryMemo = new Map<string, number>();
function boundaryAt(looks: number, level: number, lookIndex: number): number | null {
  const key = `${looks}:${level}:${lookIndex}`;
  const hit = boundaryMemo.get(key);
  if (hit !== undefined) return hit;
  const b = groupSequentialBoundaries({ alpha: level, informationFractions: Array.from({ length: looks }, (_, i) => (i + 1) / looks) });
  if (!b.ok) return null;
  boundaryMemo.set(key, b.z[lookIndex]);
  return b.z[lookIndex];
}

/** A bound at 0 counts as excluding it, as p ≤ α counts as significant. */
const excludesZero = (i: Interval) => i.lower >= 0 || i.upper <= 0;

/**
 * Multiple-testing correction across success metrics, per treatment variant (guardrails are not corrected:
 * each must hold on its own, Schultzberg et al. 2024). Sets pValueAdjusted (adjustPValues) and, where the
 * method can state one, adjustedInterval at the level multiplicityLevels gives the cell; such a cell is
 * significant exactly when that interval excludes 0 (a bound at 0 counts). Cells without one (mSPRT, before the
 * first group-sequential look) are significant when they were and their adjusted p ≤ α.
 */
export function correctSuccessMetrics(results: MetricResult[], method: PValueAdjustment, alpha: number, readers: Map<string, LevelReader>): void {
  const success = results.filter((r) => r.role === 'success');
  const variantKeys = success[0]?.variants.filter((v) => !v.isControl).map((v) => v.variant) ?? [];
  for (const key of variantKeys) {
    const cells = success.flatMap((r) => {
      const v = r.variants.find((x) => x.variant === key);
      return v && v.pValue !== null ? [{ r, v, read: readers.get(readerKey(r.metricId, key)) }] : [];
    });
    if (cells.length === 0) continue;
    const adjusted = adjustPValues(
      cells.map((c) => c.v.pValue!),
      method,
    );
    const levels = multiplicityLevels(
      cells.map((c) => ({
        pValue: c.v.pValue!,
        excludesZeroAt: (level: number) => {
          const i = c.read?.(level);
          return i ? excludesZero(i.absolute) : c.v.significant && c.v.pValue! <= level;
        },
      })),
      method,
      alpha,
    );
    cells.forEach(({ r, v, read }, i) => {
      v.pValueAdjusted = adjusted[i];
      const interval = read?.(levels[i].level) ?? null;
      v.adjustedInterval = interval;
      const significant = interval ? excludesZero(interval.absolute) : v.significant && adjusted[i] <= alpha;
      if (v.significant && !significant)
        v.note = [v.note, `not significant after ${method} correction across ${cells.length} success metrics`].filter(Boolean).join('; ');
      v.significant = significant;
      v.assessment = significant ? ((r.direction === 'increase') === v.absolute!.estimate > 0 ? 'better' : 'worse') : 'no_detectable_change';
    });
  }
  for (const r of results.filter((x) => x.role === 'guardrail')) for (const v of r.variants) if (v.pValue !== null) v.pValueAdjusted = v.pValue;
}

/** The key a cell's LevelReader is registered under. */
export const readerKey = (metricId: string, variant: string) => `${metricId}\u0000${variant}`;

/** The level each success metric was judged at for a variant: the corrected α a decision record reports. */
export function successLevels(results: MetricResult[], variant: string | null): { metricId: string; alpha: number | null }[] {
  return results
    .filter((r) => r.role === 'success')
    .map((r) => ({ metricId: r.metricId, alpha: r.variants.find((v) => v.variant === variant)?.adjustedInterval?.level ?? null }));
}
