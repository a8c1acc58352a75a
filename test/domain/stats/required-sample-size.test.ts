import { describe, expect, it } from 'vitest';
import { binaryVariance, requiredSampleSizePerArm } from '../../../src/domain/stats/index.js';

// n = 2·(z_{1−α/2} + z_{power})²·σ²/δ², rounded up, with the published quantiles
// z_0.975 = 1.959963984540054, z_0.95 = 1.6448536269514722, z_0.8 = 0.8416212335729143,
// z_0.9 = 1.2815515655446004. Raw values below were computed from those constants in Python.
describe('requiredSampleSizePerArm', () => {
  it('10% conversion, +10% relative MDE, α=0.05 two-sided, power 0.8 → 14,128 (raw 14127.98)', () => {
    expect(requiredSampleSizePerArm({ baselineMean: 0.1, baselineVariance: binaryVariance(0.1), mde: 0.1 })).toBe(14_128);
  });

  it('agrees with Lehr’s rule of thumb n ≈ 16σ²/δ² (van Belle, Statistical Rules of Thumb, ch. 2, Lehr’s formula) within 2%', () => {
    // 2·(1.96 + 0.8416)² = 15.70, which the rule rounds to 16.
    const n = requiredSampleSizePerArm({ baselineMean: 10, baselineVariance: 25, mde: 1, mdeKind: 'absolute' });
    expect(Math.abs(n - 16 * 25) / (16 * 25)).toBeLessThan(0.02); // 393 vs 400
    expect(n).toBe(393); // raw 392.44398671745444
  });

  it('uses z_{1−α} one-sided (raw 11128.60 → 11,129) and the requested power (0.9: raw 18913.36 → 18,914)', () => {
    const base = { baselineMean: 0.1, baselineVariance: 0.09, mde: 0.1 };
    expect(requiredSampleSizePerArm({ ...base, twoSided: false })).toBe(11_129);
    expect(requiredSampleSizePerArm({ ...base, power: 0.9 })).toBe(18_914);
  });

  it('takes an absolute MDE as is, whatever its sign (σ² = 4, δ = 0.5: raw 251.16 → 252)', () => {
    const base = { baselineMean: 3, baselineVariance: 4, mdeKind: 'absolute' as const };
    expect(requiredSampleSizePerArm({ ...base, mde: 0.5 })).toBe(252);
    expect(requiredSampleSizePerArm({ ...base, mde: -0.5 })).toBe(252);
  });

  it('never returns fewer than 2, the minimum the Welch test needs', () => {
    expect(requiredSampleSizePerArm({ baselineMean: 1, baselineVariance: 0, mde: 0.1 })).toBe(2);
  });

  it('throws RangeError on inputs the caller should have validated', () => {
    const ok = { baselineMean: 1, baselineVariance: 1, mde: 0.1 };
    expect(() => requiredSampleSizePerArm({ ...ok, mde: 0 })).toThrow(RangeError);
    expect(() => requiredSampleSizePerArm({ ...ok, baselineMean: 0 })).toThrow(RangeError);
    expect(() => requiredSampleSizePerArm({ ...ok, baselineVariance: -1 })).toThrow(RangeError);
    expect(() => requiredSampleSizePerArm({ ...ok, alpha: 1 })).toThrow(RangeError);
    expect(() => requiredSampleSizePerArm({ ...ok, power: 0 })).toThrow(RangeError);
  });
});
