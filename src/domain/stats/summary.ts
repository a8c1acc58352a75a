/** Sufficient statistics of one arm; what the store aggregates and the tests consume. */
export interface MeanSummary {
  n: number;
  sum: number;
  sumSquares: number;
}

/** Builds a MeanSummary with compensated (Neumaier) sums, so sumSquares − sum²/n keeps its digits. */
export function summarize(values: number[]): MeanSummary {
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

/** Mean and unbiased variance from sums; null when n < 2 or a field is not finite. */
export function meanAndVariance(s: MeanSummary): { mean: number; variance: number } | null {
  if (!isFiniteSummary(s) || s.n < 2) return null;
  const mean = s.sum / s.n;
  const centred = s.sumSquares - (s.sum * s.sum) / s.n;
  if (centred <= CANCELLATION_TOLERANCE * Math.abs(s.sumSquares)) return { mean, variance: 0 };
  return { mean, variance: centred / (s.n - 1) };
}

/** True when every field of the summary is a finite number. */
export function isFiniteSummary(s: MeanSummary): boolean {
  return Number.isFinite(s.n) && Number.isFinite(s.sum) && Number.isFinite(s.sumSquares);
}

/** Bernoulli variance p(1 − p) of a conversion metric with rate p, for planning. */
export function binaryVariance(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binaryVariance: p must be in [0, 1], got ${p}`);
  return p * (1 - p);
}
