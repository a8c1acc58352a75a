import { describe, expect, it } from 'vitest';
import { binaryVariance, meanAndVariance, summarize } from '../../../src/domain/stats/index.js';

// NIST Statistical Reference Datasets, univariate NumAcc1–3: certified mean and standard deviation
// (NumAcc1: 10000001, 10000003, 10000002 → mean 10000002, sd 1; NumAcc2/3: a first value then 500
// pairs around it → mean 1.2 / 1000000.2, sd 0.1). They are the standard cancellation stress cases.
function numAcc(first: number, low: number, high: number): number[] {
  const values = [first];
  for (let i = 0; i < 500; i++) values.push(low, high);
  return values;
}

describe('summarize', () => {
  it('returns n, sum and sum of squares (hand-computed: 1+2+3 = 6, 1+4+9 = 14)', () => {
    expect(summarize([1, 2, 3])).toEqual({ n: 3, sum: 6, sumSquares: 14 });
    expect(summarize([])).toEqual({ n: 0, sum: 0, sumSquares: 0 });
  });
});

describe('meanAndVariance', () => {
  it('is null below 2 observations or with a non-finite field', () => {
    expect(meanAndVariance(summarize([]))).toBeNull();
    expect(meanAndVariance(summarize([4]))).toBeNull();
    expect(meanAndVariance({ n: 3, sum: Number.NaN, sumSquares: 1 })).toBeNull();
  });

  it('gives the unbiased variance (hand-computed: 2,4,4,4,5,5,7,9 → mean 5, Σ(x−5)² = 32, 32/7)', () => {
    const r = meanAndVariance(summarize([2, 4, 4, 4, 5, 5, 7, 9]));
    expect(r?.mean).toBe(5);
    expect(r?.variance).toBeCloseTo(32 / 7, 14);
  });

  it('reads a constant arm as variance exactly 0, not a few ulps of noise', () => {
    for (const v of [0.1, 1 / 3, 123.456, 7e-8]) {
      for (const n of [3, 10, 1000]) expect(meanAndVariance(summarize(Array(n).fill(v)))?.variance).toBe(0);
    }
  });

  it('clamps a negative centred sum from rounding to 0 instead of returning a negative variance', () => {
    // sumSquares slightly below sum²/n = 300: impossible for real data, possible after rounding.
    expect(meanAndVariance({ n: 3, sum: 30, sumSquares: 300 - 1e-13 })?.variance).toBe(0);
  });

  it('reproduces NIST StRD NumAcc1 exactly (integers below 2^53: no rounding at all)', () => {
    const r = meanAndVariance(summarize([10000001, 10000003, 10000002]));
    expect(r?.mean).toBe(10000002);
    expect(r?.variance).toBe(1);
  });

  it('reproduces NIST StRD NumAcc2 (mean 1.2, sd 0.1; tolerance 1e-12 relative)', () => {
    const r = meanAndVariance(summarize(numAcc(1.2, 1.1, 1.3)));
    expect(r?.mean).toBeCloseTo(1.2, 12);
    expect(Math.sqrt(r?.variance ?? 0) / 0.1).toBeCloseTo(1, 12);
  });

  it('reproduces NIST StRD NumAcc3 (mean 1000000.2, sd 0.1) within the raw-moment error bound', () => {
    // Bound: the centred sum is 10 while sumSquares ≈ 1e15 (ulp 0.125); a few ulps of rounding
    // allow ≤ 4% on the variance, ≤ 2% on the sd. Naive (uncompensated) sums give sd 0.1072 here.
    const r = meanAndVariance(summarize(numAcc(1000000.2, 1000000.1, 1000000.3)));
    expect(r?.mean).toBeCloseTo(1000000.2, 6);
    expect(Math.abs(Math.sqrt(r?.variance ?? 0) - 0.1) / 0.1).toBeLessThan(0.02);
  });
});

describe('binaryVariance', () => {
  it('is p(1 − p) on [0, 1] and rejects anything else', () => {
    expect(binaryVariance(0.5)).toBe(0.25);
    expect(binaryVariance(0.1)).toBeCloseTo(0.09, 15);
    expect(binaryVariance(0)).toBe(0);
    expect(binaryVariance(1)).toBe(0);
    expect(() => binaryVariance(1.5)).toThrow(RangeError);
    expect(() => binaryVariance(Number.NaN)).toThrow(RangeError);
  });
});
