import { describe, expect, it } from 'vitest';
import { summarize, welchTest, type EffectResult } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectRelClose } from './expect.js';

// Data and two-sided p-values: Rosetta Code task "Welch's t-test", whose reference answers are
// R's t.test(x, y, var.equal = FALSE). For d1/d2 the full R output is also published
// (statistic −2.45535639828601, df 24.9885292902309, 95% CI [−3.98409625405368, −0.349237079279662]
// for mean(d1) − mean(d2)); we report treatment − control with control = d1, so signs flip.
// Means, variances, t and df were re-derived with exact rational arithmetic (Python fractions):
// mean 20.82 / 22.986666…, variance 7.867428571428571 / 3.812666666666667, t 2.455356398286005,
// df 24.988529290231416, se 0.8824245100137551.
const d1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
const d2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];

const rosetta: Array<[name: string, x: number[], y: number[], p: number]> = [
  ['d1/d2', d1, d2, 0.021378001462867],
  [
    'd3/d4',
    [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8],
    [21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8],
    0.148841696605327,
  ],
  [
    'd5/d6',
    [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0],
    [28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 24.0, 13.2],
    0.0359722710297968,
  ],
  ['d7/d8', [30.02, 29.99, 30.11, 29.97, 30.01, 29.99], [29.89, 29.93, 29.72, 29.98, 30.02, 29.98], 0.090773324285671],
  ['x/y (variance ratio ~10^4, df ≈ 2)', [3.0, 4.0, 1.0, 2.1], [490.2, 340.0, 433.9], 0.0107515611497845],
  ['v1/v2', [0.010268, 0.000167, 0.000167], [0.159258, 0.136278, 0.122389], 0.00339907162713746],
  ['s1/s2 (n = 2)', [1 / 15, 10 / 62], [1 / 10, 2 / 50], 0.52726574965384],
  ['z1/z2 (zeros)', [9 / 23, 21 / 45, 0 / 38], [0 / 44, 42 / 94, 0 / 22], 0.545266866977794],
];

function expectOk<R extends EffectResult>(r: R): Extract<R, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r as Extract<R, { ok: true }>;
}

describe('welchTest against R (Rosetta Code)', () => {
  it('reproduces t, df, p and the 95% CI for d1/d2 (t, df 1e-9 relative; p 1e-11; CI see below)', () => {
    const r = expectOk(welchTest(summarize(d1), summarize(d2)));
    expect(r.method).toBe('welch');
    expect(r.controlMean).toBeCloseTo(20.82, 12);
    expect(r.treatmentMean).toBeCloseTo(22.986666666666668, 12);
    expect(r.controlVariance).toBeCloseTo(7.867428571428571, 10);
    expect(r.treatmentVariance).toBeCloseTo(3.812666666666667, 10);
    expect(r.tStatistic / 2.45535639828601).toBeCloseTo(1, 9);
    expect(r.df / 24.9885292902309).toBeCloseTo(1, 9);
    expect(Math.abs(r.pValue - 0.021378001462867)).toBeLessThan(1e-11);
    expect(r.absolute.estimate).toBeCloseTo(65 / 30, 12);
    // R's bounds agree to 4e-8 relative only: its critical value 2.05958647653 (recovered as
    // half-width / se) misses t_{0.975, 24.98853} by 1.5e-8. Simpson quadrature of the regularized
    // incomplete beta in Python gives 2.0595864913656263 (tail error < 1e-16), hence the tight
    // bounds diff ± 2.0595864913656263 × 0.8824245100137551 = [0.3492370661924047, 3.984096267140928].
    expect(r.absolute.lower / 0.349237079279662).toBeCloseTo(1, 7);
    expect(r.absolute.upper / 3.98409625405368).toBeCloseTo(1, 7);
    expect(r.absolute.lower).toBeCloseTo(0.3492370661924047, 11);
    expect(r.absolute.upper).toBeCloseTo(3.984096267140928, 11);
    expect(r.significant).toBe(true);
    expect(r.alpha).toBe(0.05);
  });

  // @stdlib's t cdf and R's pt differ by up to ~3e-12 here (d7/d8: ours 0.09077332428273, R
  // 0.090773324285671; Simpson quadrature of the incomplete beta in Python sides with R to 4e-15),
  // so the tolerance is 1e-11 absolute: far below anything a decision depends on.
  it.each(rosetta)('reproduces R’s p-value for %s (1e-11 absolute), whichever arm is control', (_name, x, y, p) => {
    expect(Math.abs(expectOk(welchTest(summarize(x), summarize(y))).pValue - p)).toBeLessThan(1e-11);
    expect(Math.abs(expectOk(welchTest(summarize(y), summarize(x))).pValue - p)).toBeLessThan(1e-11);
  });

  it('uses alpha for both the interval and the significance call', () => {
    const r = expectOk(welchTest(summarize(d1), summarize(d2), 0.01));
    expect(r.significant).toBe(false); // p = 0.0214 ≥ 0.01
    expect(r.absolute.lower).toBeLessThan(0); // the 99% interval now covers 0
    expect(r.alpha).toBe(0.01);
  });
});

