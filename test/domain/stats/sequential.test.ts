import { describe, expect, it } from 'vitest';
import { alwaysValidPValue, confidenceSequence, confidenceSequenceRho, type ConfidenceSequenceResult } from '../../../src/domain/stats/index.js';

// Reference values. GrowthBook's gbstats (SequentialTwoSidedTTest, the asymptotic confidence sequence of
// Waudby-Smith et al. 2023) publishes, in packages/stats/tests/frequentist/test_tests.py of
// growthbook/growthbook (class TestSequentialTTest; the version found by find_string, id 3752864879):
//   A. relative effect, SampleMeanStatistic(1396.87, 52377.9767, n=3000) vs (2422.7, 134698.29, n=3461),
//      tuning 1000: uplift mean 0.50336, stddev 0.33341, ci (−0.55844, 1.56516), pValue 1.
//      The same file's one-sided tests print the full-precision moments: 0.5033610858562358, 0.3334122146400735.
//   B. relative effect, ProportionStatistic(1396, 3000) vs (2422, 3461), default tuning 5000:
//      uplift 0.50386 ± 0.03386, ci (0.40098, 0.60675), pValue 0.0 (to 5 decimals).
//   C. regression-adjusted, default tuning 5000: uplift mean 0.50338, stddev 0.33341, ci (−0.50969, 1.51646).
// gbstats rounds to 5 decimals, so those comparisons use 5e-6 (A, B) and the rounded inputs of C.
// Full-precision expectations were recomputed with Python's decimal module at 50 digits from the same
// formula (B's estimate and SE from the proportions in exact fractions: p(1 − p) variances, delta method).

function expectOk(r: ConfidenceSequenceResult): Extract<ConfidenceSequenceResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r;
}

describe('confidenceSequence against gbstats', () => {
  it('A: reproduces the CI (−0.55844, 1.56516) and p = 1 at n = 6461, tuning 1000', () => {
    const params = { estimate: 0.5033610858562358, standardError: 0.3334122146400735, n: 6461, tuningN: 1000 };
    const r = expectOk(confidenceSequence(params));
    expect(Math.abs(r.lower - -0.55844)).toBeLessThan(5e-6);
    expect(Math.abs(r.upper - 1.56516)).toBeLessThan(5e-6);
    // Python decimal: −0.55844050510773152, 1.5651626768202031, ρ = 0.089085097528922116 (1e-12 absolute).
    expect(r.lower).toBeCloseTo(-0.5584405051077315, 12);
    expect(r.upper).toBeCloseTo(1.5651626768202031, 12);
    expect(r.rho).toBeCloseTo(0.08908509752892212, 14);
    expect(r.significant).toBe(false);
    const p = alwaysValidPValue(params);
    expect(p).toEqual({ ok: true, method: 'asymptotic-confidence-sequence', pValue: 1, rho: r.rho });
  });

  it('B: reproduces the proportions CI (0.40098, 0.60675) at the default tuning 5000 and a p of 5.17e-44, not 0', () => {
    // estimate = (2422/3461 − 1396/3000)/(1396/3000); SE² = pB(1−pB)/(nB·pA²) + pA(1−pA)·pB²/(nA·pA⁴).
    const params = { estimate: 0.5038633516821496, standardError: 0.033860214798231226, n: 6461, tuningN: 5000 };
    const r = expectOk(confidenceSequence(params));
    expect(Math.abs(r.lower - 0.40098)).toBeLessThan(5e-6);
    expect(Math.abs(r.upper - 0.60675)).toBeLessThan(5e-6);
    expect(r.lower).toBeCloseTo(0.4009784966859415, 12);
    expect(r.upper).toBeCloseTo(0.6067482066783577, 12);
    expect(r.significant).toBe(true);
    const p = alwaysValidPValue(params);
    if (!p.ok) throw new Error(p.reason);
    expect(p.pValue / 5.174716682839768e-44).toBeCloseTo(1, 9); // Python decimal, 1e-9 relative
  });

  it('C: works unchanged on a CUPED estimate: CI (−0.50969, 1.51646) from its rounded moments', () => {
    const r = expectOk(confidenceSequence({ estimate: 0.50338, standardError: 0.33341, n: 6461, tuningN: 5000 }));
    expect(r.lower).toBeCloseTo(-0.5096921174892734, 12);
    expect(r.upper).toBeCloseTo(1.5164521174892734, 12);
    // gbstats' own bounds come from unrounded moments; rounding each input to 5 decimals moves the
    // bounds by at most 5e-6·(1 + 3.04) ≈ 2e-5, hence 3e-5 here.
    expect(Math.abs(r.lower - -0.50969)).toBeLessThan(3e-5);
    expect(Math.abs(r.upper - 1.51646)).toBeLessThan(3e-5);
  });

  it('is tightest when tuningN is near n, as in gbstats test_sequential_test_tuning_as_expected', () => {
    const base = { estimate: 0.5033610858562358, standardError: 0.3334122146400735, n: 6461 };
    const below = expectOk(confidenceSequence({ ...base, tuningN: 10 }));
    const near = expectOk(confidenceSequence({ ...base, tuningN: 6461 }));
    const above = expectOk(confidenceSequence({ ...base, tuningN: 10_000 }));
    expect(below.halfWidth).toBeGreaterThan(above.halfWidth);
    expect(above.halfWidth).toBeGreaterThan(near.halfWidth);
    expect(expectOk(confidenceSequence({ ...base, tuningN: 3000 })).halfWidth).toBeGreaterThan(near.halfWidth);
  });
});

