import { orderStatisticLevels, type QuantileArm } from './stats/quantile-test.js';

/**
 * A mergeable summary of a distribution for quantile metrics: a fixed log-spaced histogram, the
 * bin layout of DDSketch (Masson, Rim & Lee 2019, "DDSketch: a fast and fully-mergeable quantile
 * sketch with relative-error guarantees", PVLDB 12(12)) without its bin collapsing, so no bound on
 * the bin count is needed: bins are stored sparsely and a realistic metric spans a few hundred.
 *
 * A positive value x falls in bin k = ⌈log_γ x⌉, which covers (γ^(k−1), γ^k]; negative values
 * mirror it; |x| < SKETCH_MIN_VALUE counts as 0. Merging two sketches adds their counts, and
 * removing a value subtracts one, so a unit's value can move between bins as its events arrive.
 *
 * Quantiles are read at a rank and interpolated log-linearly inside the bin that holds that rank.
 * The exact order statistic lies in the same bin, so every estimate is within a factor γ of it:
 * relative error ≤ γ − 1 = 1% (DDSketch's bin midpoint would give (γ − 1)/(γ + 1) ≈ 0.5% worst case
 * but a step function of the rank; interpolation keeps quantiles continuous, which the
 * order-statistic interval of the quantile test needs).
 */

/** Ratio of a bin's upper to its lower edge: every estimate is within 1% of the exact sample quantile. */
export const SKETCH_GAMMA = 1.01;
/** Values smaller in magnitude than this are counted as 0 (DDSketch's minimum indexable value). */
export const SKETCH_MIN_VALUE = 1e-9;

const LN_GAMMA = Math.log(SKETCH_GAMMA);
/** Bin keys are ordered like the values they hold: negative keys for negative values, 0 for 0, OFFSET + k for positives. */
const OFFSET = 2 ** 40;

/** A sketch as stored: [bin key, count] pairs, ascending by key (so by value), counts > 0. */
export type SketchBins = readonly (readonly [bin: number, count: number])[];

/** The bin key of a value. Throws RangeError for a non-finite value (metric events are validated finite). */
export function binOf(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`a sketch holds finite values only, got ${x}`);
  const a = Math.abs(x);
  if (a < SKETCH_MIN_VALUE) return 0;
  const k = OFFSET + Math.ceil(Math.log(a) / LN_GAMMA);
  return x > 0 ? k : -k;
}

/** The closed value range [lower, upper] a bin covers. */
export function binBounds(bin: number): [number, number] {
  if (bin === 0) return [0, 0];
  const k = Math.abs(bin) - OFFSET;
  const lo = SKETCH_GAMMA ** (k - 1);
  const hi = SKETCH_GAMMA ** k;
  return bin > 0 ? [lo, hi] : [-hi, -lo];
}

/** Number of values in a sketch. */
export const sketchCount = (bins: SketchBins): number => bins.reduce((s, [, c]) => s + c, 0);

/** Builds a sketch from raw values (tests, rebuilds). */
export function sketchOf(values: Iterable<number>): SketchBins {
  const m = new Map<number, number>();
  for (const v of values) {
    const b = binOf(v);
    m.set(b, (m.get(b) ?? 0) + 1);
  }
  return normalize(m);
}

/** Adds counts of several sketches: the sketch of the union of their values. */
export function mergeSketches(...sketches: SketchBins[]): SketchBins {
  const m = new Map<number, number>();
  for (const s of sketches) for (const [b, c] of s) m.set(b, (m.get(b) ?? 0) + c);
  return normalize(m);
}

function normalize(m: Map<number, number>): SketchBins {
  return [...m.entries()].filter(([, c]) => c > 0).sort((a, b) => a[0] - b[0]);
}

/**
 * The value at rank t ∈ (0, n] (t = p·n for the p-quantile), interpolated inside the bin holding the
 * ⌈t⌉-th smallest value. The estimate of the inverse empirical CDF (Hyndman & Fan type 1) x_(⌈t⌉),
 * within a factor γ of it. null for an empty sketch.
 */
export function valueAtRank(bins: SketchBins, t: number): number | null {
  return locate(bins, t)?.value ?? null;
}

/** The bin holding rank t and the value interpolated in it. */
function locate(bins: SketchBins, t: number): { bin: number; value: number } | null {
  let before = 0;
  for (const [bin, count] of bins) {
    if (before + count >= t || bin === bins[bins.length - 1][0]) {
      const frac = Math.min(1, Math.max(0, (t - before) / count));
      if (bin === 0) return { bin, value: 0 };
      const k = Math.abs(bin) - OFFSET;
      // Positive bins run from γ^(k−1) up to γ^k; negative ones from −γ^k up to −γ^(k−1).
      return { bin, value: bin > 0 ? SKETCH_GAMMA ** (k - 1 + frac) : -(SKETCH_GAMMA ** (k - frac)) };
    }
    before += count;
  }
  return null;
}

/** The p-quantile of the values in a sketch (see valueAtRank); null when empty. */
export function sketchQuantile(bins: SketchBins, p: number): number | null {
  return valueAtRank(bins, p * sketchCount(bins));
}

/** gbstats' smallest n* (N_STAR_VALUES in growthbook's experimentQueries/constants.ts). */
const MIN_N_STAR = 100;

/**
 * One arm's quantile summary for `quantileTest`: the ν-quantile and its order-statistic interval
 * read from the sketch at n* = n. The interval's width must be measured by the histogram, not by
 * the even spread assumed inside one bin: when both bounds fall in one bin (an atom, or a very
 * large n), n* halves, down to 100, until they fall in different bins — the fallback of gbstats'
 * `getQuantileBoundsFromQueryResponse`, which walks down its n* grid when the bounds collapse (the
 * variance scales by n* / n). If no n* resolves them, the bounds are returned collapsed
 * (lower = upper = the quantile) and the test refuses, never inventing a spread. null when empty.
 */
export function quantileArmOf(bins: SketchBins, nu: number): QuantileArm | null {
  const n = sketchCount(bins);
  if (n === 0) return null;
  const at = (level: number) => locate(bins, level * n) as { bin: number; value: number };
  const quantile = at(nu).value;
  for (let nStar = n; ; nStar = Math.max(MIN_N_STAR, Math.floor(nStar / 2))) {
    const levels = orderStatisticLevels(nu, nStar);
    const [lower, upper] = [at(levels.lower), at(levels.upper)];
    if (lower.bin !== upper.bin) return { n, nStar, quantile, lower: lower.value, upper: upper.value };
    if (nStar <= MIN_N_STAR) return { n, nStar, quantile, lower: quantile, upper: quantile };
  }
}
