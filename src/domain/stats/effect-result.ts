import type { QuantileEffect } from './quantile-test.js';

/** A point estimate with its two-sided (1 − α) confidence bounds. */
export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * What every two-arm comparison reports, whatever the method, so callers (get_metrics, sequential
 * methods, non-inferiority, the Bayesian view) can read any of them alike. Invariants:
 * absolute.estimate = treatmentMean − controlMean; standardError is the SE of that difference;
 * controlVariance/treatmentVariance are per-unit variances (Var(mean) = variance/n).
 */
export interface EffectCommon {
  ok: true;
  controlMean: number;
  treatmentMean: number;
  controlVariance: number;
  treatmentVariance: number;
  absolute: Interval;
  standardError: number;
  relative: Interval | null;
  relativeStandardError: number | null;
  relativeReason?: string;
  pValue: number;
  significant: boolean;
  alpha: number;
}

/** Welch's t-test on plain means. */
export interface WelchEffect extends EffectCommon {
  method: 'welch';
  df: number;
  tStatistic: number;
}

/** Two-sample z-test on conversion rates (unpooled SE). */
export interface ProportionEffect extends EffectCommon {
  method: 'z-proportions';
  zStatistic: number;
}

/**
 * CUPED: controlMean/treatmentMean are the adjusted means; the unadjusted ones are kept for display
 * and are the denominator of the relative effect. adjustmentReason says why θ is 0 when it had to be.
 */
export interface CupedEffect extends EffectCommon {
  method: 'cuped';
  df: number;
  tStatistic: number;
  theta: number;
  varianceReduction: number;
  unadjustedControlMean: number;
  unadjustedTreatmentMean: number;
  adjustmentReason?: string;
}

/** Ratio of sums (e.g. skips per stream) with delta-method variances and Welch's t; means are the ratios. */
export interface RatioEffect extends EffectCommon {
  method: 'ratio';
  df: number;
  tStatistic: number;
}

/** No inference is possible; the reason says why and what to do. Never NaN, never a significance claim. */
export interface NotComputable {
  ok: false;
  reason: string;
}

/** Outcome of comparing two arms with any method. */
export type EffectResult = WelchEffect | ProportionEffect | CupedEffect | RatioEffect | QuantileEffect | NotComputable;

/**
 * Relative effect (mT − mC)/|mC| of two independent arm means, delta method:
 * Var ≈ Var(mT)/mC² + mT²·Var(mC)/mC⁴ (a sum of non-negative terms, so no cancellation). Dividing by
 * |mC| (as gbstats does) keeps the sign of the lift the sign of the change: −10 → −5 is +50%, not −50%;
 * the variance is the same either way (the gradient only changes sign).
 * Uses the caller's critical value so that both intervals read at one confidence level.
 */
export function relativeOfIndependentMeans(
  meanC: number,
  meanT: number,
  varMeanC: number,
  varMeanT: number,
  critical: number,
): { relative: Interval | null; relativeStandardError: number | null; relativeReason?: string } {
  if (meanC === 0) {
    return {
      relative: null,
      relativeStandardError: null,
      relativeReason: 'control mean is 0, so a relative effect is undefined; read the absolute effect',
    };
  }
  const estimate = (meanT - meanC) / Math.abs(meanC);
  const se = Math.sqrt(varMeanT / meanC ** 2 + (meanT ** 2 * varMeanC) / meanC ** 4);
  return { relative: symmetricInterval(estimate, se, critical), relativeStandardError: se };
}

/** estimate ± critical·se. */
export function symmetricInterval(estimate: number, se: number, critical: number): Interval {
  return { estimate, lower: estimate - critical * se, upper: estimate + critical * se };
}

/** The reason string shared by every test for a bad significance level, or null when α ∈ (0, 1). */
export function invalidAlpha(alpha: number): string | null {
  return alpha > 0 && alpha < 1 ? null : `alpha must be between 0 and 1 (exclusive), got ${alpha}`;
}
