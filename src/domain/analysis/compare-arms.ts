import {
  confidenceSequence,
  alwaysValidPValue,
  cupedTest,
  groupSequentialBoundaries,
  groupSequentialTest,
  inconsistentCrossSum,
  inconsistentSummary,
  proportionTest,
  ratioCupedTest,
  ratioTest,
  welchTest,
  type RatioCovariateSummary,
  type EffectResult,
  type Interval,
  type ProportionTestKind,
} from '../stats/index.js';
import type { Metric } from '../schemas.js';
import { msprtReading, type MsprtSettings, type SequentialMethod } from './sequential-options.js';
import { quantileArmOf, type SketchBins } from '../quantile-sketch.js';
import { quantileTest, type QuantileEffect } from '../stats/quantile-test.js';

/** Per-arm sufficient statistics as the metric pipeline keeps them (x: metric or numerator; y: covariate or denominator). */
export interface ArmStats {
  n: number;
  sumX: number;
  sumX2: number;
  sumY: number;
  sumY2: number;
  sumXY: number;
  /**
   * Kept beside the raw sums by the metric pipeline (issue 10): the same sums of x − shiftX and
   * y − shiftY, fixed per (experiment, metric) near the values, so variances keep their digits at a
   * large offset. Absent (hand-built stats, old rows read elsewhere): the raw sums with shift 0.
   */
  shiftX?: number;
  shiftY?: number;
  sumDX?: number;
  sumDX2?: number;
  sumDY?: number;
  sumDY2?: number;
  sumDXDY?: number;
  /** Quantile metrics: the arm's histogram of unit values (QuantileSketchStore). */
  sketch?: SketchBins;
  /** Ratio metrics: pre-exposure numerator/denominator sums (x, y above are the post-exposure ones); enables CUPED for ratios. */
  ratioPre?: RatioPreSums;
}

/** The pre-exposure part of a ratio metric's CUPED summary: mPre, dPre sums and squares, and their products with m, d and each other. */
export type RatioPreSums = Omit<RatioCovariateSummary, 'n' | 'numSum' | 'numSumSquares' | 'denSum' | 'denSumSquares' | 'numDenSum'>;

/** A computed fixed-horizon test of any kind. */
type OkTest = EffectResult & { ok: true };

export type Method = 'always-valid' | 'fixed-horizon' | 'group-sequential';

export interface InferenceSettings {
  method: Method;
  alpha: number;
  cuped: boolean;
  /** Planned total units (all arms): tunes the confidence sequence and sets the information fraction. */
  plannedTotal: number;
  /** Units observed so far (all arms). */
  observedTotal: number;
  looks?: number;
  /** Always-valid plans: the confidence sequence (default) or mSPRT with its settings. */
  sequentialMethod?: SequentialMethod;
  msprt?: MsprtSettings;
  /** Binary metrics, fixed horizon only: the proportions test (sequential methods use the unpooled SE). Default 'unpooled'. */
  proportionTest?: ProportionTestKind;
}

export interface Comparison {
  ok: true;
  test: OkTest;
  /** Interval and p-value under the method in force (always-valid, fixed or group-sequential). */
  absolute: Interval;
  relative: Interval | null;
  pValue: number;
  significant: boolean;
  varianceReduction: number | null;
  note: string | null;
  /** mSPRT plans: τ², this look's log e-value and p (the p-value above is the running minimum). */
  msprt?: { mixingVariance: number; logEValue: number; pValueAtLook: number };
}

