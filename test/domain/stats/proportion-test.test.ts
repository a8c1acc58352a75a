import { describe, expect, it } from 'vitest';
import { proportionTest } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// Where a value is written out, it came from Python 3 with exact fractions for the rates and
// variances and libm's math.erfc for the normal tail (independent of @stdlib), and the published
// z_0.975 = 1.959963984540054 for the bounds. Tolerance 1e-9 relative unless stated (closed forms).
describe('proportionTest against ClickHouse proportionsZTest', () => {
  it('reproduces SELECT proportionsZTest(10, 11, 100, 101, 0.95, "unpooled") (sign flipped: we report treatment − control)', () => {
    // ClickHouse docs (sql-reference/aggregate-functions/reference/proportionsztest), x = 10/100, y = 11/101:
    // (z −0.20656724435948853, p 0.8363478437079654, ci [−0.09345975390115283, 0.07563797172293502]) for x − y.
    // Here control = x, treatment = y, so z and the interval change sign. Python agrees to 1 ulp.
    const r = expectOk(proportionTest({ n: 100, successes: 10 }, { n: 101, successes: 11 }));
    expect(r.method).toBe('z-proportions');
    expectRelClose(r.zStatistic, 0.20656724435948853, 1e-9);
    expectRelClose(r.pValue, 0.8363478437079654, 1e-9);
    expectRelClose(r.absolute.lower, -0.07563797172293502, 1e-9);
    expectRelClose(r.absolute.upper, 0.09345975390115283, 1e-9);
    expectRelClose(r.standardError, 0.04313796757438125, 1e-9); // Python √(0.1·0.9/100 + (11/101)(90/101)/101)
    expect(r.controlMean).toBe(0.1);
    expectRelClose(r.treatmentVariance, (11 / 101) * (90 / 101), 1e-12);
    expect(r.significant).toBe(false);
  });
});

describe('proportionTest relative effect (delta method)', () => {
  it('matches gbstats’ relative uplift stddev for 14/28 vs 16/30 (0.2717, 5 decimals) and Python to 1e-9', () => {
    // growthbook/growthbook packages/stats/tests/frequentist/test_tests.py, test_two_sided_ttest_binom:
    // Uplift("normal", 0.06667, 0.2717). gbstats builds its interval from a t quantile, we from z, so only the
    // estimate and its SE are comparable. Python: 0.27169855689735606.
    const r = expectOk(proportionTest({ n: 28, successes: 14 }, { n: 30, successes: 16 }));
    expectAbsClose(r.relative?.estimate, 0.06667, 5e-6);
    expectAbsClose(r.relativeStandardError, 0.2717, 5e-6);
    expectRelClose(r.relativeStandardError, 0.27169855689735606, 1e-9);
    expectRelClose(r.relative?.lower, 1 / 15 - 1.959963984540054 * 0.27169855689735606, 1e-9);
  });

  it('is null with a reason when the control rate is 0, while the absolute effect stands', () => {
    // 0/1000 vs 5/1000: se = √(0.005·0.995/1000) = 0.0022304708023195463, z = 2.2416791983111017,
    // p = erfc(z/√2) = 0.024982113243368576 (Python).
    const r = expectOk(proportionTest({ n: 1000, successes: 0 }, { n: 1000, successes: 5 }));
    expect(r.relative).toBeNull();
    expect(r.relativeStandardError).toBeNull();
    expect(r.relativeReason).toMatch(/control mean is 0/);
    expectRelClose(r.standardError, 0.0022304708023195463, 1e-9);
    expectRelClose(r.pValue, 0.024982113243368576, 1e-9);
  });
});

describe('proportionTest edge cases', () => {
  it('handles extremely unequal arms (10^6 vs 50 units)', () => {
    // 100,000/1,000,000 vs 9/50: se 0.05433313905895738, z 1.4723979027457124, p 0.1409134591858046,
    // 95% CI [−0.026490995722562957, 0.18649099572256295], relative 0.8 ± SE 0.5433499424864238 (Python).
    const r = expectOk(proportionTest({ n: 1_000_000, successes: 100_000 }, { n: 50, successes: 9 }));
    expectRelClose(r.standardError, 0.05433313905895738, 1e-9);
    expectRelClose(r.zStatistic, 1.4723979027457124, 1e-9);
    expectRelClose(r.pValue, 0.1409134591858046, 1e-9);
    expectRelClose(r.absolute.lower, -0.026490995722562957, 1e-9);
    expectRelClose(r.absolute.upper, 0.18649099572256295, 1e-9);
    expectRelClose(r.relative?.estimate, 0.8, 1e-12);
    expectRelClose(r.relativeStandardError, 0.5433499424864238, 1e-9);
  });

  it('keeps a p-value of ~1e-117 instead of rounding it to 0', () => {
    // 10% vs 11% on 10^6 each: z = 23.06941649993959, p = erfc(z/√2) = 9.39223010975537e-118 (Python libm).
    const r = expectOk(proportionTest({ n: 1_000_000, successes: 100_000 }, { n: 1_000_000, successes: 110_000 }));
    expectRelClose(r.zStatistic, 23.06941649993959, 1e-9);
    expectRelClose(r.pValue, 9.39223010975537e-118, 1e-8);
    expect(r.significant).toBe(true);
  });

  it('refuses all-zero and all-one binaries (standard error 0) without claiming significance', () => {
    const zeros = proportionTest({ n: 500, successes: 0 }, { n: 400, successes: 0 });
    expect(zeros).toEqual({ ok: false, reason: expect.stringMatching(/all-zero/) });
    const ones = proportionTest({ n: 500, successes: 500 }, { n: 400, successes: 400 });
    expect(ones).toEqual({ ok: false, reason: expect.stringMatching(/all-one/) });
    const split = proportionTest({ n: 500, successes: 0 }, { n: 400, successes: 400 });
    expect(split).toEqual({ ok: false, reason: expect.stringMatching(/exactly 0 or 1/) });
    expect(JSON.stringify([zeros, ones, split])).not.toMatch(/NaN|significant/);
  });

  it('refuses arms with fewer than 2 units, impossible counts and a bad alpha', () => {
    expect(proportionTest({ n: 1, successes: 1 }, { n: 10, successes: 3 })).toEqual({ ok: false, reason: expect.stringMatching(/control has fewer than 2/) });
    expect(proportionTest({ n: 10, successes: 11 }, { n: 10, successes: 3 }).ok).toBe(false);
    expect(proportionTest({ n: 10, successes: -1 }, { n: 10, successes: 3 }).ok).toBe(false);
    expect(proportionTest({ n: 10.5, successes: 1 }, { n: 10, successes: 3 }).ok).toBe(false);
    expect(proportionTest({ n: 10, successes: 1 }, { n: 10, successes: 3 }, 0).ok).toBe(false);
  });

  it('gives p = 1 and a symmetric interval when the rates are equal', () => {
    const r = expectOk(proportionTest({ n: 200, successes: 20 }, { n: 400, successes: 40 }));
    expect(r.pValue).toBe(1);
    expect(r.absolute.lower).toBeCloseTo(-r.absolute.upper, 15);
  });
});

