import { describe, expect, it } from 'vitest';
import { binaryVariance, proportionSampleSizes, requiredSampleSizePerArm, requiredSampleSizes } from '../../../src/domain/stats/index.js';

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

// Issue 10, defect 8: under H1 the treatment arm's variance is p₁(1 − p₁), not the baseline's.
describe('requiredSampleSizes with the treatment variance under H1 and unequal allocation', () => {
  it('10% conversion, +5% relative: n = (0.09 + 0.105·0.895)(z_0.975 + z_0.8)²/0.005² → 57,760 per arm (raw 57759.906)', () => {
    // python3 (statistics.NormalDist): normal-theory power with both true variances is 0.8000016 at
    // 57,760 and 0.7999948 at 57,759; the baseline-only size 56,512 has power 0.7914 (the 4% shortfall).
    expect(proportionSampleSizes({ baselineRate: 0.1, mde: 0.05 })).toEqual({ control: 57_760, treatment: 57_760, total: 115_520 });
    expect(requiredSampleSizePerArm({ baselineMean: 0.1, baselineVariance: 0.09, treatmentVariance: 0.105 * 0.895, mde: 0.05 })).toBe(57_760);
  });

  it('matches spotify/confidence test_freqsamplesizecalculator (binary 0.7, mde 0.00617, weights 5000:2000) within its 0.1%', () => {
    // test_sample_size_3: interval 0.99, power 0.8, SPOT_1 over 2 success metrics → two-sided α 0.005: 730,009.
    const three = proportionSampleSizes({ baselineRate: 0.7, mde: 0.00617, alpha: 0.005, allocationRatio: 2000 / 5000 });
    expect(Math.abs(three.total / 730_009 - 1)).toBeLessThan(1e-3);
    // test_sample_size_7: interval 0.95, power 0.9, α 0.05/2: 680,575.
    const seven = proportionSampleSizes({ baselineRate: 0.7, mde: 0.00617, alpha: 0.025, power: 0.9, allocationRatio: 2000 / 5000 });
    expect(Math.abs(seven.total / 680_575 - 1)).toBeLessThan(1e-3);
    // The split follows the weights: n_T/n_C = 0.4.
    expect(three.treatment / three.control).toBeCloseTo(0.4, 4);
  });

  it('unequal allocation: σ² = 25, δ = 1 absolute, 80/20 → n_C = (25 + 25/0.25)·7.8489/1 = 981.1 → 982, n_T = 245.3 → 246', () => {
    // python3: (25 + 100)·(1.959963984540054 + 0.8416212335729143)² = 981.1099667936361; ×0.25 = 245.277.
    expect(requiredSampleSizes({ baselineMean: 10, baselineVariance: 25, mde: 1, mdeKind: 'absolute', allocationRatio: 0.25 })).toEqual({
      control: 982,
      treatment: 246,
      total: 1228,
    });
  });

  it('refuses an MDE that takes the rate outside [0, 1] and a non-positive allocation ratio', () => {
    expect(() => proportionSampleSizes({ baselineRate: 0.8, mde: 0.3 })).toThrow(RangeError);
    expect(() => requiredSampleSizes({ baselineMean: 1, baselineVariance: 1, mde: 0.1, allocationRatio: 0 })).toThrow(RangeError);
  });
});