/** The fixed-horizon test that fits the metric: ratio (delta method), CUPED when a covariate helps, else proportions / Welch. */
export function fixedTest(
  metric: Pick<Metric, 'kind' | 'quantile'>,
  c: ArmStats,
  t: ArmStats,
  alpha: number,
  cuped: boolean,
  proportions: ProportionTestKind = 'unpooled',
): EffectResult {
  if (metric.kind === 'quantile') return quantileOfArms(metric.quantile, c, t, alpha);
  if (metric.kind === 'ratio') {
    const r = (a: ArmStats) => ({ n: a.n, numSum: a.sumX, numSumSquares: a.sumX2, denSum: a.sumY, denSumSquares: a.sumY2, crossSum: a.sumXY });
    if (cuped && c.ratioPre && t.ratioPre) {
      const withPre = (a: ArmStats, pre: RatioPreSums) => ({
        ...pre,
        n: a.n,
        numSum: a.sumX,
        numSumSquares: a.sumX2,
        denSum: a.sumY,
        denSumSquares: a.sumY2,
        numDenSum: a.sumXY,
      });
      const adjusted = ratioCupedTest(withPre(c, c.ratioPre), withPre(t, t.ratioPre), alpha);
      if (adjusted.ok) return adjusted;
    }
    return ratioTest(r(c), r(t), alpha);
  }
  if (cuped && (c.sumY !== 0 || t.sumY !== 0)) {
    // One moment convention per metric kind: 0/1 metrics use p(1 − p) as the proportion test does, on
    // the raw 0/1 sums; the others read the shifted sums, so θ and the variances keep their digits.
    const binary = metric.kind === 'binary';
    const cov = (a: ArmStats) => {
      const v = binary ? { ...a, shiftX: 0, shiftY: 0 } : varianceSums(a);
      return { n: v.n, sum: v.sumX, sumSquares: v.sumX2, covSum: v.sumY, covSumSquares: v.sumY2, crossSum: v.sumXY, shift: v.shiftX, covShift: v.shiftY };
    };
    const r = cupedTest(cov(c), cov(t), alpha, binary ? 'bernoulli' : 'sample');
    if (r.ok) return r;
  }
  if (metric.kind === 'binary') return proportionTest({ n: c.n, successes: c.sumX }, { n: t.n, successes: t.sumX }, alpha, proportions);
  const mean = (a: ArmStats) => {
    const v = varianceSums(a);
    return { n: v.n, sum: v.sumX, sumSquares: v.sumX2, shift: v.shiftX };
  };
  return welchTest(mean(c), mean(t), alpha);
}

/** Treatment vs control for one metric under the method in force. */
export function compareArms(
  metric: Pick<Metric, 'kind' | 'quantile'>,
  control: ArmStats,
  treatment: ArmStats,
  s: InferenceSettings,
): Comparison | { ok: false; reason: string } {
  // The ratio CUPED path reads the pre sums only when both arms carry them (as fixedTest does).
  const usesPre = metric.kind === 'ratio' && s.cuped && control.ratioPre !== undefined && treatment.ratioPre !== undefined;
  const inconsistent = inconsistentArm(metric, 'control', control, s.cuped, usesPre) ?? inconsistentArm(metric, 'treatment', treatment, s.cuped, usesPre);
  if (inconsistent !== null) return { ok: false, reason: inconsistent };
  const test = fixedTest(metric, control, treatment, s.alpha, s.cuped, s.method === 'fixed-horizon' ? s.proportionTest : 'unpooled');
  if (!test.ok) return test;
  const varianceReduction = test.method === 'cuped' ? test.varianceReduction : null;
  if (s.method === 'fixed-horizon') {
    return {
      ok: true,
      test,
      absolute: test.absolute,
      relative: test.relative,
      pValue: test.pValue,
      significant: test.significant,
      varianceReduction,
      note: test.relativeReason ?? null,
    };
  }
  if (s.method === 'group-sequential') return groupSequential(test, s, varianceReduction);
  if (s.sequentialMethod === 'msprt' && s.msprt) {
    const r = msprtReading(test, s.msprt, s.alpha);
    return 'reason' in r ? r : { ok: true, test, varianceReduction, note: test.relativeReason ?? null, ...r };
  }
  return alwaysValid(test, s, varianceReduction);
}

/** Quantile metrics: the difference in the ν-quantile of unit values (gbstats' QuantileStatistic; see quantileTest). */
function quantileOfArms(nu: number | undefined, c: ArmStats, t: ArmStats, alpha: number): QuantileEffect | { ok: false; reason: string } {
  if (nu === undefined) return { ok: false, reason: 'the metric is a quantile metric without its level (quantile); fix the catalog entry' };
  const arms = [quantileArmOf(c.sketch ?? [], nu), quantileArmOf(t.sketch ?? [], nu)];
  const empty = arms.indexOf(null);
  if (empty >= 0) return { ok: false, reason: `no unit in ${empty === 0 ? 'control' : 'treatment'} has a value for this metric yet` };
  return quantileTest(arms[0]!, arms[1]!, nu, alpha);
}

