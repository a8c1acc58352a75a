import { describe, expect, it } from 'vitest';
import { binaryVariance, expectedDurationDays, requiredSampleSizePerArm } from '../../../src/domain/stats/index.js';

// days = ⌈requiredPerArm / (dailyUnits · min_i w_i/Σw)⌉ — closed forms worked by hand.
describe('expectedDurationDays', () => {
  it('50/50 split: 14,128 per arm at 2,000 new units a day → 14,128/1,000 = 14.128 → 15 days', () => {
    expect(expectedDurationDays({ requiredPerArm: 14_128, weights: [50, 50], dailyUnits: 2000 })).toBe(15);
  });

  it('an exact whole number of days is not bumped up by rounding (10,000 per arm, 1,000/day per arm → 10)', () => {
    expect(expectedDurationDays({ requiredPerArm: 10_000, weights: [1, 1], dailyUnits: 2000 })).toBe(10);
  });

  it('the smallest arm governs: weights 80/10/10 at 10,000/day → 1,000/day in a small arm → 393 per arm takes 1 day, 5,001 takes 6', () => {
    expect(expectedDurationDays({ requiredPerArm: 393, weights: [80, 10, 10], dailyUnits: 10_000 })).toBe(1);
    expect(expectedDurationDays({ requiredPerArm: 5001, weights: [80, 10, 10], dailyUnits: 10_000 })).toBe(6);
  });

  it('throws RangeError on inputs the caller should have validated', () => {
    expect(() => expectedDurationDays({ requiredPerArm: 100, weights: [1], dailyUnits: 10 })).toThrow(RangeError);
    expect(() => expectedDurationDays({ requiredPerArm: 100, weights: [1, 0], dailyUnits: 10 })).toThrow(RangeError);
    expect(() => expectedDurationDays({ requiredPerArm: 100, weights: [1, 1], dailyUnits: 0 })).toThrow(RangeError);
    expect(() => expectedDurationDays({ requiredPerArm: Number.NaN, weights: [1, 1], dailyUnits: 10 })).toThrow(RangeError);
  });
});

describe('planning a binary metric (baselineVariance = p(1 − p))', () => {
  it('returns the smallest n per arm at which the z-test SE √(2p(1−p)/n) puts the MDE at z_{0.975} + z_{0.8}', () => {
    // 10% baseline, +10% relative MDE (δ = 0.01): n = 14,128 (required-sample-size.test.ts). Published
    // quantiles z_0.975 = 1.959963984540054, z_0.8 = 0.8416212335729143.
    const n = requiredSampleSizePerArm({ baselineMean: 0.1, baselineVariance: binaryVariance(0.1), mde: 0.1 });
    const target = 1.959963984540054 + 0.8416212335729143;
    const standardised = (units: number) => 0.01 / Math.sqrt((2 * 0.1 * 0.9) / units);
    expect(standardised(n)).toBeGreaterThanOrEqual(target);
    expect(standardised(n - 1)).toBeLessThan(target);
  });
});
