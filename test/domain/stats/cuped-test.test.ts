import { describe, expect, it } from 'vitest';
import { cupedTest, meanAndVariance, proportionTest, summarize, welchTest, type CovariateSummary } from '../../../src/domain/stats/index.js';
import { expectOk, expectRelClose } from './expect.js';

// Unit-level data: metric x and its pre-exposure covariate y.
const control = { x: [10, 14, 8, 20, 15, 12, 18, 13], y: [3, 5, 2, 8, 6, 4, 7, 5] };
const treatment = { x: [13, 17, 10, 19, 15, 24, 8, 16, 21, 15], y: [4, 6, 3, 7, 5, 9, 2, 6, 8, 5] };

function covariateSummary(a: { x: number[]; y: number[] }): CovariateSummary {
  const x = summarize(a.x);
  const y = summarize(a.y);
  return { n: x.n, sum: x.sum, sumSquares: x.sumSquares, covSum: y.sum, covSumSquares: y.sumSquares, crossSum: a.x.reduce((s, v, i) => s + v * a.y[i], 0) };
}

describe('cupedTest against exact rational arithmetic', () => {
  // Expected values: Python 3 fractions.Fraction over the unit data above (exact until the final float()):
  // sums C (8, 110, 1622, 40, 228, 605), T (10, 158, 2706, 55, 345, 963); θ = cov(x,y)/var(y) over the
  // 18 units pooled = 2764/1289; adjusted unit values x − θ(y − ȳ_pooled), then Welch on them.
  // Tolerance 1e-9 relative (the sums are exact integers; only the final divisions round).
  it('reproduces θ, adjusted means, SE, df, t, variance reduction and the relative effect', () => {
    const r = expectOk(cupedTest(covariateSummary(control), covariateSummary(treatment)));
    expect(r.method).toBe('cuped');
    expectRelClose(r.theta, 2764 / 1289, 1e-12);
    expectRelClose(r.controlMean, 14.345638307042496, 1e-9);
    expectRelClose(r.treatmentMean, 15.323489354366004, 1e-9);
    expectRelClose(r.controlVariance, 0.3388012292007487, 1e-9);
    expectRelClose(r.treatmentVariance, 0.2097297596599742, 1e-9);
    expectRelClose(r.absolute.estimate, 0.9778510473235066, 1e-9);
    expectRelClose(r.standardError, 0.2516408742952762, 1e-9);
    expectRelClose(r.df, 13.142925047308365, 1e-9);
    expectRelClose(r.tStatistic, 3.885899101495304, 1e-9);
    expectRelClose(r.varianceReduction, 0.9852195394132667, 1e-9);
    expect(r.unadjustedControlMean).toBe(13.75);
    expect(r.unadjustedTreatmentMean).toBe(15.8);
    // Relative effect against the unadjusted control mean 13.75: 0.9778510473235066/13.75.
    expectRelClose(r.relative?.estimate, 0.07111643980534593, 1e-9);
    expectRelClose(r.relativeStandardError, 0.016550064900259093, 1e-9);
    expect(r.adjustmentReason).toBeUndefined();
    expect(r.significant).toBe(true);
  });

  it('equals Welch’s test on the adjusted unit values (p, CI and df through the R-checked Welch path, 1e-9)', () => {
    const r = expectOk(cupedTest(covariateSummary(control), covariateSummary(treatment)));
    const yBar = [...control.y, ...treatment.y].reduce((a, b) => a + b, 0) / 18;
    const adjusted = (a: { x: number[]; y: number[] }) => a.x.map((x, i) => x - r.theta * (a.y[i] - yBar));
    const w = expectOk(welchTest(summarize(adjusted(control)), summarize(adjusted(treatment))));
    expectRelClose(r.pValue, w.pValue, 1e-9);
    expectRelClose(r.df, w.df, 1e-9);
    expectRelClose(r.absolute.lower, w.absolute.lower, 1e-9);
    expectRelClose(r.absolute.upper, w.absolute.upper, 1e-9);
  });

  it('has the relative SE of the unit-level linearisation (influence values), an independent route to 1e-9', () => {
    // rel = Δ/m. Linearised per unit: control l = −(a − ā_C)/m − Δ(x − x̄_C)/m², treatment l = (a − ā_T)/m;
    // Var(rel) = var_C(l)/n_C + var_T(l)/n_T (sample variances of the per-unit values).
    const r = expectOk(cupedTest(covariateSummary(control), covariateSummary(treatment)));
    const yBar = [...control.y, ...treatment.y].reduce((a, b) => a + b, 0) / 18;
    const m = r.unadjustedControlMean;
    const delta = r.absolute.estimate;
    const lc = control.x.map((x, i) => -(x - r.theta * (control.y[i] - yBar)) / m - (delta * x) / m ** 2);
    const lt = treatment.x.map((x, i) => (x - r.theta * (treatment.y[i] - yBar)) / m);
    const vc = meanAndVariance(summarize(lc))!.variance / lc.length;
    const vt = meanAndVariance(summarize(lt))!.variance / lt.length;
    expectRelClose(r.relativeStandardError, Math.sqrt(vc + vt), 1e-9);
  });
});

