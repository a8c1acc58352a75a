import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SKETCH_GAMMA, binBounds, binOf, mergeSketches, quantileArmOf, sketchCount, sketchOf, sketchQuantile } from '../../src/domain/quantile-sketch.js';
import { quantileTest } from '../../src/domain/stats/quantile-test.js';
import { prng } from '../../src/cli/simulate.js';

/** The exact sample quantile the sketch estimates: x_(⌈p·n⌉), the inverse empirical CDF (Hyndman & Fan type 1). */
const exact = (sorted: number[], p: number) => sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1];

const lognormal = (rand: () => number, mu: number, sigma: number) =>
  Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));

const LEVELS = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];
/** The stated accuracy: every estimate is within a factor γ of the exact order statistic (|error| ≤ (γ − 1)·|x| = 1%). */
const ACCURACY = SKETCH_GAMMA - 1 + 1e-12;

describe('quantile sketch (DDSketch bins, 1% relative accuracy)', () => {
  it('puts every value in a bin that contains it, bins ordered like the values', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), fc.double({ min: -1e12, max: 1e12, noNaN: true }), (x, y) => {
        const [lo, hi] = binBounds(binOf(x));
        if (Math.abs(x) >= 1e-9) {
          expect(x).toBeGreaterThanOrEqual(lo * (1 - 1e-12) - 1e-300);
          expect(x).toBeLessThanOrEqual(hi * (1 + 1e-12) + 1e-300);
        }
        if (x < y) expect(binOf(x)).toBeLessThanOrEqual(binOf(y));
      }),
      { numRuns: 2000, seed: 20261201 },
    );
  });

  it('estimates every quantile of latency-like data within 1% of the exact sample quantile', () => {
    for (const [seed, n] of [
      [1, 50],
      [2, 1000],
      [3, 20000],
    ]) {
      const rand = prng(seed);
      const values = Array.from({ length: n }, () => lognormal(rand, Math.log(300), 0.6));
      const sorted = [...values].sort((a, b) => a - b);
      const sketch = sketchOf(values);
      expect(sketchCount(sketch)).toBe(n);
      for (const p of LEVELS) {
        const x = exact(sorted, p);
        expect(Math.abs(sketchQuantile(sketch, p)! - x), `n=${n} p=${p}`).toBeLessThanOrEqual(ACCURACY * x);
      }
    }
  });

  it('stays within its accuracy on any data: negative, zero, tiny, huge and repeated values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.constantFrom(0, 1, -1, 5, 1e-12)), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        (values, p) => {
          const sorted = [...values].sort((a, b) => a - b);
          const x = exact(sorted, p);
          const got = sketchQuantile(sketchOf(values), p)!;
          // |x| < 1e-9 is counted as 0 (the sketch's minimum indexable value).
          expect(Math.abs(got - x)).toBeLessThanOrEqual(ACCURACY * Math.abs(x) + 1e-9);
        },
      ),
      { numRuns: 500, seed: 20261202 },
    );
  });

  it('merges by adding counts: the sketch of a union, in any split', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 }), fc.nat(), (values, cut) => {
        const k = values.length ? cut % (values.length + 1) : 0;
        expect(mergeSketches(sketchOf(values.slice(0, k)), sketchOf(values.slice(k)))).toEqual(sketchOf(values));
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });

  it("reads an arm's order-statistic interval around the quantile, and halves n* when an atom collapses it", () => {
    const rand = prng(7);
    const arm = quantileArmOf(sketchOf(Array.from({ length: 4000 }, () => lognormal(rand, Math.log(300), 0.6))), 0.9)!;
    expect(arm).toMatchObject({ n: 4000, nStar: 4000 });
    expect(arm.lower).toBeLessThan(arm.quantile);
    expect(arm.upper).toBeGreaterThan(arm.quantile);
    // 95% of units at exactly 5 ms: the interval stays inside the atom's bin down to n* = 250; at
    // n* = 125 its upper rank 0.9 + 1.96·√(0.09/125) = 0.9526 reaches the values above it (gbstats' walk-down).
    const atom = quantileArmOf(sketchOf([...Array(950).fill(5), ...Array.from({ length: 50 }, (_, i) => 10 + i)]), 0.9)!;
    expect(atom).toMatchObject({ n: 1000, nStar: 125 });
    expect(Math.abs(atom.lower - 5)).toBeLessThanOrEqual(ACCURACY * 5);
    expect(atom.upper).toBeGreaterThan(10);
    // Every unit at 5 ms: no n* resolves a spread, so the bounds collapse and the test refuses.
    const flat = quantileArmOf(sketchOf(Array(500).fill(5)), 0.9)!;
    expect(flat).toMatchObject({ n: 500, nStar: 100 });
    expect(flat.lower).toBe(flat.upper);
    const r = quantileTest(flat, arm, 0.9);
    expect(!r.ok && r.reason).toMatch(/control's P90 has no spread/);
    expect(quantileArmOf([], 0.9)).toBeNull();
  });
});