describe('proportionTest options (issue 10): pooled z and the 2×2 χ² beside the unpooled test', () => {
  it('pooled: statsmodels proportions_ztest docstring example, count [5, 12], nobs [83, 99] → p 0.159', () => {
    // statsmodels.stats.proportion.proportions_ztest docstring: "print('{0:0.3f}'.format(pval))" → 0.159 (pooled is its default).
    // Full precision from mpmath (30 digits): z = 1.4078304151258784, p = erfc(|z|/√2) = 0.15918129181157002,
    // se₀ = √(p̄(1 − p̄)(1/83 + 1/99)) = 0.04330859505634982; scipy chi2_contingency(correction=False) gives χ² = z² = 1.98199, p 0.1591813.
    const r = expectOk(proportionTest({ n: 83, successes: 5 }, { n: 99, successes: 12 }, 0.05, 'pooled'));
    expect(r.proportionTest).toBe('pooled');
    expectAbsClose(r.pValue, 0.159, 5e-4);
    expectRelClose(r.pValue, 0.15918129181157002, 1e-9);
    expectRelClose(r.zStatistic, 1.4078304151258784, 1e-9);
    expectRelClose(r.pooledStandardError, 0.04330859505634982, 1e-9);
    // The interval and standardError stay the unpooled Wald ones (R prop.test also reports a separate interval).
    const unpooled = expectOk(proportionTest({ n: 83, successes: 5 }, { n: 99, successes: 12 }));
    expect(r.absolute).toEqual(unpooled.absolute);
    expect(r.standardError).toBe(unpooled.standardError);
    expect(unpooled.proportionTest).toBe('unpooled');
  });

  it('chi2: R prop.test(x = c(490, 400), n = c(500, 500)) → X-squared = 80.909, Yates-corrected (STHDA two-proportions example)', () => {
    // Published R output: X-squared = 80.909, df = 1, p-value < 2.2e-16. scipy chi2_contingency([[490, 10], [400, 100]])
    // (Yates by default): 80.90909090909092, p 2.363439035893129e-19; mpmath: 80.909090909090909…, 2.3634390358931408e-19.
    const r = expectOk(proportionTest({ n: 500, successes: 490 }, { n: 500, successes: 400 }, 0.05, 'chi2'));
    expectAbsClose(r.chiSquare, 80.909, 5e-4);
    expectRelClose(r.chiSquare, 80.90909090909091, 1e-12);
    expectRelClose(r.pValue, 2.3634390358931408e-19, 1e-9);
    expect(r.zStatistic).toBeLessThan(0); // treatment converts less: z carries the sign of the difference
    expect(r.significant).toBe(true);
    // Without the correction the same table is the pooled test: χ² = z² = 82.737487231869254 (mpmath), p 9.3707131341216217e-20.
    const pooled = expectOk(proportionTest({ n: 500, successes: 490 }, { n: 500, successes: 400 }, 0.05, 'pooled'));
    expectRelClose(pooled.zStatistic ** 2, 82.737487231869254, 1e-12);
    expectRelClose(pooled.pValue, 9.3707131341216217e-20, 1e-9);
  });

  it('chi2 on a small table: scipy chi2_contingency([[5, 78], [12, 87]]) → 1.3273729065237354, p 0.24927311867487145', () => {
    // Yates reduces χ² from 1.98 (pooled z²) to 1.33: the continuity correction is conservative.
    const r = expectOk(proportionTest({ n: 83, successes: 5 }, { n: 99, successes: 12 }, 0.05, 'chi2'));
    expectRelClose(r.chiSquare, 1.3273729065237354, 1e-12);
    expectRelClose(r.pValue, 0.24927311867487145, 1e-9);
  });

  it('chi2 is 0 (p = 1) when |ad − bc| ≤ N/2, as scipy clips the Yates correction', () => {
    // 10/100 vs 10/100: ad − bc = 0.
    const r = expectOk(proportionTest({ n: 100, successes: 10 }, { n: 100, successes: 10 }, 0.05, 'chi2'));
    expect(r.chiSquare).toBe(0);
    expect(r.pValue).toBe(1);
  });
});
