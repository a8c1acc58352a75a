import { describe, expect, it } from 'vitest';
import { chiSquareSf } from '../../../src/domain/stats/index.js';
import {
  normalCdf,
  normalPdf,
  normalQuantile,
  normalSf,
  normalTwoSidedPValue,
  studentTCritical,
  studentTOneSidedCritical,
  studentTSf,
  studentTTwoSidedPValue,
} from '../../../src/domain/stats/distributions.js';

// Sources used below:
// - Closed forms: chi-square df=2 → sf = e^(−x/2); df=4 → e^(−x/2)(1 + x/2); df=1 → sf(z²) = 2(1 − Φ(z)).
//   Student t df=1 (Cauchy) → two-sided p = 2·atan(1/|t|)/π; df=2 → p = 2/(s(s + |t|)), s = √(2 + t²)
//   (from cdf = ½ + t/(2√(2+t²)), rearranged to avoid cancellation); quantiles df=1 → tan(π(q − ½)),
//   df=2 → (2q − 1)/√(2q(1 − q)).
// - Tables: NIST/SEMATECH e-Handbook 1.3.6.7.4 (chi-square critical values) and 1.3.6.7.2 (t critical
//   values), printed to 3 decimals, so they are asserted with a tolerance that 3 decimals allow.
// - Standard normal quantiles z_0.975 = 1.959963984540054, z_0.9995 = 3.2905267314919255,
//   z_0.8 = 0.8416212335729143 (published to 16 digits, e.g. Wikipedia "97.5th percentile point",
//   "Standard normal table").
// - Where a value is written out (not computed in the test), it came from Python 3's math module
//   (math.erfc, math.exp, math.tan): libm, independent of @stdlib.

describe('chiSquareSf', () => {
  it('matches the df=2 closed form e^(−x/2) to 1e-12 relative', () => {
    for (const x of [0.5, 2, 20, 100]) {
      expect(chiSquareSf(x, 2) / Math.exp(-x / 2)).toBeCloseTo(1, 12);
    }
  });

  it('keeps tiny tails instead of rounding them to 0 (df=4 closed form at x=200 ≈ 3.8e-42, 1e-10 relative)', () => {
    const expected = Math.exp(-100) * (1 + 100); // 3.757276735781044e-42
    expect(chiSquareSf(200, 4) / expected).toBeCloseTo(1, 10);
    // df=1: erfc(√75) = 1.7336432457178011e-34 (Python math.erfc)
    expect(chiSquareSf(150, 1) / 1.7336432457178011e-34).toBeCloseTo(1, 10);
  });

  it('gives 0.05 and 0.001 at the squared normal quantiles for df=1 (1e-12 absolute)', () => {
    expect(chiSquareSf(1.959963984540054 ** 2, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquareSf(3.2905267314919255 ** 2, 1)).toBeCloseTo(0.001, 12);
  });

  it('agrees with the NIST chi-square critical-value table (3-decimal values, tolerance 2e-5)', () => {
    const table: Array<[x: number, df: number, upperTail: number]> = [
      [3.841, 1, 0.05],
      [5.991, 2, 0.05],
      [18.307, 10, 0.05],
      [10.828, 1, 0.001],
      [29.588, 10, 0.001],
    ];
    for (const [x, df, tail] of table) expect(Math.abs(chiSquareSf(x, df) - tail)).toBeLessThan(2e-5);
  });

  it('is 1 at and below 0 and rejects a bad df', () => {
    expect(chiSquareSf(0, 3)).toBe(1);
    expect(chiSquareSf(-1, 3)).toBe(1);
    expect(() => chiSquareSf(1, 0)).toThrow(RangeError);
    expect(() => chiSquareSf(Number.NaN, 1)).toThrow(RangeError);
  });
});

describe('studentTTwoSidedPValue', () => {
  it('matches the Cauchy (df=1) closed form, including a 6e-26 tail (1e-10 relative)', () => {
    for (const t of [0.5, 3, 1e3, 1e25]) {
      const expected = (2 * Math.atan(1 / t)) / Math.PI;
      expect(studentTTwoSidedPValue(t, 1) / expected).toBeCloseTo(1, 10);
      expect(studentTTwoSidedPValue(-t, 1) / expected).toBeCloseTo(1, 10);
    }
  });

  it('matches the df=2 closed form, including a 1e-24 tail (1e-10 relative)', () => {
    for (const t of [0.3, 4.302652729749464, 1e6, 1e12]) {
      const s = Math.sqrt(2 + t * t);
      expect(studentTTwoSidedPValue(t, 2) / (2 / (s * (s + t)))).toBeCloseTo(1, 10);
    }
  });

  it('gives ≈0.05 at the NIST table value t_{0.975,10} = 2.228 (tolerance 1e-4 for 3 decimals)', () => {
    expect(Math.abs(studentTTwoSidedPValue(2.228, 10) - 0.05)).toBeLessThan(1e-4);
  });

  it('is 1 at t = 0', () => {
    expect(studentTTwoSidedPValue(0, 7)).toBe(1);
  });
});

describe('studentTCritical', () => {
  it('matches the df=1 and df=2 closed-form quantiles (1e-10 absolute)', () => {
    expect(studentTCritical(0.05, 1)).toBeCloseTo(Math.tan(Math.PI * 0.475), 10); // 12.706204736174696; table 12.706
    expect(studentTCritical(0.01, 1)).toBeCloseTo(Math.tan(Math.PI * 0.495), 10); // 63.6567411628717; table 63.657
    expect(studentTCritical(0.05, 2)).toBeCloseTo(0.95 / Math.sqrt(2 * 0.975 * 0.025), 10); // 4.302652729749464
  });

  it('agrees with the NIST t table (df=10: 2.228, df=30: 2.042; tolerance 5e-4)', () => {
    expect(Math.abs(studentTCritical(0.05, 10) - 2.228)).toBeLessThan(5e-4);
    expect(Math.abs(studentTCritical(0.05, 30) - 2.042)).toBeLessThan(5e-4);
  });

  it('tends to z_0.975 as df grows (df=1e7, tolerance 1e-6)', () => {
    expect(studentTCritical(0.05, 1e7)).toBeCloseTo(1.959963984540054, 6);
  });
});

describe('normalQuantile', () => {
  it('returns the published standard normal quantiles (1e-12 absolute)', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.8)).toBeCloseTo(0.8416212335729143, 12);
    expect(normalQuantile(0.9995)).toBeCloseTo(3.2905267314919255, 12);
  });
});

