import { describe, expect, it } from 'vitest';
import { alwaysValidPValue, confidenceSequenceRho, msprt, msprtSequence } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// Closed form of Johari, Koomen, Pekelis & Walsh (2017, eq. 11) for two arms of n units with variance σ²,
// difference d and mixing variance τ²: Λ = sqrt(2σ²/(2σ² + nτ²))·exp(n²τ²d²/(4σ²(2σ² + nτ²))), evaluated with
// mpmath at 40 digits; our input is SE = sqrt(2σ²/n). halfWidth: |d| where Λ = 1/α (α = 0.05), same mpmath run.
const cases = [
  // σ², n, d, τ², ln Λ, min(1, 1/Λ), halfWidth
  [4, 1000, 0.3, 0.01, 2.7195348918918354, 0.06590540043511114, 0.3129768115881272],
  [4, 1000, 0.05, 0.01, -0.31865955255260882, 1, 0.3129768115881272],
  [1, 50000, 0.05, 0.0004, 27.210143272691727, 1.5232981858670123e-12, 0.01921280385773715],
  [1, 50000, 0, 0.0004, -1.1989476363991853, 1, 0.01921280385773715],
] as const;

describe('msprt against the closed form of Johari et al.', () => {
  it.each(cases)('σ² %s, n %s per arm, d %s, τ² %s: ln Λ, p and half-width (1e-13 relative)', (s2, n, d, t2, logL, p, hw) => {
    const r = expectOk(msprt({ estimate: d, standardError: Math.sqrt((2 * s2) / n), mixingVariance: t2 }));
    expectRelClose(r.logEValue, logL, 1e-13);
    expectRelClose(r.pValueAtLook, p, 1e-12);
    expectRelClose(r.halfWidth, hw, 1e-13);
    expect(r.mixingVariance).toBe(t2);
    expect(r.significant).toBe(p <= 0.05);
  });

  it('its interval ends are where Λ = 1/α: the e-value of the shifted estimate is −ln α there', () => {
    const base = { standardError: 0.1, mixingVariance: 0.02 };
    const r = expectOk(msprt({ ...base, estimate: 0.37 }));
    const atEdge = expectOk(msprt({ ...base, estimate: r.halfWidth }));
    expectAbsClose(atEdge.logEValue, -Math.log(0.05), 1e-12);
  });

  it('equals the asymptotic confidence sequence when τ² = ρ²·n·SE² (same p-value, 1e-12)', () => {
    const n = 20000;
    const se = 0.05;
    const rho = confidenceSequenceRho(0.05, 30000);
    for (const estimate of [0.05, 0.12, 0.2]) {
      const cs = expectOk(alwaysValidPValue({ estimate, standardError: se, n, tuningN: 30000 }));
      const m = expectOk(msprt({ estimate, standardError: se, mixingVariance: rho * rho * n * se * se }));
      expectRelClose(m.pValueAtLook, cs.pValue, 1e-12);
    }
  });
});

describe('msprt running minimum', () => {
  it('keeps the smallest p over looks, and the interval is the running intersection', () => {
    const tau2 = 0.01;
    const looks = [
      { estimate: 0.5, standardError: 0.15 }, // p small here
      { estimate: 0.05, standardError: 0.1 }, // p = 1 alone
    ];
    const first = expectOk(msprt({ ...looks[0], mixingVariance: tau2 }));
    const second = expectOk(msprt({ ...looks[1], mixingVariance: tau2, previousPValue: first.pValue }));
    expect(second.pValueAtLook).toBe(1);
    expect(second.pValue).toBe(first.pValue);
    const seq = expectOk(msprtSequence(looks, tau2));
    expect(seq.pValue).toBe(first.pValue);
    expect(seq.lower).toBe(Math.max(first.lower, second.lower));
    expect(seq.upper).toBe(Math.min(first.upper, second.upper));
    expect(seq.significant).toBe(first.pValue <= 0.05);
    if (seq.significant) expect(seq.lower > 0 || seq.upper < 0).toBe(true);
  });

  it('refuses bad inputs as values', () => {
    expect(msprt({ estimate: 1, standardError: 0, mixingVariance: 1 }).ok).toBe(false);
    expect(msprt({ estimate: 1, standardError: 1, mixingVariance: 0 }).ok).toBe(false);
    expect(msprt({ estimate: 1, standardError: 1, mixingVariance: 1, previousPValue: 2 }).ok).toBe(false);
    expect(msprtSequence([], 1).ok).toBe(false);
  });
});
