import { bayesianComparison, msprtSequence, type BayesianResult, type EffectResult, type Interval, type MsprtLook } from '../stats/index.js';
import type { AnalysisPlan, Metric } from '../schemas.js';

// The always-valid options of the analysis plan (mSPRT instead of the confidence sequence, its mixing
// variance, the tuning of the sequence) and the Bayesian view with its prior, kept out of compare-arms
// and analyze-experiment so those stay about the method in force.

export type SequentialMethod = 'confidence_sequence' | 'msprt';

/** What mSPRT needs beyond the current test: τ² on both scales and the earlier looks' tests. */
export interface MsprtSettings {
  /** τ² on the absolute scale (metric units squared). */
  mixingVariance: number;
  /** τ² on the relative scale (the relative mixing sd squared). */
  relativeMixingVariance: number;
  /**
   * Fixed-horizon tests at earlier looks (daily snapshots), oldest first; the current look is added by
   * the caller. Looks that are not computable (a quantile metric's days, which keep no histograms; a
   * day with too few units) are skipped: the running minimum over fewer looks is still valid, only
   * conservative.
   */
  earlier: EffectResult[];
}

/** The mSPRT's reading of one metric: p is the running minimum, the intervals the running intersections. */
export interface MsprtReading {
  absolute: Interval;
  relative: Interval | null;
  pValue: number;
  significant: boolean;
  msprt: { mixingVariance: number; logEValue: number; pValueAtLook: number };
}

/**
 * τ of the mixture, as a relative effect: the plan's msprtMixingSd, else its mde (the effect the plan is
 * sized to detect; at the fixed-horizon sample this puts τ²/SE² ≈ (z_{1−α/2} + z_power)² ≈ 7.8, next to
 * the value 7.9 that makes the sequence tightest). On the absolute scale τ·|baseline|, the catalog
 * baseline (fixed before the data, so τ does not depend on them), or the observed control mean when
 * the baseline is 0.
 */
export function msprtMixing(plan: Pick<AnalysisPlan, 'mde' | 'msprtMixingSd'>, metric: Pick<Metric, 'baselineMean'>, controlMean: number) {
  const tau = plan.msprtMixingSd ?? plan.mde;
  const reference = metric.baselineMean !== 0 ? Math.abs(metric.baselineMean) : Math.abs(controlMean);
  return { mixingVariance: (tau * reference) ** 2, relativeMixingVariance: tau * tau };
}

/** mSPRT over the computable earlier looks and the current test. */
export function msprtReading(test: EffectResult & { ok: true }, m: MsprtSettings, alpha: number): MsprtReading | { ok: false; reason: string } {
  if (!(m.mixingVariance > 0)) {
    return { ok: false, reason: 'mSPRT needs a non-zero mixing variance: set analysisPlan.msprtMixingSd or give the metric a non-zero baseline' };
  }
  const earlier = m.earlier.filter((t): t is EffectResult & { ok: true } => t.ok);
  const look = (t: EffectResult & { ok: true }): MsprtLook => ({ estimate: t.absolute.estimate, standardError: t.standardError });
  const abs = msprtSequence([...earlier.map(look), look(test)], m.mixingVariance, alpha);
  if (!abs.ok) return abs;
  let relative: Interval | null = null;
  if (test.relative && test.relativeStandardError !== null) {
    const rel = (t: EffectResult & { ok: true }): MsprtLook[] =>
      t.relative && t.relativeStandardError !== null ? [{ estimate: t.relative.estimate, standardError: t.relativeStandardError }] : [];
    const r = msprtSequence([...earlier.flatMap(rel), ...rel(test)], m.relativeMixingVariance, alpha);
    if (r.ok) relative = { estimate: test.relative.estimate, lower: r.lower, upper: r.upper };
  }
  return {
    absolute: { estimate: test.absolute.estimate, lower: abs.lower, upper: abs.upper },
    relative,
    pValue: abs.pValue,
    significant: abs.significant,
    msprt: { mixingVariance: abs.mixingVariance, logEValue: abs.logEValue, pValueAtLook: abs.pValueAtLook },
  };
}

/** get_metrics' Bayesian cell: the posterior on the absolute scale, or why there is none. */
export type BayesianView =
  | {
      ok: true;
      scale: 'absolute';
      chanceToBeatControl: number;
      expectedLoss: number;
      expectedLossOfControl: number;
      posteriorMean: number;
      posteriorSd: number;
      credibleInterval: { lower: number; upper: number };
      prior: { mean: number; variance: number } | null;
    }
  | { ok: false; reason: string };

/** The Bayesian view of one comparison, with the plan's prior (rescaled to the absolute scale with the control mean). */
export function bayesianView(
  plan: Pick<AnalysisPlan, 'prior' | 'alpha'>,
  direction: Metric['direction'],
  test: { absolute: Interval; standardError: number; controlMean: number },
  units: { control: number; treatment: number },
): BayesianView {
  const r: BayesianResult = bayesianComparison({
    estimate: test.absolute.estimate,
    standardError: test.standardError,
    direction,
    controlMean: test.controlMean,
    prior: plan.prior,
    alpha: plan.alpha,
    units,
  });
  if (!r.ok) return r;
  const { ok, chanceToBeatControl, expectedLoss, expectedLossOfControl, posteriorMean, posteriorSd, credibleInterval, prior } = r;
  return { ok, scale: 'absolute', chanceToBeatControl, expectedLoss, expectedLossOfControl, posteriorMean, posteriorSd, credibleInterval, prior };
}

/** The Bayesian cell when the comparison itself is not computable: explicit about missing data. */
export function bayesianNotComputable(units: { control: number; treatment: number }, reason: string): BayesianView {
  return units.control > 0 && units.treatment > 0 ? { ok: false, reason } : { ok: false, reason: 'no data' };
}