describe('welchTest relative effect (delta method)', () => {
  it('matches the closed form for d1/d2 (1e-11 absolute)', () => {
    // estimate = (22.98667 − 20.82)/20.82 = 0.10406660262568043;
    // se = √(Var(mT)/mC² + mT²·Var(mC)/mC⁴) = 0.04540157845028713 (Python, exact inputs above);
    // bounds = estimate ± 2.0595864913656263 × se (critical value checked by quadrature, see above).
    const r = expectOk(welchTest(summarize(d1), summarize(d2)));
    expect(r.relative?.estimate).toBeCloseTo(0.10406660262568043, 12);
    expect(r.relative?.lower).toBeCloseTo(0.010558124962792334, 11);
    expect(r.relative?.upper).toBeCloseTo(0.19757508028856852, 11);
    expect(r.relativeReason).toBeUndefined();
  });

  it('is null with a reason when the control mean is 0, while the absolute effect stands', () => {
    const r = expectOk(welchTest(summarize([-1, 1, -2, 2]), summarize([1, 2, 3, 4])));
    expect(r.relative).toBeNull();
    expect(r.relativeReason).toMatch(/control mean is 0/);
    expect(r.absolute.estimate).toBe(2.5);
  });

  it('divides by |control mean|, so a rise from a negative baseline reads positive (issue 10, defect 3)', () => {
    // gbstats frequentist_diff (packages/stats/gbstats/utils.py): (mean_b − mean_a)/abs(mean_a).
    // Control mean −10, treatment −5: lift (−5 − −10)/10 = +0.5. Variances 4 and 4, n = 3 each, so
    // se = √((4/3)/100 + 25·(4/3)/10⁴) = √(1/60) (exact arithmetic). Tolerance 1e-12 relative.
    const r = expectOk(welchTest(summarize([-12, -10, -8]), summarize([-7, -5, -3])));
    expectRelClose(r.relative?.estimate, 0.5, 1e-12);
    expectRelClose(r.relativeStandardError, Math.sqrt(1 / 60), 1e-12);
    expect(r.relative!.lower).toBeLessThan(0.5);
    expect(r.relative!.upper).toBeGreaterThan(0.5);
  });
});

describe('welchTest edge cases', () => {
  it('refuses an arm with fewer than 2 observations, naming it', () => {
    const small = welchTest(summarize([1]), summarize([1, 2, 3]));
    expect(small).toEqual({ ok: false, reason: expect.stringMatching(/control has fewer than 2/) });
    const empty = welchTest(summarize([1, 2, 3]), summarize([]));
    expect(empty).toEqual({ ok: false, reason: expect.stringMatching(/treatment has fewer than 2/) });
  });

  it('refuses when both arms have zero variance, and never claims significance', () => {
    const r = welchTest(summarize([5, 5, 5]), summarize([6, 6, 6, 6]));
    expect(r.ok).toBe(false);
    expect(r).not.toHaveProperty('significant');
    expect(JSON.stringify(r)).not.toMatch(/NaN|null/);
  });

  it('refuses non-finite summaries and a bad alpha', () => {
    expect(welchTest({ n: 3, sum: Number.POSITIVE_INFINITY, sumSquares: 1 }, summarize([1, 2])).ok).toBe(false);
    expect(welchTest(summarize([1, 2]), summarize([1, 3]), 0).ok).toBe(false);
    expect(welchTest(summarize([1, 2]), summarize([1, 3]), 1).ok).toBe(false);
  });

  it('refuses variances so small that df underflows to 0/0 instead of returning NaN', () => {
    // Var(mean) ≈ 5e-201 per arm: its square underflows to 0, so Welch–Satterthwaite is 0/0.
    const r = welchTest(summarize([0, 1e-100]), summarize([1e-100, 2e-100]));
    expect(r.ok).toBe(false);
  });

  it('handles one zero-variance arm: df collapses to n − 1 of the other arm (df=3 closed form)', () => {
    // control 5,5,5,5; treatment 4,6,5,7: mean 5.5, variance 5/3, se = √(5/12), t = 0.7745966692414834.
    // df=3 two-sided p = 1 − (2/π)(θ + sinθ·cosθ), θ = atan(t/√3) = 0.49502534605971094 (Python).
    const r = expectOk(welchTest(summarize([5, 5, 5, 5]), summarize([4, 6, 5, 7])));
    expect(r.df).toBeCloseTo(3, 12);
    expect(r.tStatistic).toBeCloseTo(0.7745966692414834, 12);
    expect(r.pValue).toBeCloseTo(0.49502534605971094, 10);
  });

  it('matches the df=2 closed form at p ≈ 2e-12 (equal n=2, equal variance ⇒ df = 2 exactly)', () => {
    // control 0,2 (mean 1, var 2); treatment 1e6, 1e6+2 (all sums exact integers below 2^53).
    // t = 1e6/√2; p = 2/(s(s+t)), s = √(2+t²) = 1.999999999994e-12 (Python). Tolerance 1e-9 relative.
    const r = expectOk(welchTest(summarize([0, 2]), summarize([1e6, 1e6 + 2])));
    expect(r.df).toBeCloseTo(2, 12);
    expect(r.pValue / 1.999999999994e-12).toBeCloseTo(1, 9);
  });

  it('gives a tiny but positive p for a huge t (never 0 from 1 − cdf)', () => {
    // n = 1000 per arm, means 10 and 11, variance 1 each ⇒ t = √500 = 22.36, df = 1998.
    // The t tail is heavier than the normal one, so p ≥ erfc(t/√2) = 9.505397766554205e-111 (Python).
    const control = { n: 1000, sum: 10_000, sumSquares: 999 + 1000 * 100 };
    const treatment = { n: 1000, sum: 11_000, sumSquares: 999 + 1000 * 121 };
    const r = expectOk(welchTest(control, treatment));
    expect(r.tStatistic).toBeCloseTo(Math.sqrt(500), 9);
    expect(r.df).toBeCloseTo(1998, 9);
    expect(r.pValue).toBeGreaterThan(0);
    expect(r.pValue).toBeLessThan(1e-20);
    expect(r.pValue).toBeGreaterThanOrEqual(9.505397766554205e-111);
    expect(r.significant).toBe(true);
  });

  it('gives p = 1 and an interval around 0 when the means are equal', () => {
    const r = expectOk(welchTest(summarize([1, 2, 3]), summarize([3, 2, 1])));
    expect(r.pValue).toBe(1);
    expect(r.significant).toBe(false);
    expect(r.absolute.lower).toBeCloseTo(-r.absolute.upper, 12);
  });
});

