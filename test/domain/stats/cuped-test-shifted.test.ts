import { describe, expect, it } from 'vitest';
import { cupedTest, summarize, welchTest, type CovariateSummary } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// Issue 10, defect 2 for CUPED: a metric near 3·10⁶ with unit spread and a covariate near 3·10⁶ correlated
// with it. The reference is the two-pass computation on the unit values (means first, then centred
// products). Every deviation is a multiple of 2⁻²⁰ below 16 in size, so x = 3·10⁶ + d is exact, and the
// shifted sums Σd, Σd², Σde (multiples of 2⁻⁴⁰ below 2⁵³·2⁻⁴⁰) are exact in doubles: the shifted path
// starts from exact sums, as the pipeline's double-double accumulation provides.

const OFFSET = 3e6;
const GRID = 2 ** 20;

/** Deterministic pseudo-normal draws (sum of 4 uniforms, mulberry32), rounded to the 2⁻²⁰ grid. */
function draws(seed: number, n: number): number[] {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => Math.round((uniform() + uniform() + uniform() + uniform() - 2) * Math.sqrt(3) * GRID) / GRID);
}

/** Unit values: x = 3·10⁶ + lift + d, y = 3·10⁶ + 0.5 + e with corr(d, e) ≈ 0.8. */
function units(seed: number, n: number, lift: number): { x: number[]; y: number[] } {
  const z = draws(seed, n);
  const w = draws(seed + 1, n);
  const e = z.map((v, i) => Math.round((0.8 * v + 0.6 * w[i]) * GRID) / GRID);
  return { x: z.map((v) => OFFSET + lift + v), y: e.map((v) => OFFSET + 0.5 + v) };
}

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/** The pipeline's shifted sums: of x − r and y − s (exact here, see above). */
function shifted(a: { x: number[]; y: number[] }, r: number, s: number): CovariateSummary {
  const dx = a.x.map((v) => v - r);
  const dy = a.y.map((v) => v - s);
  return {
    n: dx.length,
    sum: sum(dx),
    sumSquares: sum(dx.map((v) => v * v)),
    covSum: sum(dy),
    covSumSquares: sum(dy.map((v) => v * v)),
    crossSum: sum(dx.map((v, i) => v * dy[i])),
    shift: r,
    covShift: s,
  };
}

/** The best raw sums doubles can hold: Neumaier-compensated Σx, Σx², Σy, Σy², Σxy. */
function raw(a: { x: number[]; y: number[] }): CovariateSummary {
  const x = summarize(a.x);
  const y = summarize(a.y);
  const xy = summarize(a.x.map((v, i) => v * a.y[i]));
  return { n: x.n, sum: x.sum, sumSquares: x.sumSquares, covSum: y.sum, covSumSquares: y.sumSquares, crossSum: xy.sum };
}

/**
 * Two-pass CUPED: θ over both arms pooled, adjusted means x̄ − θ(ȳ − ȳ_pooled), adjusted variances from
 * centred values. Means from compensated sums (a plain running sum of 400 values near 3·10⁶ is off by
 * ~1e-8 in the mean, more than the tolerance on the effect).
 */
function twoPass(c: { x: number[]; y: number[] }, t: { x: number[]; y: number[] }) {
  const mean = (v: number[]) => summarize(v).sum / v.length;
  const all = { x: [...c.x, ...t.x], y: [...c.y, ...t.y] };
  const [mx, my] = [mean(all.x), mean(all.y)];
  const theta = sum(all.x.map((v, i) => (v - mx) * (all.y[i] - my))) / sum(all.y.map((v) => (v - my) ** 2));
  const arm = (a: { x: number[]; y: number[] }) => {
    const [ax, ay] = [mean(a.x), mean(a.y)];
    const centred = a.x.map((v, i) => v - ax - theta * (a.y[i] - ay));
    return { mean: ax - theta * (ay - my), variance: sum(centred.map((v) => v * v)) / (a.x.length - 1), n: a.x.length, mx: ax, my: ay };
  };
  const [ac, at] = [arm(c), arm(t)];
  return {
    theta,
    control: ac,
    treatment: at,
    estimate: at.mx - ac.mx - theta * (at.my - ac.my),
    standardError: Math.sqrt(ac.variance / ac.n + at.variance / at.n),
  };
}

