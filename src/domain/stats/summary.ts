/**
 * Sufficient statistics of one arm; what the store aggregates and the tests consume. With `shift` r,
 * sum and sumSquares are Σ(x − r) and Σ(x − r)²: the variance is shift-invariant and keeps its digits
 * when r is near the values (near 3·10⁶ with unit spread, (mean/sd)² ≈ 10¹³, so raw sums keep about
 * 3 of 16 digits; shifted ones nearly all); the mean is
 * r + Σ(x − r)/n. Absent, r = 0 (raw sums).
 */
export interface MeanSummary {
  n: number;
  sum: number;
  sumSquares: number;
  shift?: number;
}

/**
 * Builds a MeanSummary with compensated (Neumaier) sums, so sumSquares − sum²/n keeps its digits.
 * With a shift (e.g. the first value, or a metric's baseline), the sums are of x − shift.
 */
export function summarize(values: number[], shift?: number): MeanSummary {
  if (shift !== undefined && shift !== 0) return { ...summarize(values.map((v) => v - shift)), shift };
  let sum = 0;
  let sumComp = 0;
  let sumSquares = 0;
  let squaresComp = 0;
  for (const v of values) {
    [sum, sumComp] = neumaierAdd(sum, sumComp, v);
    [sumSquares, squaresComp] = neumaierAdd(sumSquares, squaresComp, v * v);
  }
  return { n: values.length, sum: sum + sumComp, sumSquares: sumSquares + squaresComp };
}

function neumaierAdd(total: number, comp: number, v: number): [number, number] {
  const t = total + v;
  const lost = Math.abs(total) >= Math.abs(v) ? total - t + v : v - t + total;
  return [t, comp + lost];
}

// sum²/n carries up to ~3 roundings relative to sumSquares (compensated sum ½ulp, squared, divided),
// so a centred sum of squares within 4ε·sumSquares is noise, not spread: a constant arm reads as
// exactly 0 instead of a few ulps. Real spread below that is lost to the raw-moment form itself
// (relative error ≈ ε·(mean/sd)²); see docs/stats.md.
const CANCELLATION_TOLERANCE = 4 * Number.EPSILON;

/**
 * How far below 0 the centred sum Σx² − (Σx)²/n may fall from rounding alone, relative to Σx², when
 * the sums were accumulated one term at a time: to first order Σx² is off by ≤ (n − 1)ε·Σx² and
 * (Σx)²/n by ≤ 2(n − 1)ε·(Σ|x|)²/n ≤ 2(n − 1)ε·Σx² (Cauchy–Schwarz), plus a few roundings of the
 * final operations (Higham, Accuracy and Stability of Numerical Algorithms, §4.2, recursive summation).
 * Anything further below 0 cannot come from real values: a variance is never negative.
 */
export function negativeRoundingTolerance(n: number): number {
  return (3 * n + 4) * Number.EPSILON;
}

/**
 * Why these sums cannot be the n, Σx, Σx² of real values, or null when they can: n is not a count,
 * Σx² < 0, n = 0 with non-zero sums, or Σx² below (Σx)²/n by more than rounding. Never clamped: a
 * corrupted or hand-written summary must not read as "no spread" (and so as a huge t).
 */
export function inconsistentSummary(s: MeanSummary): string | null {
  if (!isFiniteSummary(s)) return null;
  if (!Number.isInteger(s.n) || s.n < 0) return `n must be a count of units, got ${s.n}`;
  if (s.sumSquares < 0) return `Σx² = ${s.sumSquares} is negative, which no real values give`;
  if (s.n === 0) return s.sum === 0 && s.sumSquares === 0 ? null : 'n is 0 but the sums are not';
  const centred = s.sumSquares - (s.sum * s.sum) / s.n;
  if (centred >= -negativeRoundingTolerance(s.n) * s.sumSquares) return null;
  return `Σx² = ${s.sumSquares} is below (Σx)²/n = ${(s.sum * s.sum) / s.n} by more than rounding (n = ${s.n}), so the variance would be negative`;
}

/** Mean and unbiased variance from sums; null when n < 2, a field is not finite or the sums are inconsistent (see inconsistentSummary). */
export function meanAndVariance(s: MeanSummary): { mean: number; variance: number } | null {
  if (!isFiniteSummary(s) || s.n < 2 || inconsistentSummary(s) !== null) return null;
  const mean = (s.shift ?? 0) + s.sum / s.n;
  const centred = s.sumSquares - (s.sum * s.sum) / s.n;
  // Below 0 only by rounding here (inconsistentSummary rejected the rest); tiny positive is noise too.
  if (centred <= CANCELLATION_TOLERANCE * Math.abs(s.sumSquares)) return { mean, variance: 0 };
  return { mean, variance: centred / (s.n - 1) };
}

/**
 * Why the cross sum Σxy cannot come from real (x, y) pairs with these sums, or null: the centred
 * cross product must satisfy Cauchy–Schwarz, |Cxy| ≤ √(Cxx·Cyy), up to rounding of the same order as
 * negativeRoundingTolerance (relative to √(Σx²·Σy²)). A violation would make CUPED's adjusted
 * variance or a ratio's delta-method variance negative, which must not be clamped to 0.
 */
export function inconsistentCrossSum(s: { n: number; sumX: number; sumX2: number; sumY: number; sumY2: number; sumXY: number }): string | null {
  if (![s.n, s.sumX, s.sumX2, s.sumY, s.sumY2, s.sumXY].every(Number.isFinite) || !(s.n > 0)) return null;
  const cxx = Math.max(0, s.sumX2 - (s.sumX * s.sumX) / s.n);
  const cyy = Math.max(0, s.sumY2 - (s.sumY * s.sumY) / s.n);
  const cxy = s.sumXY - (s.sumX * s.sumY) / s.n;
  const slack = negativeRoundingTolerance(s.n) * Math.sqrt(Math.abs(s.sumX2) * Math.abs(s.sumY2));
  if (Math.abs(cxy) <= Math.sqrt(cxx * cyy) + slack) return null;
  return `Σxy = ${s.sumXY} is inconsistent with Σx, Σx², Σy, Σy² (the covariance exceeds the product of the standard deviations), so the sums cannot come from real pairs`;
}

/** True when every field of the summary is a finite number. */
export function isFiniteSummary(s: MeanSummary): boolean {
  return Number.isFinite(s.n) && Number.isFinite(s.sum) && Number.isFinite(s.sumSquares) && Number.isFinite(s.shift ?? 0);
}

/** Bernoulli variance p(1 − p) of a conversion metric with rate p, for planning. */
export function binaryVariance(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binaryVariance: p must be in [0, 1], got ${p}`);
  return p * (1 - p);
}