describe('confidenceSequence formula', () => {
  it('ρ = sqrt((−2 ln α + ln(−2 ln α + 1))/tuningN): 0.0398400667713737 at α = 0.05, tuning 5000 (Python decimal)', () => {
    expect(confidenceSequenceRho(0.05, 5000)).toBeCloseTo(0.03984006677137368, 15);
  });

  it('equals the per-unit form σ̂·√n·sqrt(2(nρ²+1)/(n²ρ²)·ln(√(nρ²+1)/α)) with σ̂ = SE of the difference', () => {
    // Two arms of 500 with s² = 4 each: SE = √(4/500 + 4/500), n = 1000 units, σ̂_unit = SE·√n = 4 = 2s.
    const se = Math.sqrt(4 / 500 + 4 / 500);
    expect(se * Math.sqrt(1000)).toBeCloseTo(4, 12);
    const rho = confidenceSequenceRho(0.05, 2000);
    const n = 1000;
    const x = n * rho * rho;
    const perUnit = se * Math.sqrt(n) * Math.sqrt(((2 * (x + 1)) / (n * n * rho * rho)) * Math.log(Math.sqrt(x + 1) / 0.05));
    const r = expectOk(confidenceSequence({ estimate: 0.1, standardError: se, n, tuningN: 2000 }));
    expect(r.halfWidth).toBeCloseTo(perUnit, 14);
    // At n = tuningN it is ~1.55× the fixed-horizon 1.96·SE: the price of peeking freely.
    const atPlan = expectOk(confidenceSequence({ estimate: 0, standardError: 1, n: 2000, tuningN: 2000 }));
    expect(atPlan.halfWidth).toBeCloseTo(3.0352089903762529, 12); // Python decimal
  });

  it('is symmetric around the estimate and flags significance only when 0 is outside', () => {
    const r = expectOk(confidenceSequence({ estimate: -3.5, standardError: 1, n: 10_000, tuningN: 10_000 }));
    expect(r.upper + r.lower).toBeCloseTo(-7, 12);
    expect(r.significant).toBe(true); // upper = −0.46 < 0
    expect(expectOk(confidenceSequence({ estimate: 3, standardError: 1, n: 10_000, tuningN: 10_000 })).significant).toBe(false);
  });
});

describe('alwaysValidPValue', () => {
  it('is exactly α where the sequence touches 0, and p < α ⇔ the sequence excludes 0', () => {
    for (const [n, tuningN, alpha] of [
      [6461, 5000, 0.05],
      [200, 100_000, 0.01],
      [50_000, 1000, 0.1],
    ]) {
      const hw = expectOk(confidenceSequence({ estimate: 0, standardError: 0.7, n, tuningN, alpha })).halfWidth;
      const p = alwaysValidPValue({ estimate: hw, standardError: 0.7, n, tuningN, alpha });
      if (!p.ok) throw new Error(p.reason);
      expect(p.pValue / alpha).toBeCloseTo(1, 12);
      for (const scale of [0.5, 0.99, 1.01, 2]) {
        const q = alwaysValidPValue({ estimate: -scale * hw, standardError: 0.7, n, tuningN, alpha });
        const cs = expectOk(confidenceSequence({ estimate: -scale * hw, standardError: 0.7, n, tuningN, alpha }));
        expect(q.ok && q.pValue < alpha).toBe(cs.significant);
      }
    }
  });

  it('is 1 at a zero estimate, decreases in |z|, and keeps a 8e-174 tail at z = 30 instead of 0', () => {
    const at = (estimate: number): number => {
      const r = alwaysValidPValue({ estimate, standardError: 1, n: 10_000, tuningN: 10_000 });
      if (!r.ok) throw new Error(r.reason);
      return r.pValue;
    };
    expect(at(0)).toBe(1);
    const ps = [1, 2, 3, 4, 5, 8].map(at);
    for (let i = 1; i < ps.length; i++) expect(ps[i]).toBeLessThanOrEqual(ps[i - 1]);
    expect(at(-4)).toBe(at(4));
    expect(at(30) / 8.183252525997227e-174).toBeCloseTo(1, 9); // Python decimal
  });
});

describe('confidenceSequence edge cases', () => {
  it('refuses a zero or non-finite standard error, small n, bad tuningN and alpha, never returning NaN', () => {
    const base = { estimate: 1, standardError: 1, n: 100, tuningN: 100 };
    const bad = [
      { ...base, standardError: 0 },
      { ...base, standardError: Number.NaN },
      { ...base, standardError: -1 },
      { ...base, estimate: Number.POSITIVE_INFINITY },
      { ...base, n: 1 },
      { ...base, tuningN: 0 },
      { ...base, alpha: 0 },
      { ...base, alpha: 1 },
    ];
    for (const params of bad) {
      const cs = confidenceSequence(params);
      const p = alwaysValidPValue(params);
      expect(cs.ok).toBe(false);
      expect(p.ok).toBe(false);
      expect(JSON.stringify([cs, p])).not.toMatch(/NaN|null/);
    }
    expect(confidenceSequence({ ...base, standardError: 0 })).toEqual({ ok: false, reason: expect.stringMatching(/standard error is 0/) });
  });
});
