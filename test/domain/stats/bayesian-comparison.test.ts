import { describe, expect, it } from 'vitest';
import { bayesianComparison } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// Independent check: composite Simpson quadrature of the posterior N(estimate, σ²) over ±12σ
// (mass outside < 4e-33), 20,000 panels; its error is far below the 1e-9 tolerance used.
function simpson(f: (x: number) => number, a: number, b: number, panels = 20_000): number {
  const h = (b - a) / panels;
  let s = f(a) + f(b);
  for (let i = 1; i < panels; i++) s += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

function posteriorIntegrals(estimate: number, sigma: number, sign: 1 | -1) {
  const density = (d: number) => Math.exp(-0.5 * ((d - estimate) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI));
  // Integrate separately on each side of 0 (the kink of max(0, ·)), so Simpson stays exact to high order.
  const lo = estimate - 12 * sigma;
  const hi = estimate + 12 * sigma;
  const side = (f: (d: number) => number, from: number, to: number) => (to > from ? simpson(f, from, to) : 0);
  const good = (d: number) => sign * d > 0;
  const below = (f: (d: number) => number) => side(f, lo, Math.min(0, hi));
  const above = (f: (d: number) => number) => side(f, Math.max(0, lo), hi);
  const pBeat = (sign === 1 ? above : below)((d) => density(d));
  const loss = (sign === 1 ? below : above)((d) => (good(d) ? 0 : Math.abs(d)) * density(d));
  const lossControl = (sign === 1 ? above : below)((d) => (good(d) ? Math.abs(d) : 0) * density(d));
  return { pBeat, loss, lossControl };
}

describe('bayesianComparison (flat prior, Gaussian posterior)', () => {
  // Closed-form values from Python 3 (math.erfc, math.exp; libm): P = Φ(z),
  // loss = σφ(z) − δΦ(−z), loss of control = σφ(z) + δΦ(z), δ oriented so positive is better.
  it.each([
    [0.5, 1, 'increase', 0.6914624612740131, 0.19779655740130608, 0.6977965574013061],
    [0.02, 0.01, 'decrease', 0.02275013194817922, 0.0200849070261683, 8.490702616829627e-5],
    [-3, 0.5, 'increase', 9.865876450377012e-10, 3.0000000000781784, 7.817848979853967e-11],
  ] as const)('estimate %s, se %s, %s: closed form (1e-9 relative) and quadrature (1e-9 absolute)', (estimate, se, direction, p, loss, lossControl) => {
    const r = expectOk(bayesianComparison({ estimate, standardError: se, direction }));
    expectRelClose(r.chanceToBeatControl, p, 1e-9);
    expectRelClose(r.expectedLoss, loss, 1e-9);
    expectRelClose(r.expectedLossOfControl, lossControl, 1e-9);
    const q = posteriorIntegrals(estimate, se, direction === 'increase' ? 1 : -1);
    expectAbsClose(r.chanceToBeatControl, q.pBeat, 1e-9);
    expectAbsClose(r.expectedLoss, q.loss, 1e-9 * Math.max(1, se));
    expectAbsClose(r.expectedLossOfControl, q.lossControl, 1e-9 * Math.max(1, se));
  });

  it('is symmetric: a 0 estimate gives 50% and equal losses σ/√(2π)', () => {
    const r = expectOk(bayesianComparison({ estimate: 0, standardError: 2, direction: 'increase' }));
    expect(r.chanceToBeatControl).toBe(0.5);
    expectRelClose(r.expectedLoss, 2 / Math.sqrt(2 * Math.PI), 1e-14);
    expectRelClose(r.expectedLossOfControl, r.expectedLoss, 1e-14);
  });

  it('flipping the direction swaps the chance and the two losses', () => {
    const up = expectOk(bayesianComparison({ estimate: 0.3, standardError: 0.2, direction: 'increase' }));
    const down = expectOk(bayesianComparison({ estimate: 0.3, standardError: 0.2, direction: 'decrease' }));
    expectRelClose(down.chanceToBeatControl, 1 - up.chanceToBeatControl, 1e-14);
    expectRelClose(down.expectedLoss, up.expectedLossOfControl, 1e-14);
    expectRelClose(up.expectedLoss - up.expectedLossOfControl, -0.3, 1e-12); // E[max(0,−δ)] − E[max(0,δ)] = −δ
  });

  it('refuses a zero or non-finite standard error and a non-finite estimate', () => {
    expect(bayesianComparison({ estimate: 1, standardError: 0, direction: 'increase' }).ok).toBe(false);
    expect(bayesianComparison({ estimate: 1, standardError: Number.POSITIVE_INFINITY, direction: 'increase' }).ok).toBe(false);
    expect(bayesianComparison({ estimate: Number.NaN, standardError: 1, direction: 'increase' }).ok).toBe(false);
  });
});

// gbstats (growthbook/growthbook packages/stats/tests/bayesian/test_tests.py, EffectBayesianABTest,
// difference_type "relative" by default; published to 5 decimals, so tolerance 6e-6 absolute).
// The data enter as the relative effect and its delta-method SE, computed here from the published
// arm statistics: Var(mean) = p(1 − p)/n for proportions, s²/n for sample means;
// Var(rel) = Var(m_T)/m_C² + m_T²·Var(m_C)/m_C⁴.
function relativeData(mC: number, varMeanC: number, mT: number, varMeanT: number) {
  return { estimate: (mT - mC) / Math.abs(mC), standardError: Math.sqrt(varMeanT / mC ** 2 + (mT ** 2 * varMeanC) / mC ** 4) };
}

describe('bayesianComparison against gbstats EffectBayesianABTest', () => {
  const gb = 6e-6;
  function expectGbstats(
    r: ReturnType<typeof bayesianComparison>,
    e: { expected: number; ci: [number, number]; stddev: number; ctw: number; risk: [number, number] },
  ) {
    const ok = expectOk(r);
    expectAbsClose(ok.posteriorMean, e.expected, gb);
    expectAbsClose(ok.posteriorSd, e.stddev, gb);
    expectAbsClose(ok.credibleInterval.lower, e.ci[0], gb);
    expectAbsClose(ok.credibleInterval.upper, e.ci[1], gb);
    expectAbsClose(ok.chanceToBeatControl, e.ctw, gb);
    // gbstats' risk is [control's, treatment's] = [E[max(0, δ)], E[max(0, −δ)]].
    expectAbsClose(ok.expectedLossOfControl, e.risk[0], gb);
    expectAbsClose(ok.expectedLoss, e.risk[1], gb);
  }

  it('TestBinom: 49/100 vs 51/100, flat prior', () => {
    const d = relativeData(0.49, (0.49 * 0.51) / 100, 0.51, (0.51 * 0.49) / 100);
    expectGbstats(bayesianComparison({ ...d, direction: 'increase', scale: 'relative' }), {
      expected: 0.04082,
      ci: [-0.24779, 0.32943],
      stddev: 0.14725,
      ctw: 0.60918,
      risk: [0.0814, 0.04058],
    });
  });

  // SampleMeanStatistic(sum=100, sum_squares=1002.25, n=10): mean 10, s² = 0.25; (105, 1111.5, 10): mean 10.5, s² = 1.
  const norm = relativeData(10, 0.25 / 10, 10.5, 1 / 10);
  it('TestNorm: flat prior', () => {
    expectGbstats(bayesianComparison({ ...norm, direction: 'increase', scale: 'relative' }), {
      expected: 0.05,
      ci: [-0.02, 0.12],
      stddev: 0.03572,
      ctw: 0.91923,
      risk: [0.05131, 0.00131],
    });
  });

  it('TestNorm informative: GaussianPrior(mean 0.1, variance 0.1, proper) on the relative effect', () => {
    const prior = { mean: 0.1, variance: 0.1, scale: 'relative' as const };
    expectGbstats(bayesianComparison({ ...norm, direction: 'increase', scale: 'relative', prior }), {
      expected: 0.05063,
      ci: [-0.01893, 0.12019],
      stddev: 0.03549,
      ctw: 0.92315,
      risk: [0.05186, 0.00123],
    });
    // proper: false is the flat prior, whatever its numbers.
    const flat = expectOk(bayesianComparison({ ...norm, direction: 'increase', scale: 'relative', prior: { ...prior, proper: false } }));
    expect(flat.prior).toBeNull();
    expectAbsClose(flat.posteriorMean, 0.05, 1e-15);
  });

  // TestEffectBayesianABTest (quantile data, published at full precision): the data's estimate and SE are
  // recovered from the flat results, then the informative prior N(0, 1) must reproduce the published
  // posterior. z_{0.975} = 1.959963984540054 (scipy norm.ppf). Tolerance 1e-10 (relative): the recovery
  // divides a CI width by 2z, losing a few digits.
  const z975 = 1.959963984540054;
  // gbstats' prior_type defaults to "relative", so on the absolute scale its N(0, 1) is rescaled with the
  // control quantile 7.157987489967789 to N(0, 7.158²): the case checks the relative → absolute rescaling too.
  it('quantile case, absolute scale: improper flat → relative N(0, 1) prior rescaled by the control mean', () => {
    const lo = 0.4572559589115422;
    const hi = 0.6157689162044128;
    const data = { estimate: 0.5365124375579775, standardError: (hi - lo) / (2 * z975) };
    const r = expectOk(
      bayesianComparison({ ...data, direction: 'increase', controlMean: 7.157987489967789, prior: { mean: 0, variance: 1, scale: 'relative' } }),
    );
    expectRelClose(r.posteriorMean, 0.536495315442269, 1e-10);
    expectRelClose(r.credibleInterval.lower, 0.4572401014910488, 1e-10);
    expectRelClose(r.credibleInterval.upper, 0.6157505293934892, 1e-10);
  });

  it('quantile case, relative scale: proper N(0, 1e6) → N(0, 1) prior', () => {
    // Flat-ish posterior (prior variance 1e6): precision P = 1/sd² = 1/se² + 1e-6, mean = (est/se²)/P.
    const sd = (0.08649588602990732 - 0.06341005842481906) / (2 * z975);
    const dataPrecision = 1 / sd ** 2 - 1e-6;
    const estimate = 0.07495297222736319 / sd ** 2 / dataPrecision;
    const data = { estimate, standardError: Math.sqrt(1 / dataPrecision), direction: 'increase' as const, scale: 'relative' as const };
    const wide = expectOk(bayesianComparison({ ...data, prior: { mean: 0, variance: 1e6, scale: 'relative' } }));
    expectRelClose(wide.posteriorMean, 0.07495297222736319, 1e-12);
    const r = expectOk(bayesianComparison({ ...data, prior: { mean: 0, variance: 1, scale: 'relative' } }));
    expectRelClose(r.posteriorMean, 0.07495037261804469, 1e-10);
    expectRelClose(r.credibleInterval.lower, 0.06340765898986044, 1e-10);
    expectRelClose(r.credibleInterval.upper, 0.08649308624622894, 1e-10);
  });

  it('get_risk: (0.1, 0.05) → [0.1004245351308, 0.0004245351308414] (10 decimals) and no overflow at μ/σ = 2.2e6', () => {
    const r = expectOk(bayesianComparison({ estimate: 0.1, standardError: 0.05, direction: 'increase' }));
    expectAbsClose(r.expectedLossOfControl, 0.1004245351308, 1e-12);
    expectAbsClose(r.expectedLoss, 0.0004245351308414, 1e-14);
    const tiny = expectOk(bayesianComparison({ estimate: 0.01, standardError: 4.5e-9, direction: 'increase' }));
    expect([tiny.expectedLossOfControl, tiny.expectedLoss]).toEqual([0.01, 0]);
    const neg = expectOk(bayesianComparison({ estimate: -0.01, standardError: 4.5e-9, direction: 'increase' }));
    expect([neg.expectedLossOfControl, neg.expectedLoss]).toEqual([0, 0.01]);
  });
});

describe('bayesianComparison: priors across scales, extremes, no data', () => {
  it('rescales a relative prior to the absolute scale with |control mean| (mean·|m_C|, variance·m_C²)', () => {
    // Data Δ = 0.5 ± 0.2 on a control mean of −10; relative prior N(0.02, 0.01²) → absolute N(0.2, 0.1²).
    // Conjugate update (Python): P = 1/0.04 + 1/0.01 = 125; mean = (0.5/0.04 + 0.2/0.01)/125 = 0.26; sd = √(1/125).
    const base = { estimate: 0.5, standardError: 0.2, direction: 'increase' as const, controlMean: -10 };
    const r = expectOk(bayesianComparison({ ...base, prior: { mean: 0.02, variance: 1e-4, scale: 'relative' } }));
    expectRelClose(r.prior!.mean, 0.2, 1e-15);
    expectRelClose(r.prior!.variance, 0.01, 1e-14);
    expectRelClose(r.posteriorMean, 0.26, 1e-14);
    expectRelClose(r.posteriorSd, Math.sqrt(1 / 125), 1e-14);
    // The same prior stated absolutely gives the same posterior; and absolute → relative divides back.
    const abs = expectOk(bayesianComparison({ ...base, prior: { mean: 0.2, variance: 0.01, scale: 'absolute' } }));
    expectRelClose(abs.posteriorMean, 0.26, 1e-14);
    const rel = expectOk(
      bayesianComparison({
        estimate: 0.05,
        standardError: 0.02,
        direction: 'increase',
        scale: 'relative',
        controlMean: -10,
        prior: { mean: 0.2, variance: 0.01, scale: 'absolute' },
      }),
    );
    expectRelClose(rel.prior!.mean, 0.02, 1e-14);
    expectRelClose(rel.posteriorMean, 0.026, 1e-14);
  });

  it('refuses to rescale without a non-zero control mean, and an improper prior variance', () => {
    const base = { estimate: 0.5, standardError: 0.2, direction: 'increase' as const };
    expect(bayesianComparison({ ...base, prior: { mean: 0, variance: 1, scale: 'relative' } }).ok).toBe(false);
    expect(bayesianComparison({ ...base, controlMean: 0, prior: { mean: 0, variance: 1, scale: 'relative' } }).ok).toBe(false);
    expect(bayesianComparison({ ...base, prior: { mean: 0, variance: 0, scale: 'absolute' } }).ok).toBe(false);
  });

  it('credible interval is posterior mean ± z_{1−α/2}·sd (z_{0.95} = 1.6448536269514722, Python statistics.NormalDist)', () => {
    const r = expectOk(bayesianComparison({ estimate: 1, standardError: 0.5, direction: 'increase', alpha: 0.1 }));
    expectRelClose(r.credibleInterval.upper, 1 + 1.6448536269514722 * 0.5, 1e-14);
    expectRelClose(r.credibleInterval.lower, 1 - 1.6448536269514722 * 0.5, 1e-13);
  });

  // mpmath (50 digits): s·g(∓m/s), g(t) = npdf(t) + t·ncdf(t); checked against quad of x·φ(x; −10, 1) on [0, ∞)
  // (7.4745602545893280366e-25). The naive σφ(z) − δΦ(−z) returns 0 or noise for the first three.
  it.each([
    [5, 1, 5.346165533832815e-8],
    [10, 1, 7.474560254589328e-25],
    [0.3, 0.01, 1.6319567340914863e-201],
    [37, 1, 1.5451991905122025e-301],
    [2, 1, 0.0084907026168296375],
    [1.999, 1, 0.0085134797622648094],
    [2.5, 1, 0.0020041371791281994],
  ])('expected loss at estimate %s, se %s is %s (1e-13 relative)', (m, s, loss) => {
    const r = expectOk(bayesianComparison({ estimate: m, standardError: s, direction: 'increase' }));
    expectRelClose(r.expectedLoss, loss, 1e-13);
    expectRelClose(r.expectedLossOfControl, m + loss, 1e-15);
    const down = expectOk(bayesianComparison({ estimate: -m, standardError: s, direction: 'increase' }));
    expectRelClose(down.expectedLossOfControl, loss, 1e-13);
  });

  it("an arm with no units is { ok: false, reason: 'no data' }", () => {
    const base = { estimate: 0, standardError: 1, direction: 'increase' as const };
    expect(bayesianComparison({ ...base, units: { control: 0, treatment: 10 } })).toEqual({ ok: false, reason: 'no data' });
    expect(bayesianComparison({ ...base, units: { control: 10, treatment: 0 } })).toEqual({ ok: false, reason: 'no data' });
    expect(bayesianComparison({ ...base, units: { control: 10, treatment: 10 } }).ok).toBe(true);
  });
});
