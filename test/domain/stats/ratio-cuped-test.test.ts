import { describe, expect, it } from 'vitest';
import { confidenceSequence, ratioCupedTest, ratioTest, summarize, type RatioCovariateSummary } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// gbstats (growthbook/growthbook packages/stats/tests/frequentist/test_tests.py,
// test_two_sided_ttest_test_runs_ratio_ra and test_sequential_test_runs_ratio_ra): two arms of 100 units,
// RegressionAdjustedRatioStatistic sums (m/d post and pre, the six sums of products).
const gbA: RatioCovariateSummary = {
  n: 100,
  numSum: 485.112236689623,
  numSumSquares: 2715.484666118136,
  denSum: 679.9093275844917,
  denSumSquares: 4939.424001640236,
  preNumSum: 192.59138069991536,
  preNumSumSquares: 460.076026390857,
  preDenSum: 290.1398399750233,
  preDenSumSquares: 920.9461385038898,
  numDenSum: 3602.146836776702,
  numPreNumSum: 1113.6215759318352,
  numPreDenSum: 1559.2878434944676,
  denPreNumSum: 1460.3181079276983,
  denPreDenSum: 2130.9404074446747,
  preNumPreDenSum: 634.239482353647,
};
const gbB: RatioCovariateSummary = {
  n: 100,
  numSum: 514.7757826608777,
  numSumSquares: 2994.897482705013,
  denSum: 705.4090874383759,
  denSumSquares: 5291.36604146392,
  preNumSum: 206.94157227402536,
  preNumSumSquares: 514.2903702246757,
  preDenSum: 302.54389139107326,
  preDenSumSquares: 994.4506208125663,
  numDenSum: 3918.1561431600717,
  numPreNumSum: 1237.0953021125997,
  numPreDenSum: 1701.0287270040265,
  denPreNumSum: 1604.0759503266522,
  denPreDenSum: 2292.081739775257,
  preNumPreDenSum: 698.4173425817908,
};

describe('ratioCupedTest against gbstats RegressionAdjustedRatioStatistic', () => {
  it('reproduces the published relative effect, SE and 95% interval (5 decimals)', () => {
    // Published: expected −0.0007, uplift stddev 0.00391, ci (−0.00841, 0.00700), p 0.85771 (gbstats' p is
    // the relative t; ours is the absolute one, 0.857728 below).
    const r = expectOk(ratioCupedTest(gbA, gbB));
    expect(r.method).toBe('cuped');
    expectAbsClose(r.relative?.estimate, -0.0007, 5e-6);
    expectAbsClose(r.relativeStandardError, 0.00391, 5e-6);
    expectAbsClose(r.relative?.lower, -0.00841, 5e-6);
    expectAbsClose(r.relative?.upper, 0.007, 5e-6);
  });

  it('matches an independent 40-digit computation of the same estimator (1e-9)', () => {
    // mpmath over the decimal inputs: 4×4 sample covariance of (m, d, mPre, dPre) per arm; θ = Σ cov(R̂, R̂_pre) /
    // Σ var(R̂_pre) with gradients (1/d̄, −m̄/d̄²); per-unit variance ∇ᵀΛ∇ with ∇ = (1/d̄, −m̄/d̄², −θ/d̄_pre,
    // θm̄_pre/d̄_pre²); Welch df; p and t_{0.975, df} via the regularized incomplete beta; relative SE with the
    // exact gradient of Δ/|R_C|.
    const r = expectOk(ratioCupedTest(gbA, gbB));
    expectRelClose(r.theta, 0.82900442540633142, 1e-9);
    expectRelClose(r.unadjustedControlMean, 0.71349548683657168, 1e-12);
    expectRelClose(r.unadjustedTreatmentMean, 0.72975496322316402, 1e-12);
    expectRelClose(r.controlVariance, 0.00033595017597909022, 1e-9);
    expectRelClose(r.treatmentVariance, 0.00044147792814535662, 1e-9);
    expectRelClose(r.absolute.estimate, -0.00050050519313928642, 1e-9);
    expectRelClose(r.standardError, 0.002788239774704548, 1e-9);
    expectRelClose(r.df, 194.4178073144791, 1e-9);
    expectRelClose(r.pValue, 0.85772751255650241, 1e-9);
    expectRelClose(r.relative?.estimate, -0.00070148333433527192, 1e-9);
    expectRelClose(r.relativeStandardError, 0.0039073840792940899, 1e-9);
    expectRelClose(r.relative?.lower, -0.0084077861436314946, 1e-9);
    expectRelClose(r.relative?.upper, 0.0070048194749609507, 1e-9);
    expectRelClose(r.varianceReduction, 0.97993209241582673, 1e-9);
  });

  it('feeds the sequential analysis: gbstats SequentialTwoSidedTTest (tuning 5000, n = 200) gives (−0.02063, 0.01923)', () => {
    const r = expectOk(ratioCupedTest(gbA, gbB));
    const cs = expectOk(confidenceSequence({ estimate: r.relative!.estimate, standardError: r.relativeStandardError!, n: 200, tuningN: 5000, alpha: 0.05 }));
    expectAbsClose(cs.lower, -0.02063, 5e-6);
    expectAbsClose(cs.upper, 0.01923, 5e-6);
  });
});

