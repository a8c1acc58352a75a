import { describe, expect, it } from 'vitest';
import { meanAndVariance, ratioTest, summarize, welchTest, type RatioSummary } from '../../../src/domain/stats/index.js';
import { expectOk, expectRelClose } from './expect.js';

// Per-unit numerator (skips) and denominator (streams).
const control = { num: [2, 1, 4, 0, 3, 1, 3, 2], den: [5, 3, 8, 2, 6, 4, 7, 5] };
const treatment = { num: [1, 2, 1, 3, 1, 2, 0, 2, 1], den: [4, 6, 3, 9, 5, 7, 2, 6, 5] };

function ratioSummary(a: { num: number[]; den: number[] }): RatioSummary {
  const num = summarize(a.num);
  const den = summarize(a.den);
  return {
    n: num.n,
    numSum: num.sum,
    numSumSquares: num.sumSquares,
    denSum: den.sum,
    denSumSquares: den.sumSquares,
    crossSum: a.num.reduce((s, v, i) => s + v * a.den[i], 0),
  };
}

describe('ratioTest against exact rational arithmetic', () => {
  // Python fractions over the unit data (sums C: 8, 16, 44, 40, 228, 98; T: 9, 13, 25, 47, 281, 82),
  // Var(R) = (1/n)(var_num/μ_d² − 2μ_n·cov/μ_d³ + μ_n²·var_den/μ_d⁴) — the formula of Deng, Knoblich & Lu
  // (2018) eq. for a ratio of means, also gbstats' variance_of_ratios; p from libm erfc. 1e-9 relative.
  // Welch's t on the two delta-method variances (issue 10, defect 5: a normal reference made the ratio
  // test disagree with the mean test it must reduce to). df = (v_C + v_T)²/(v_C²/(n_C − 1) + v_T²/(n_T − 1))
  // with v = Var(R) from Python fractions; p and t_{0.975, df} from mpmath (40 digits) via the regularized
  // incomplete beta, cross-checked with scipy.stats.t (sf, ppf). 1e-9 relative.
  it('reproduces the ratios, their delta-method variances, Welch t, df, p and both intervals', () => {
    const r = expectOk(ratioTest(ratioSummary(control), ratioSummary(treatment)));
    expect(r.method).toBe('ratio');
    expectRelClose(r.controlMean, 0.4, 1e-12);
    expectRelClose(r.treatmentMean, 13 / 47, 1e-12);
    expectRelClose(r.controlVariance / 8, 0.0014857142857142857, 1e-9);
    expectRelClose(r.treatmentVariance / 9, 0.0005786751224106658, 1e-9);
    expectRelClose(r.standardError, 0.045435552248486555, 1e-9);
    expectRelClose(r.tStatistic, -2.7160285109830375, 1e-9);
    expectRelClose(r.df, 11.931082035862628, 1e-9);
    expectRelClose(r.pValue, 0.018828553106706774, 1e-9);
    expectRelClose(r.absolute.lower, -0.22246327812469732, 1e-9);
    expectRelClose(r.absolute.upper, -0.02434523251360055, 1e-9);
    expectRelClose(r.relative?.estimate, -0.30851063829787234, 1e-12);
    expectRelClose(r.relativeStandardError, 0.08975942173629277, 1e-9);
    expectRelClose(r.relative?.lower, -0.50420498258933924, 1e-9);
    expectRelClose(r.relative?.upper, -0.11281629400640544, 1e-9);
    expect(r.significant).toBe(true);
  });

  it('has the variance of the unit-level linearisation (num − R·den)/μ_den, an independent route (1e-9)', () => {
    const r = expectOk(ratioTest(ratioSummary(control), ratioSummary(treatment)));
    const linearised = (a: { num: number[]; den: number[] }, ratio: number) => {
      const meanDen = a.den.reduce((s, v) => s + v, 0) / a.den.length;
      return a.num.map((v, i) => (v - ratio * a.den[i]) / meanDen);
    };
    const varOfMean = (v: number[]) => meanAndVariance(summarize(v))!.variance / v.length;
    const expected = varOfMean(linearised(control, r.controlMean)) + varOfMean(linearised(treatment, r.treatmentMean));
    expectRelClose(r.standardError, Math.sqrt(expected), 1e-9);
  });

  // Issue 10, defect 5: with a constant denominator c, R = mean(num)/c and the linearisation is num/c, so
  // the ratio test must be exactly Welch's test on num/c: same estimate, SE, df, t, p and both intervals.
  it.each([1, 2.5])("reduces exactly to Welch's test on num/c when every denominator is %s", (c) => {
    const constant = (v: number[]) => ({ num: v, den: v.map(() => c) });
    const r = expectOk(ratioTest(ratioSummary(constant(control.num)), ratioSummary(constant(treatment.num))));
    const scaled = (v: number[]) => summarize(v.map((x) => x / c));
    const w = expectOk(welchTest(scaled(control.num), scaled(treatment.num)));
    for (const [a, b] of [
      [r.absolute.estimate, w.absolute.estimate],
      [r.standardError, w.standardError],
      [r.df, w.df],
      [r.tStatistic, w.tStatistic],
      [r.pValue, w.pValue],
      [r.absolute.lower, w.absolute.lower],
      [r.absolute.upper, w.absolute.upper],
      [r.relative?.lower, w.relative?.lower],
      [r.relative?.upper, w.relative?.upper],
    ]) {
      expectRelClose(a, b as number, 1e-12);
    }
  });
});