describe('cupedTest reductions and edge cases', () => {
  it('is exactly Welch when the covariate is uncorrelated with the metric (θ = 0), including the relative interval', () => {
    // Σ(x − x̄)(y − ȳ) = 0 within each arm and pooled, so θ = 0 and nothing is adjusted.
    const c = { x: [1, 2, 3, 4], y: [1, -1, -1, 1] };
    const t = { x: [2, 4, 6, 8], y: [1, -1, -1, 1] };
    const r = expectOk(cupedTest(covariateSummary(c), covariateSummary(t)));
    const w = expectOk(welchTest(summarize(c.x), summarize(t.x)));
    expect(r.theta).toBe(0);
    expect(r.varianceReduction).toBeCloseTo(0, 15);
    expectRelClose(r.pValue, w.pValue, 1e-12);
    expectRelClose(r.relative!.lower, w.relative!.lower, 1e-12);
    expectRelClose(r.relativeStandardError, w.relativeStandardError!, 1e-12);
  });

  it('falls back to the unadjusted test with a reason when the covariate has zero variance', () => {
    const c = { x: control.x, y: control.x.map(() => 5) };
    const t = { x: treatment.x, y: treatment.x.map(() => 5) };
    const r = expectOk(cupedTest(covariateSummary(c), covariateSummary(t)));
    const w = expectOk(welchTest(summarize(c.x), summarize(t.x)));
    expect(r.theta).toBe(0);
    expect(r.varianceReduction).toBe(0);
    expect(r.adjustmentReason).toMatch(/zero variance/);
    expectRelClose(r.pValue, w.pValue, 1e-12);
    expectRelClose(r.controlMean, w.controlMean, 1e-12);
  });

  it('refuses a covariate that predicts the metric exactly (adjusted variance 0) instead of claiming a huge t', () => {
    const line = (ys: number[], shift: number) => ({ x: ys.map((y) => 2 * y + shift), y: ys });
    const r = cupedTest(covariateSummary(line([1, 2, 3, 4], 1)), covariateSummary(line([2, 3, 5, 6], 1)));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/predicts the metric exactly/) });
  });

  it('refuses n < 2, non-finite sums and a bad alpha', () => {
    const one = covariateSummary({ x: [1], y: [2] });
    expect(cupedTest(one, covariateSummary(treatment))).toEqual({ ok: false, reason: expect.stringMatching(/control has fewer than 2/) });
    expect(cupedTest({ ...covariateSummary(control), crossSum: Number.NaN }, covariateSummary(treatment)).ok).toBe(false);
    expect(cupedTest(covariateSummary(control), covariateSummary(treatment), 1).ok).toBe(false);
  });

  it('names inconsistent sums (negative variance, covariance beyond Cauchy–Schwarz) instead of "fewer than 2 observations"', () => {
    // Control: Σx = 110 over 8 units, (Σx)²/n = 1512.5 > Σx² = 1000; treatment: Σxy = 2000 gives Cxy = 1131 ≫ √(Cxx·Cyy) ≈ 94.
    const negative = cupedTest({ ...covariateSummary(control), sumSquares: 1000 }, covariateSummary(treatment));
    expect(negative).toEqual({ ok: false, reason: expect.stringMatching(/^control: Σx² = 1000 is below/) });
    const cross = cupedTest(covariateSummary(control), { ...covariateSummary(treatment), crossSum: 2000 });
    expect(cross).toEqual({ ok: false, reason: expect.stringMatching(/^treatment: Σxy = 2000 is inconsistent/) });
  });

  it('gives no relative effect (with a reason) when the unadjusted control mean is 0', () => {
    const r = expectOk(cupedTest(covariateSummary({ x: [-1, 1, -2, 2], y: [0, 1, 0, 2] }), covariateSummary({ x: [1, 2, 3, 4], y: [1, 0, 2, 1] })));
    expect(r.relative).toBeNull();
    expect(r.relativeReason).toMatch(/control mean is 0/);
  });

  it('divides by |unadjusted control mean|: negating the metric negates the lift, its SE unchanged (issue 10, defect 3)', () => {
    // x → −x flips θ, Δ and m, so Δ/|m| → −(Δ/|m|) = −0.07111643980534593 (the exact value above);
    // gbstats divides by abs(unadjusted mean) too (utils.frequentist_diff). Tolerance 1e-9 relative.
    const negate = (a: { x: number[]; y: number[] }) => ({ x: a.x.map((v) => -v), y: a.y });
    const r = expectOk(cupedTest(covariateSummary(negate(control)), covariateSummary(negate(treatment))));
    expect(r.unadjustedControlMean).toBe(-13.75);
    expectRelClose(r.relative?.estimate, -0.07111643980534593, 1e-9);
    expectRelClose(r.relativeStandardError, 0.016550064900259093, 1e-9);
  });
});