// Unit data (skips/streams per user, with the same user's pre-period values).
const control = { m: [2, 1, 4, 0, 3, 1, 3, 2], d: [5, 3, 8, 2, 6, 4, 7, 5] };
const treatment = { m: [1, 2, 1, 3, 1, 2, 0, 2, 1], d: [4, 6, 3, 9, 5, 7, 2, 6, 5] };
const sumOf = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
function summary(a: { m: number[]; d: number[] }, mPre: number[], dPre: number[]): RatioCovariateSummary {
  const [m, d, mp, dp] = [a.m, a.d, mPre, dPre].map((v) => summarize(v));
  return {
    n: m.n,
    numSum: m.sum,
    numSumSquares: m.sumSquares,
    denSum: d.sum,
    denSumSquares: d.sumSquares,
    preNumSum: mp.sum,
    preNumSumSquares: mp.sumSquares,
    preDenSum: dp.sum,
    preDenSumSquares: dp.sumSquares,
    numDenSum: sumOf(a.m, a.d),
    numPreNumSum: sumOf(a.m, mPre),
    numPreDenSum: sumOf(a.m, dPre),
    denPreNumSum: sumOf(a.d, mPre),
    denPreDenSum: sumOf(a.d, dPre),
    preNumPreDenSum: sumOf(mPre, dPre),
  };
}
const asRatio = (a: { m: number[]; d: number[] }) => {
  const s = summary(a, a.m, a.d);
  return { n: s.n, numSum: s.numSum, numSumSquares: s.numSumSquares, denSum: s.denSum, denSumSquares: s.denSumSquares, crossSum: s.numDenSum };
};

describe('ratioCupedTest reductions and edge cases', () => {
  it('is exactly ratioTest when the pre-exposure ratio carries nothing (constant pre values: θ = 0)', () => {
    const flat = (a: { m: number[]; d: number[] }) =>
      summary(
        a,
        a.m.map(() => 1),
        a.m.map(() => 2),
      );
    const r = expectOk(ratioCupedTest(flat(control), flat(treatment)));
    const plain = expectOk(ratioTest(asRatio(control), asRatio(treatment)));
    expect(r.theta).toBe(0);
    expect(r.adjustmentReason).toMatch(/zero variance/);
    for (const [a, b] of [
      [r.absolute.estimate, plain.absolute.estimate],
      [r.standardError, plain.standardError],
      [r.df, plain.df],
      [r.pValue, plain.pValue],
      [r.relative?.lower, plain.relative?.lower],
      [r.relativeStandardError, plain.relativeStandardError],
    ]) {
      expectRelClose(a, b as number, 1e-12);
    }
  });

  it('reduces the variance when the pre-period ratio predicts the post-period one', () => {
    // Pre-period values close to the post-period ones: the adjustment removes most of the unit-level noise.
    const pre = (a: { m: number[]; d: number[] }) =>
      summary(
        a,
        a.m.map((v, i) => v + (i % 2)),
        a.d,
      );
    const r = expectOk(ratioCupedTest(pre(control), pre(treatment)));
    const plain = expectOk(ratioTest(asRatio(control), asRatio(treatment)));
    expect(r.theta).toBeGreaterThan(0);
    expect(r.standardError).toBeLessThan(plain.standardError);
    expectRelClose(r.varianceReduction, 1 - r.standardError ** 2 / plain.standardError ** 2, 1e-9);
  });

  it('refuses a zero denominator, n < 2, non-finite sums and a bad alpha, naming the arm', () => {
    const zero = summary({ m: [0, 0], d: [0, 0] }, [1, 2], [1, 3]);
    expect(ratioCupedTest(zero, gbB)).toEqual({ ok: false, reason: expect.stringMatching(/^control: the denominator mean is 0/) });
    expect(ratioCupedTest(gbA, { ...gbB, n: 1 })).toEqual({ ok: false, reason: expect.stringMatching(/^treatment: fewer than 2/) });
    expect(ratioCupedTest({ ...gbA, numPreDenSum: Number.NaN }, gbB).ok).toBe(false);
    expect(ratioCupedTest(gbA, gbB, 0).ok).toBe(false);
  });
});