describe('ratioTest edge cases', () => {
  it('refuses a zero denominator mean, naming the arm', () => {
    const zero = ratioSummary({ num: [0, 0, 0], den: [0, 0, 0] });
    expect(ratioTest(zero, ratioSummary(treatment))).toEqual({ ok: false, reason: expect.stringMatching(/^control: the denominator mean is 0/) });
  });

  it('refuses when the ratio has no variance in either arm (numerator proportional to denominator)', () => {
    const prop = (den: number[]) => ({ num: den.map((d) => 0.5 * d), den });
    const r = ratioTest(ratioSummary(prop([1, 2, 3, 4])), ratioSummary(prop([2, 5, 1, 7])));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/zero variance in both arms/) });
  });

  it('refuses n < 2, non-finite fields and a bad alpha', () => {
    expect(ratioTest(ratioSummary({ num: [1], den: [2] }), ratioSummary(treatment))).toEqual({ ok: false, reason: expect.stringMatching(/fewer than 2/) });
    expect(ratioTest({ ...ratioSummary(control), denSum: Number.POSITIVE_INFINITY }, ratioSummary(treatment)).ok).toBe(false);
    expect(ratioTest(ratioSummary(control), ratioSummary(treatment), -0.1).ok).toBe(false);
  });

  it('names inconsistent sums (a variance or a covariance no real units give) instead of "fewer than 2 units"', () => {
    // Control's numerator: Σnum = 16 over 8 units, so (Σnum)²/n = 32; Σnum² = 5 is far below it (a
    // negative variance). Treatment's cross sum: |Cxy| = |200 − 13·47/9| ≈ 132 ≫ √(Cxx·Cyy) ≈ 15.
    const negative = ratioTest({ ...ratioSummary(control), numSumSquares: 5 }, ratioSummary(treatment));
    expect(negative).toEqual({ ok: false, reason: expect.stringMatching(/^control: Σx² = 5 is below \(Σx\)²\/n = 32 by more than rounding/) });
    expect(negative.ok || negative.reason).not.toMatch(/fewer than 2/);
    const cross = ratioTest(ratioSummary(control), { ...ratioSummary(treatment), crossSum: 200 });
    expect(cross).toEqual({ ok: false, reason: expect.stringMatching(/^treatment: Σxy = 200 is inconsistent/) });
    // A legitimate arm is unaffected: the exact published values above still come out.
    expect(ratioTest(ratioSummary(control), ratioSummary(treatment)).ok).toBe(true);
  });

  it('gives no relative effect (with a reason) when the control ratio is 0', () => {
    const r = expectOk(ratioTest(ratioSummary({ num: [0, 0, 0], den: [1, 2, 3] }), ratioSummary(treatment)));
    expect(r.relative).toBeNull();
    expect(r.relativeReason).toMatch(/control mean is 0/);
  });
});
