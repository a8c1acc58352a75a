import { describe, expect, it } from 'vitest';
import { normalQuantile } from '../../../src/domain/stats/distributions.js';
import { minimumQuantileSample, quantileTest, quantileVariance, type QuantileArm } from '../../../src/domain/stats/quantile-test.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// gbstats, growthbook/growthbook packages/stats/tests/bayesian/test_tests.py, TestEffectBayesianABTest
// (also test_shared_models.py): a P90 with n* = n.
const control: QuantileArm = { n: 11054, nStar: 11054, quantile: 7.157987489967789, lower: 7.098780136176828, upper: 7.217194843758751 };
const treatment: QuantileArm = { n: 10861, nStar: 10861, quantile: 7.694499927525767, lower: 7.64180598628119, upper: 7.747193868770344 };

describe('quantileTest (gbstats QuantileStatistic)', () => {
  it("reproduces gbstats' published interval for the improper flat prior: estimate ± z·SE", () => {
    const r = expectOk(quantileTest(control, treatment, 0.9));
    expect(r.method).toBe('quantile');
    // b_improper_flat.expected and .ci: the Gaussian posterior N(Δ, SE²) of gbstats is our (estimate, SE).
    expectAbsClose(r.absolute.estimate, 0.5365124375579775, 1e-12);
    const z = normalQuantile(0.975);
    expectAbsClose(r.absolute.estimate - z * r.standardError, 0.4572559589115422, 1e-12);
    expectAbsClose(r.absolute.estimate + z * r.standardError, 0.6157689162044128, 1e-12);
    // b_relative_flat (proper prior of variance 1e6, which moves the 12th digit): the delta-method relative effect.
    expectAbsClose(r.relative!.estimate, 0.07495297222736319, 1e-11);
    expectAbsClose(r.relative!.estimate - z * r.relativeStandardError!, 0.06341005842481906, 1e-9);
    expectAbsClose(r.relative!.estimate + z * r.relativeStandardError!, 0.08649588602990732, 1e-9);
  });

  it('computes the per-unit variance and the Welch interval as gbstats TwoSidedTTest does', () => {
    // python3: z = norm.ppf(0.975); v = (n*/n)(n-1)((U-L)/(2z))**2 per arm; se = sqrt(vc/nc + vt/nt);
    // df = (vc/nc + vt/nt)**2 / ((vc/nc)**2/(nc-1) + (vt/nt)**2/(nt-1)); CI = Δ ± t.ppf(0.975, df)·se;
    // p = 2·t.sf(|Δ/se|, df) (scipy 1.17).
    expectRelClose(quantileVariance(control), 10.08637917263502, 1e-12);
    expectRelClose(quantileVariance(treatment), 7.849735240729057, 1e-12);
    const r = expectOk(quantileTest(control, treatment, 0.9));
    expectRelClose(r.df, 21663.958355118295, 1e-10);
    expectRelClose(r.tStatistic, 13.267622695709123, 1e-10);
    expectAbsClose(r.absolute.lower, 0.45725153061125173, 1e-9);
    expectAbsClose(r.absolute.upper, 0.6157733445047033, 1e-9);
    expectRelClose(r.pValue, 5.1113753093227955e-40, 1e-6);
    expect(r.significant).toBe(true);
  });

  it('scales the variance by n*/n when the interval was read at a smaller sample', () => {
    // python3: (250/1000)·999·((11 − 9)/(2·norm.ppf(0.975)))**2 = 65.01436346384467
    expectRelClose(quantileVariance({ n: 1000, nStar: 250, quantile: 10, lower: 9, upper: 11 }), 65.01436346384467, 1e-12);
  });

  it('needs n > z²·ν/(1 − ν) and n > z²·(1 − ν)/ν units per arm (gbstats _has_zero_variance)', () => {
    // python3: norm.ppf(0.975)**2 · 9 = 34.573, · 99 = 380.30, · 1 = 3.8415
    expect(minimumQuantileSample(0.9)).toBe(35);
    expect(minimumQuantileSample(0.1)).toBe(35);
    expect(minimumQuantileSample(0.99)).toBe(381);
    expect(minimumQuantileSample(0.5)).toBe(4);
    const small = { ...treatment, n: 34, nStar: 34 };
    const r = quantileTest(control, small, 0.9);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/treatment has 34 units.*P90 needs at least 35/);
    expect(quantileTest(control, { ...small, n: 35, nStar: 35 }, 0.9).ok).toBe(true);
  });

  it('refuses a collapsed order-statistic interval instead of flooring the variance (gbstats TestQuantileStatisticZeroVariance)', () => {
    const atom: QuantileArm = { n: 999, nStar: 999, quantile: 5, lower: 5, upper: 5 };
    const r = quantileTest(atom, { ...atom, lower: 4.99, upper: 5.01 }, 0.9);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/control's P90 has no spread/);
  });

  it('refuses a level outside (0, 1)', () => {
    expect(quantileTest(control, treatment, 1).ok).toBe(false);
  });
});
