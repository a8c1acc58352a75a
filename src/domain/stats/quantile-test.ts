import { normalQuantile } from './distributions.js';
import type { EffectCommon, NotComputable } from './effect-result.js';
import { welchFromMoments } from './welch-test.js';

/**
 * Difference in a quantile between two arms, the method of gbstats' `QuantileStatistic`
 * (growthbook/growthbook `packages/stats/gbstats/models/statistics.py`; bounds from
 * `packages/back-end/src/integrations/sql/columns/quantile-bound-values.ts`):
 *
 * The sample ν-quantile's standard error is read off its distribution-free order-statistic
 * interval: the ranks ν ∓ z·√(ν(1 − ν)/n*) (binomial, z = z_0.975) bracket the quantile with ≈ 95%
 * confidence at a sample of n*, so ((upper − lower)/2z)² estimates Var(q̂) at n* without a density
 * estimate (the interval of Price & Bonett 2001 and of Hahn & Meeker's distribution-free bounds,
 * used as a normal approximation). Per-unit variance (n* / n)(n − 1)((upper − lower)/2z)²; then
 * Welch's test on the two arms' quantiles, as gbstats' `TwoSidedTTest` does for any statistic.
 */

/** Confidence level of the order-statistic interval that estimates the variance (gbstats fixes it at 95%). */
const BOUND_Z = normalQuantile(0.975);

/** One arm's quantile summary: the estimate and its order-statistic interval at n* ≤ n units. */
export interface QuantileArm {
  /** Units with a value. */
  n: number;
  /** The sample size the interval's ranks were computed for (n, or smaller when the bounds at n collapse). */
  nStar: number;
  quantile: number;
  lower: number;
  upper: number;
}

export interface QuantileEffect extends EffectCommon {
  method: 'quantile';
  /** The quantile level, e.g. 0.9. */
  nu: number;
  df: number;
  tStatistic: number;
}

/** The rank levels of the order-statistic interval at n*: ν ∓ z·√(ν(1 − ν)/n*), kept inside (0, 1) as gbstats does. */
export function orderStatisticLevels(nu: number, nStar: number): { lower: number; upper: number } {
  const half = BOUND_Z * Math.sqrt((nu * (1 - nu)) / nStar);
  return { lower: Math.max(nu - half, 1e-8), upper: Math.min(nu + half, 1 - 1e-8) };
}

/**
 * The fewest units an arm needs: the order-statistic interval must lie inside the data,
 * n > z²·ν/(1 − ν) and n > z²·(1 − ν)/ν (gbstats `QuantileStatistic._has_zero_variance`):
 * 35 for P90 or P10, 4 for P50, 381 for P99.
 */
export function minimumQuantileSample(nu: number): number {
  return Math.floor(BOUND_Z ** 2 * Math.max(nu / (1 - nu), (1 - nu) / nu)) + 1;
}

/** Per-unit variance of the sample quantile: Var(q̂) = this/n (gbstats `QuantileStatistic.variance_init`). */
export function quantileVariance(a: QuantileArm): number {
  if (a.n <= 1) return 0;
  return (a.nStar / a.n) * (a.n - 1) * ((a.upper - a.lower) / (2 * BOUND_Z)) ** 2;
}

/** Treatment − control in the ν-quantile, with Welch's interval and the delta-method relative effect. */
export function quantileTest(control: QuantileArm, treatment: QuantileArm, nu: number, alpha = 0.05): QuantileEffect | NotComputable {
  if (!(nu > 0 && nu < 1)) return { ok: false, reason: `the quantile level must be between 0 and 1 (exclusive), got ${nu}` };
  const need = minimumQuantileSample(nu);
  const p = `P${+(100 * nu).toFixed(2)}`;
  for (const [name, a] of [
    ['control', control],
    ['treatment', treatment],
  ] as const) {
    if (a.n < need)
      return {
        ok: false,
        reason: `${name} has ${a.n} units with a value; ${p} needs at least ${need} per arm so that its order-statistic interval lies inside the data`,
      };
    if (![a.quantile, a.lower, a.upper].every(Number.isFinite)) return { ok: false, reason: `${name}'s quantile summary is not finite` };
    if (!(quantileVariance(a) > 0))
      return {
        ok: false,
        reason: `${name}'s ${p} has no spread around it (its order-statistic interval collapsed: most units share the value ${a.quantile}); the quantile's variance cannot be estimated`,
      };
  }
  const r = welchFromMoments(
    { mean: control.quantile, variance: quantileVariance(control), n: control.n },
    { mean: treatment.quantile, variance: quantileVariance(treatment), n: treatment.n },
    alpha,
  );
  if (!r.ok) return r;
  const { method: _welch, ...rest } = r;
  return { ...rest, method: 'quantile', nu };
}