describe('normal tails (½·erfc, Python libm values)', () => {
  it('Φ(1) = 0.8413447460685429, φ(1) = 0.24197072451914337 (1e-14 relative)', () => {
    expect(normalCdf(1) / 0.8413447460685429).toBeCloseTo(1, 14);
    expect(normalPdf(1) / 0.24197072451914337).toBeCloseTo(1, 14);
  });

  it('keeps far tails: Φ(−30) = 1 − Φ(30) = 4.906713927148764e-198 (1e-12 relative), never 1 − cdf', () => {
    expect(normalCdf(-30) / 4.906713927148764e-198).toBeCloseTo(1, 12);
    expect(normalSf(30) / 4.906713927148764e-198).toBeCloseTo(1, 12);
    expect(normalTwoSidedPValue(-30) / (2 * 4.906713927148764e-198)).toBeCloseTo(1, 12);
  });

  it('gives 0.025 above the published z_0.975 and a two-sided p of 0.05 (1e-14 absolute), capped at 1', () => {
    expect(normalSf(1.959963984540054)).toBeCloseTo(0.025, 14);
    expect(normalTwoSidedPValue(1.959963984540054)).toBeCloseTo(0.05, 14);
    expect(normalTwoSidedPValue(0)).toBe(1);
  });
});

describe('one-sided Student t (df = 1 Cauchy closed forms)', () => {
  it('P(T ≥ 3) = atan(1/3)/π = 0.10241638234956672; t_{0.95, 1} = tan(0.45π) = 6.313751514675041 (1e-12 relative)', () => {
    expect(studentTSf(3, 1) / 0.10241638234956672).toBeCloseTo(1, 12);
    expect(studentTOneSidedCritical(0.05, 1) / 6.313751514675041).toBeCloseTo(1, 12);
  });
});