describe('cupedTest on shifted sums at a large offset (3·10⁶ ± 1)', () => {
  const c = units(11, 400, 0);
  const t = units(23, 500, 0.1);
  const ref = twoPass(c, t);

  it('matches the two-pass θ, adjusted means, variances and SE to 1e-9 relative', () => {
    // Shifted by a value near the data (the catalog baseline, as the pipeline does).
    const r = expectOk(cupedTest(shifted(c, OFFSET, OFFSET), shifted(t, OFFSET, OFFSET)));
    expect(ref.theta).toBeGreaterThan(0.5); // the covariate really carries information
    expectRelClose(r.theta, ref.theta, 1e-9);
    expectRelClose(r.controlMean, ref.control.mean, 1e-9);
    expectRelClose(r.treatmentMean, ref.treatment.mean, 1e-9);
    expectRelClose(r.controlVariance, ref.control.variance, 1e-9);
    expectRelClose(r.treatmentVariance, ref.treatment.variance, 1e-9);
    expectRelClose(r.standardError, ref.standardError, 1e-9);
    // The difference of two adjusted means near 3·10⁶ carries their rounding (ulp(3·10⁶) = 4.7e-10) on
    // either path, so it is compared in absolute terms, at 4 ulps.
    expectAbsClose(r.absolute.estimate, ref.estimate, 2e-9);
    expectRelClose(r.unadjustedControlMean, sum(c.x) / c.x.length, 1e-15);
  });

  it('gives the same answer whatever the shifts, even when the arms were shifted differently', () => {
    const a = expectOk(cupedTest(shifted(c, OFFSET, OFFSET), shifted(t, OFFSET, OFFSET)));
    const b = expectOk(cupedTest(shifted(c, c.x[0], c.y[0]), shifted(t, t.x[3], t.y[7])));
    expectRelClose(b.theta, a.theta, 1e-9);
    expectRelClose(b.standardError, a.standardError, 1e-9);
    expectAbsClose(b.absolute.estimate, a.absolute.estimate, 2e-9);
  });

  it('the raw sums cannot: θ and the SE lose most of their digits (the contrast the shift removes)', () => {
    // Σx² ≈ 3.6·10¹⁵ is held to ½ulp = 0.25, against a centred sum of about 400: relative errors of
    // order 1e-3 in the variances and covariance, however carefully the raw sums are accumulated. On
    // these data θ is off by 3e-5 and the SE by 2e-3 (the shifted path: 2e-15 and below 1e-9).
    const r = expectOk(cupedTest(raw(c), raw(t)));
    expect(Math.abs(r.theta / ref.theta - 1)).toBeGreaterThan(1e-6);
    expect(Math.abs(r.standardError / ref.standardError - 1)).toBeGreaterThan(1e-4);
  });

  it('with a covariate of zero variance (θ = 0) reproduces the plain Welch test on the shifted sums', () => {
    const flat = (a: { x: number[]; y: number[] }) => ({ x: a.x, y: a.y.map(() => OFFSET + 0.5) });
    const r = expectOk(cupedTest(shifted(flat(c), OFFSET, OFFSET), shifted(flat(t), OFFSET, OFFSET)));
    const w = expectOk(welchTest(summarize(c.x, OFFSET), summarize(t.x, OFFSET)));
    expect(r.theta).toBe(0);
    expect(r.adjustmentReason).toMatch(/zero variance/);
    expectRelClose(r.standardError, w.standardError, 1e-14);
    expectRelClose(r.absolute.estimate, w.absolute.estimate, 1e-14);
    expectRelClose(r.absolute.lower, w.absolute.lower, 1e-14);
    expectRelClose(r.pValue, w.pValue, 1e-12);
  });
});
