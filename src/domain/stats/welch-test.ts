import { studentTCritical, studentTTwoSidedPValue } from './distributions.js';
import { invalidAlpha, relativeOfIndependentMeans, symmetricInterval, type NotComputable, type WelchEffect } from './effect-result.js';
import { inconsistentSummary, isFiniteSummary, meanAndVariance, type MeanSummary } from './summary.js';

/** Welch's unequal-variance t-test of treatment − control, with absolute and relative intervals and their SEs. */
export function welchTest(control: MeanSummary, treatment: MeanSummary, alpha = 0.05): WelchEffect | NotComputable {
  const badAlpha = invalidAlpha(alpha);
  if (badAlpha !== null) return { ok: false, reason: badAlpha };
  if (!isFiniteSummary(control) || !isFiniteSummary(treatment)) {
    return { ok: false, reason: 'an arm summary contains a non-finite n, sum or sumSquares; check the metric values' };
  }
  const bad = inconsistentSummary(control) ?? inconsistentSummary(treatment);
  if (bad !== null) {
    const arm = inconsistentSummary(control) !== null ? 'control' : 'treatment';
    return { ok: false, reason: `${arm}: ${bad}; the sums are corrupt or hand-written, so no test is computable (rebuild the aggregates or check the input)` };
  }
  const c = meanAndVariance(control);
  const t = meanAndVariance(treatment);
  if (c === null || t === null) {
    const arm = c === null ? 'control' : 'treatment';
    return { ok: false, reason: `${arm} has fewer than 2 observations; wait for more data before testing` };
  }
  if (c.variance === 0 && t.variance === 0) {
    return { ok: false, reason: 'both arms have zero variance (every value identical), so the standard error is 0 and no test is computable' };
  }
  return welchFromMoments({ mean: c.mean, variance: c.variance, n: control.n }, { mean: t.mean, variance: t.variance, n: treatment.n }, alpha);
}

/** One arm's mean, per-unit variance and size: what a Welch-type test needs. */
export interface ArmMoments {
  mean: number;
  variance: number;
  n: number;
}

/** The Welch computation on arm moments, shared with CUPED (which feeds adjusted moments). */
export function welchFromMoments(c: ArmMoments, t: ArmMoments, alpha: number): WelchEffect | NotComputable {
  const varMeanC = c.variance / c.n;
  const varMeanT = t.variance / t.n;
  const se = Math.sqrt(varMeanC + varMeanT);
  // Welch–Satterthwaite: terms of an arm with zero variance drop out.
  const df = (varMeanC + varMeanT) ** 2 / (varMeanC ** 2 / (c.n - 1) + varMeanT ** 2 / (t.n - 1));
  const diff = t.mean - c.mean;
  const tStatistic = diff / se;
  if (!(se > 0) || !(df > 0) || !Number.isFinite(df) || !Number.isFinite(tStatistic)) {
    return { ok: false, reason: 'the variances are at the limits of floating point, so t and its df are not computable; rescale the metric' };
  }
  const pValue = studentTTwoSidedPValue(tStatistic, df);
  const critical = studentTCritical(alpha, df);
  return {
    ok: true,
    method: 'welch',
    controlMean: c.mean,
    treatmentMean: t.mean,
    controlVariance: c.variance,
    treatmentVariance: t.variance,
    absolute: symmetricInterval(diff, se, critical),
    standardError: se,
    ...relativeOfIndependentMeans(c.mean, t.mean, varMeanC, varMeanT, critical),
    pValue,
    significant: pValue <= alpha,
    alpha,
    df,
    tStatistic,
  };
}