function alwaysValid(test: OkTest, s: InferenceSettings, varianceReduction: number | null): Comparison | { ok: false; reason: string } {
  const params = { n: s.observedTotal, tuningN: Math.max(s.plannedTotal, 2), alpha: s.alpha };
  const cs = confidenceSequence({ ...params, estimate: test.absolute.estimate, standardError: test.standardError });
  const p = alwaysValidPValue({ ...params, estimate: test.absolute.estimate, standardError: test.standardError });
  if (!cs.ok) return cs;
  if (!p.ok) return p;
  let relative: Interval | null = null;
  if (test.relative && test.relativeStandardError !== null) {
    const rcs = confidenceSequence({ ...params, estimate: test.relative.estimate, standardError: test.relativeStandardError });
    if (rcs.ok) relative = { estimate: test.relative.estimate, lower: rcs.lower, upper: rcs.upper };
  }
  return {
    ok: true,
    test,
    absolute: { estimate: test.absolute.estimate, lower: cs.lower, upper: cs.upper },
    relative,
    pValue: p.pValue,
    significant: cs.significant,
    varianceReduction,
    note: test.relativeReason ?? null,
  };
}

function groupSequential(test: OkTest, s: InferenceSettings, varianceReduction: number | null): Comparison | { ok: false; reason: string } {
  const looks = s.looks ?? 5;
  const fractions = Array.from({ length: looks }, (_, i) => (i + 1) / looks);
  const reached = Math.min(1, s.observedTotal / Math.max(s.plannedTotal, 1));
  const lookIndex = Math.min(looks - 1, Math.floor(reached * looks + 1e-9) - 1);
  if (lookIndex < 0) {
    // Nothing is tested yet; the intervals shown are the first look's (the widest), so no interval
    // of this analysis reads at the fixed-horizon level.
    const first = groupSequentialBoundaries({ alpha: s.alpha, informationFractions: fractions.slice(0, 1) });
    if (!first.ok) return first;
    return {
      ok: true,
      test,
      ...boundaryIntervals(test, first.z[0]),
      varianceReduction,
      pValue: 1,
      significant: false,
      note: `first look at ${(100 / looks).toFixed(0)}% of the planned sample; ${(100 * reached).toFixed(1)}% reached, nothing is tested yet (intervals at the first look's boundary ${first.z[0].toFixed(3)})`,
    };
  }
  const r = groupSequentialTest({
    estimate: test.absolute.estimate,
    standardError: test.standardError,
    lookIndex,
    informationFractions: fractions,
    alpha: s.alpha,
  });
  if (!r.ok) return r;
  return {
    ok: true,
    test,
    ...boundaryIntervals(test, r.boundary),
    varianceReduction,
    pValue: test.pValue,
    significant: r.decision === 'reject',
    note: `look ${lookIndex + 1} of ${looks}: boundary |z| ≥ ${r.boundary.toFixed(3)} (nominal α ${r.nominalAlpha.toExponential(2)}); the p-value shown is the nominal fixed-horizon one`,
  };
}

/** Repeated confidence intervals at a group-sequential boundary: estimate ± b·SE for the absolute and the relative effect alike. */
function boundaryIntervals(
  test: Pick<EffectResult & { ok: true }, 'absolute' | 'standardError' | 'relative' | 'relativeStandardError'>,
  boundary: number,
): { absolute: Interval; relative: Interval | null } {
  const around = (estimate: number, se: number): Interval => ({ estimate, lower: estimate - boundary * se, upper: estimate + boundary * se });
  return {
    absolute: around(test.absolute.estimate, test.standardError),
    relative: test.relative && test.relativeStandardError !== null ? around(test.relative.estimate, test.relativeStandardError) : null,
  };
}

