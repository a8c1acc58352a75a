import { studentTCritical, studentTTwoSidedPValue } from './distributions.js';
import { isFiniteSummary, meanAndVariance, type MeanSummary } from './summary.js';

/** A point estimate with its two-sided (1 − α) confidence bounds. */
export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

/** Outcome of comparing two arms; ok:false carries why no inference is possible, never NaN. */
export type EffectResult =
  | {
      ok: true;
      method: 'welch';
      controlMean: number;
      treatmentMean: number;
      controlVariance: number;
      treatmentVariance: number;
      absolute: Interval;
      relative: Interval | null;
      relativeReason?: string;
      pValue: number;
      df: number;
      tStatistic: number;
      significant: boolean;
      alpha: number;
    }
  | { ok: false; reason: string };

/** Welch's unequal-variance t-test of treatment − control, with absolute and relative intervals. */
export function welchTest(control: MeanSummary, treatment: MeanSummary, alpha = 0.05): EffectResult {
  if (!(alpha > 0 && alpha < 1)) return { ok: false, reason: `alpha must be between 0 and 1 (exclusive), got ${alpha}` };
  if (!isFiniteSummary(control) || !isFiniteSummary(treatment)) {
    return { ok: false, reason: 'an arm summary contains a non-finite n, sum or sumSquares; check the metric values' };
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

  const varMeanC = c.variance / control.n;
  const varMeanT = t.variance / treatment.n;
  const se = Math.sqrt(varMeanC + varMeanT);
  // Welch–Satterthwaite: terms of an arm with zero variance drop out.
  const df = (varMeanC + varMeanT) ** 2 / (varMeanC ** 2 / (control.n - 1) + varMeanT ** 2 / (treatment.n - 1));
  const diff = t.mean - c.mean;
  const tStatistic = diff / se;
  if (!(se > 0) || !(df > 0) || !Number.isFinite(df) || !Number.isFinite(tStatistic)) {
    return { ok: false, reason: 'the variances are at the limits of floating point, so t and its df are not computable; rescale the metric' };
  }
  const pValue = studentTTwoSidedPValue(tStatistic, df);
  const critical = studentTCritical(alpha, df);

  const relative = relativeInterval(c.mean, t.mean, varMeanC, varMeanT, critical);
  return {
    ok: true,
    method: 'welch',
    controlMean: c.mean,
    treatmentMean: t.mean,
    controlVariance: c.variance,
    treatmentVariance: t.variance,
    absolute: { estimate: diff, lower: diff - critical * se, upper: diff + critical * se },
    ...relative,
    pValue,
    df,
    tStatistic,
    significant: pValue < alpha,
    alpha,
  };
}

// Delta method for (mT − mC)/mC = mT/mC − 1: Var ≈ Var(mT)/mC² + mT²·Var(mC)/mC⁴.
// Uses the same critical value as the absolute interval so both read at one confidence level.
function relativeInterval(
  meanC: number,
  meanT: number,
  varMeanC: number,
  varMeanT: number,
  critical: number,
): { relative: Interval | null; relativeReason?: string } {
  if (meanC === 0) {
    return { relative: null, relativeReason: 'control mean is 0, so a relative effect is undefined; read the absolute effect' };
  }
  const estimate = (meanT - meanC) / meanC;
  const se = Math.sqrt(varMeanT / meanC ** 2 + (meanT ** 2 * varMeanC) / meanC ** 4);
  return { relative: { estimate, lower: estimate - critical * se, upper: estimate + critical * se } };
}
