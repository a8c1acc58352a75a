import { invalidAlpha, type NotComputable, type RatioEffect } from './effect-result.js';
import { inconsistentCrossSum, inconsistentSummary, meanAndVariance } from './summary.js';
import { welchFromMoments } from './welch-test.js';

/**
 * One arm of a ratio metric (e.g. skips per stream) over n analysis units: per-unit numerator and
 * denominator totals summed (numSum, denSum), their squares, and Σ numerator·denominator (crossSum).
 */
export interface RatioSummary {
  n: number;
  numSum: number;
  numSumSquares: number;
  denSum: number;
  denSumSquares: number;
  crossSum: number;
}

/**
 * Difference of two ratios of sums R = Σnum/Σden with delta-method variances (Deng, Knoblich & Lu
 * 2018): Var(R) ≈ (var_num − 2R·cov + R²·var_den)/(n·μ_den²), and Welch's t-test on R_T − R_C.
 */
export function ratioTest(control: RatioSummary, treatment: RatioSummary, alpha = 0.05): RatioEffect | NotComputable {
  const badAlpha = invalidAlpha(alpha);
  if (badAlpha !== null) return { ok: false, reason: badAlpha };
  if (![control, treatment].every(isFiniteRatioSummary)) {
    return { ok: false, reason: 'an arm summary contains a non-finite field; check the numerator and denominator values' };
  }
  const inconsistent = inconsistentArm('control', control) ?? inconsistentArm('treatment', treatment);
  if (inconsistent !== null) return { ok: false, reason: inconsistent };
  const c = ratioMoments(control);
  const t = ratioMoments(treatment);
  if (typeof c === 'string' || typeof t === 'string') {
    const [arm, why] = typeof c === 'string' ? ['control', c] : ['treatment', t as string];
    return { ok: false, reason: `${arm}: ${why}` };
  }
  if (!(c.varRatio + t.varRatio > 0)) {
    return { ok: false, reason: 'the ratio has zero variance in both arms (every unit has the same numerator/denominator relation), so no test is computable' };
  }
  // Welch's t on the per-unit linearised variances n·Var(R): with a constant denominator the
  // linearisation is num/c, so this is exactly welchTest on num/c (one reference for both kinds).
  const w = welchFromMoments(
    { mean: c.ratio, variance: c.varRatio * control.n, n: control.n },
    { mean: t.ratio, variance: t.varRatio * treatment.n, n: treatment.n },
    alpha,
  );
  if (!w.ok) return w;
  return { ...w, method: 'ratio' };
}

function isFiniteRatioSummary(s: RatioSummary): boolean {
  return [s.n, s.numSum, s.numSumSquares, s.denSum, s.denSumSquares, s.crossSum].every(Number.isFinite);
}

// Sums no real units give (a negative variance or a covariance beyond Cauchy–Schwarz, past rounding)
// are named, before meanAndVariance's null could read as "fewer than 2 units" or a clamp as a zero variance.
function inconsistentArm(arm: string, s: RatioSummary): string | null {
  const why =
    inconsistentSummary({ n: s.n, sum: s.numSum, sumSquares: s.numSumSquares }) ??
    inconsistentSummary({ n: s.n, sum: s.denSum, sumSquares: s.denSumSquares }) ??
    inconsistentCrossSum({ n: s.n, sumX: s.numSum, sumX2: s.numSumSquares, sumY: s.denSum, sumY2: s.denSumSquares, sumXY: s.crossSum });
  return why === null ? null : `${arm}: ${why}; the sums cannot come from real units`;
}

// Var(R̂) through the linearisation num − R·den: Var(R̂) ≈ Var(mean(num − R·den))/μ_den², i.e.
// (1/n)(var_num/μ_d² − 2μ_n·cov/μ_d³ + μ_n²·var_den/μ_d⁴) written with R = μ_n/μ_d.
function ratioMoments(s: RatioSummary): { ratio: number; varRatio: number } | string {
  const num = meanAndVariance({ n: s.n, sum: s.numSum, sumSquares: s.numSumSquares });
  const den = meanAndVariance({ n: s.n, sum: s.denSum, sumSquares: s.denSumSquares });
  if (num === null || den === null) return 'fewer than 2 units; wait for more data before testing';
  if (den.mean === 0) return 'the denominator mean is 0, so the ratio is undefined; wait until the denominator has events';
  const ratio = s.numSum / s.denSum;
  const cov = num.variance === 0 || den.variance === 0 ? 0 : (s.crossSum - (s.numSum * s.denSum) / s.n) / (s.n - 1);
  const scale = num.variance + ratio ** 2 * den.variance;
  const linearised = num.variance - 2 * ratio * cov + ratio ** 2 * den.variance;
  // A quadratic form of a covariance matrix, so ≥ 0; what is left within rounding of its terms when
  // num ∝ den exactly is noise, read as 0 (as meanAndVariance does for a constant arm).
  const varRatio = linearised <= 8 * Number.EPSILON * scale ? 0 : linearised / (s.n * den.mean ** 2);
  return { ratio, varRatio };
}