/**
 * Sums no real data can give (a negative variance beyond rounding, a covariance beyond Cauchy–Schwarz)
 * make the comparison not computable with the reason, before any test could clamp them into a
 * confident answer. The covariate (CUPED) and denominator (ratio) sums are checked where they are used,
 * and so are a ratio's pre-exposure sums when ratio CUPED reads them (`usesPre`).
 */
function inconsistentArm(metric: Pick<Metric, 'kind'>, arm: string, stats: ArmStats, cuped: boolean, usesPre: boolean): string | null {
  const usesY = metric.kind === 'ratio' || (cuped && stats.sumY !== 0);
  const a = varianceSums(stats);
  const why =
    inconsistentSummary({ n: a.n, sum: a.sumX, sumSquares: a.sumX2 }) ??
    (usesY ? (inconsistentSummary({ n: a.n, sum: a.sumY, sumSquares: a.sumY2 }) ?? inconsistentCrossSum(a)) : null) ??
    (usesPre && stats.ratioPre ? inconsistentRatioPre(stats, stats.ratioPre) : null);
  return why === null ? null : `${arm}: ${why}; the stored sums are corrupt or hand-written, so nothing is computable (rebuild the aggregates)`;
}

/**
 * The pre-exposure sums of a ratio metric (raw, no shift, as ratioCupedTest reads them): each pre
 * component's variance, then every pair's covariance that involves one — (m, mPre), (m, dPre),
 * (d, mPre), (d, dPre), (mPre, dPre) — against Cauchy–Schwarz. Pairwise checks catch any single
 * corrupted sum; they do not prove the 4×4 covariance positive semi-definite.
 */
function inconsistentRatioPre(a: ArmStats, pre: RatioPreSums): string | null {
  const n = a.n;
  const m = { sum: a.sumX, squares: a.sumX2 };
  const d = { sum: a.sumY, squares: a.sumY2 };
  const mPre = { sum: pre.preNumSum, squares: pre.preNumSumSquares };
  const dPre = { sum: pre.preDenSum, squares: pre.preDenSumSquares };
  const variance = (name: string, c: { sum: number; squares: number }) => {
    const why = inconsistentSummary({ n, sum: c.sum, sumSquares: c.squares });
    return why === null ? null : `pre-exposure ${name}: ${why}`;
  };
  const pair = (name: string, x: { sum: number; squares: number }, y: { sum: number; squares: number }, sumXY: number) => {
    const why = inconsistentCrossSum({ n, sumX: x.sum, sumX2: x.squares, sumY: y.sum, sumY2: y.squares, sumXY });
    return why === null ? null : `${name}: ${why}`;
  };
  return (
    variance('numerator', mPre) ??
    variance('denominator', dPre) ??
    pair('Σ m·mPre', m, mPre, pre.numPreNumSum) ??
    pair('Σ m·dPre', m, dPre, pre.numPreDenSum) ??
    pair('Σ d·mPre', d, mPre, pre.denPreNumSum) ??
    pair('Σ d·dPre', d, dPre, pre.denPreDenSum) ??
    pair('Σ mPre·dPre', mPre, dPre, pre.preNumPreDenSum)
  );
}

/**
 * The sums variances and covariances are computed from: the shifted ones (Σ(x − shiftX)…) when the
 * store kept them, else the raw ones with shift 0. Means are shiftX + sumX/n either way.
 */
export function varianceSums(a: ArmStats): {
  n: number;
  sumX: number;
  sumX2: number;
  sumY: number;
  sumY2: number;
  sumXY: number;
  shiftX: number;
  shiftY: number;
} {
  if (a.shiftX === undefined || a.sumDX === undefined || a.sumDX2 === undefined) {
    return { n: a.n, sumX: a.sumX, sumX2: a.sumX2, sumY: a.sumY, sumY2: a.sumY2, sumXY: a.sumXY, shiftX: 0, shiftY: 0 };
  }
  return {
    n: a.n,
    sumX: a.sumDX,
    sumX2: a.sumDX2,
    sumY: a.sumDY ?? a.sumY,
    sumY2: a.sumDY2 ?? a.sumY2,
    sumXY: a.sumDXDY ?? a.sumXY,
    shiftX: a.shiftX,
    shiftY: a.sumDY === undefined ? 0 : (a.shiftY ?? 0),
  };
}