describe('welchTest standard errors (for sequential and Bayesian consumers)', () => {
  // growthbook/growthbook packages/stats/tests/frequentist/test_tests.py (gbstats' own Welch t-test):
  // stat_a = SampleMeanStatistic(sum=1396.87, sum_squares=52377.9767, n), stat_b = (2422.7, 134698.29, 3461).
  const stat = (sum: number, sumSquares: number, n: number) => ({ n, sum, sumSquares });
  const b = stat(2422.7, 134698.29, 3461);

  it('matches gbstats’ full-precision absolute and relative SEs with n_a = 3000 (1e-9 relative)', () => {
    // TestOneSidedGreaterTTest: absolute Uplift stddev 0.12983081254184736, estimate 0.23437666666666668;
    // relative Uplift stddev 0.3334122146400735, estimate 0.5033610858562358.
    const r = expectOk(welchTest(stat(1396.87, 52377.9767, 3000), b));
    expectRelClose(r.standardError, 0.12983081254184736, 1e-9);
    expectRelClose(r.absolute.estimate, 0.23437666666666668, 1e-12);
    expectRelClose(r.relativeStandardError, 0.3334122146400735, 1e-9);
    expectRelClose(r.relative?.estimate, 0.5033610858562358, 1e-12);
  });

  it('matches gbstats’ two-sided results with n_a = 3407 (published to 5 decimals)', () => {
    // test_two_sided_ttest_absolute: ci (0.04538, 0.53462), stddev 0.12478, p 0.02016;
    // test_two_sided_ttest (relative): ci (−0.03526, 1.44989), stddev 0.37879.
    const r = expectOk(welchTest(stat(1396.87, 52377.9767, 3407), b));
    expectAbsClose(r.standardError, 0.12478, 5e-6);
    expectAbsClose(r.absolute.lower, 0.04538, 5e-6);
    expectAbsClose(r.absolute.upper, 0.53462, 5e-6);
    expectAbsClose(r.pValue, 0.02016, 5e-6);
    expectAbsClose(r.relativeStandardError, 0.37879, 5e-6);
    expectAbsClose(r.relative?.lower, -0.03526, 5e-6);
    expectAbsClose(r.relative?.upper, 1.44989, 5e-6);
  });

  it('reports the SE that the interval was built from (d1/d2: 0.8824245100137551, Python fractions)', () => {
    const r = expectOk(welchTest(summarize(d1), summarize(d2)));
    expectRelClose(r.standardError, 0.8824245100137551, 1e-12);
    expectRelClose(r.relativeStandardError, 0.04540157845028713, 1e-9);
  });

  it('has a null relative SE when the control mean is 0', () => {
    const r = expectOk(welchTest(summarize([-1, 1, -2, 2]), summarize([1, 2, 3, 4])));
    expect(r.relativeStandardError).toBeNull();
  });
});

describe('welchTest on inconsistent sums (issue 10, defect 1)', () => {
  it('is not computable, never significant, when an arm’s Σx² is below (Σx)²/n beyond rounding', () => {
    // Treatment Σx² = 5·10⁴ < (Σx)²/n = 10⁵: clamping its variance to 0 used to give |t| in the
    // thousands and p = 0 against a control with real spread.
    const control = { n: 1000, sum: 9000, sumSquares: 9000 ** 2 / 1000 + 999 * 4 };
    const r = welchTest(control, { n: 1000, sum: 1e4, sumSquares: 5e4 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^treatment: .*by more than rounding/);
  });
});
