import erfc from '@stdlib/math-base-special-erfc';
import gammainc from '@stdlib/math-base-special-gammainc';
import normalQuantileAt from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

// Thin wrappers over @stdlib so that every tail probability is taken from the small tail
// directly (survival function or symmetric lower tail), never as 1 - cdf, which rounds
// anything below ~1e-16 to 0.

/** Chi-square survival function P(X > x), as the regularized upper incomplete gamma Q(df/2, x/2). */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0) || !Number.isFinite(df)) throw new RangeError(`chiSquareSf: df must be a positive finite number, got ${df}`);
  if (Number.isNaN(x)) throw new RangeError('chiSquareSf: x is NaN');
  if (x <= 0) return 1;
  return gammainc(x / 2, df / 2, true, true);
}

/** Two-sided p-value of a Student t statistic: 2·P(T ≤ −|t|), the lower tail stdlib computes directly. */
export function studentTTwoSidedPValue(t: number, df: number): number {
  return Math.min(1, 2 * tCdf(-Math.abs(t), df));
}

/** Critical value t_{1−α/2, df} for a two-sided interval, taken from the lower quantile by symmetry. */
export function studentTCritical(alpha: number, df: number): number {
  return -tQuantile(alpha / 2, df);
}

/** Standard normal quantile z_p. */
export function normalQuantile(p: number): number {
  return normalQuantileAt(p, 0, 1);
}

/** Standard normal cdf Φ(x) = ½·erfc(−x/√2): the lower tail is computed directly, so Φ(−30) ≈ 4.9e-198 keeps its digits. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal survival function 1 − Φ(x) = ½·erfc(x/√2), taken from the upper tail, never as 1 − cdf. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** Two-sided p-value of a z statistic: 2·Φ(−|z|) = erfc(|z|/√2), capped at 1. */
export function normalTwoSidedPValue(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/** One-sided upper tail P(T ≥ t) of Student t, as the lower tail P(T ≤ −t) stdlib computes directly. */
export function studentTSf(t: number, df: number): number {
  return tCdf(-t, df);
}

/** One-sided critical value t_{1−α, df}, taken from the lower quantile by symmetry. */
export function studentTOneSidedCritical(alpha: number, df: number): number {
  return -tQuantile(alpha, df);
}