// Issue 10, defect 7: one moment convention per metric kind. Binary metrics use the Bernoulli (1/n)
// moments everywhere — p(1 − p) in the proportion test, and p(1 − p), q(1 − q), Σxy/n − p·q in CUPED
// (gbstats' ProportionStatistic.variance and compute_covariance for two ProportionStatistics).
describe('cupedTest on a binary metric (Bernoulli moments)', () => {
  it("with θ = 0 has exactly the proportion test's variances and SE (not the n − 1 moments)", () => {
    // Pooled Σxy·n = Σx·Σy (2·12 = 8·3), so θ = 0; control p = 1/2 → p(1 − p) = 0.25 (n − 1 moments: 0.3).
    const c = { x: [1, 1, 1, 0, 0, 0], y: [0, 0, 0, 0, 0, 0] };
    const t = { x: [1, 1, 1, 1, 1, 0], y: [0, 0, 0, 1, 1, 1] };
    const r = expectOk(cupedTest(covariateSummary(c), covariateSummary(t), 0.05, 'bernoulli'));
    const z = expectOk(proportionTest({ n: 6, successes: 3 }, { n: 6, successes: 5 }));
    expect(r.theta).toBe(0);
    expectRelClose(r.controlVariance, 0.25, 1e-15);
    expectRelClose(r.controlVariance, z.controlVariance, 1e-15);
    expectRelClose(r.treatmentVariance, z.treatmentVariance, 1e-15);
    expectRelClose(r.standardError, z.standardError, 1e-15);
    expectRelClose(r.relativeStandardError, z.relativeStandardError!, 1e-12);
  });

  it('reproduces θ, adjusted moments, SE, df, p and the relative SE from exact Bernoulli moments', () => {
    // Python fractions (all moments 1/n): θ = cov/var of the 26 pooled units = 3/5; adjusted per-unit
    // variances p(1−p) − 2θ·cov + θ²·q(1−q); Welch df on them; p from mpmath's regularized incomplete beta;
    // relative SE Var(Δ)/m² + Δ²·Var(x̄_C)/m⁴ − 2Δ·Cov(Δ, x̄_C)/m³. Tolerance 1e-9 relative.
    const c = { x: [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1], y: [1, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0] };
    const t = { x: [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0], y: [1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0] };
    const r = expectOk(cupedTest(covariateSummary(c), covariateSummary(t), 0.05, 'bernoulli'));
    expectRelClose(r.theta, 0.6, 1e-12);
    expectRelClose(r.controlVariance, 0.12222222222222222, 1e-9); // n − 1 moments would give 0.1333…
    expectRelClose(r.treatmentVariance, 0.14530612244897959, 1e-9);
    expectRelClose(r.absolute.estimate, 0.12380952380952381, 1e-9);
    expectRelClose(r.standardError, 0.14340221034398623, 1e-9);
    expectRelClose(r.df, 23.868707858164316, 1e-9);
    expectRelClose(r.pValue, 0.39652563217541353, 1e-9);
    expectRelClose(r.relative?.estimate, 0.21224489795918366, 1e-9);
    expectRelClose(r.relativeStandardError, 0.27848411151965908, 1e-9);
    expectRelClose(r.varianceReduction, 0.40961588762412204, 1e-9);
  });
});
