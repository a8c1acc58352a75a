import { describe, expect, it } from 'vitest';
import { srmTest, type SrmResult } from '../../../src/domain/stats/index.js';

// Expected statistics are Pearson's Σ(o − e)²/e worked by hand; p-values use closed forms of the
// chi-square survival function: df=1 → erfc(√(x/2)), df=2 → e^(−x/2). Written-out p-values were
// computed with Python 3's math.erfc (libm, independent of @stdlib). Tolerance: 1e-10 relative.
function expectOk(r: SrmResult): Extract<SrmResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r;
}

describe('srmTest', () => {
  it('finds no mismatch in an exact 50/50 split', () => {
    const r = expectOk(srmTest([50_000, 50_000], [0.5, 0.5]));
    expect(r).toMatchObject({ chiSquare: 0, df: 1, pValue: 1, mismatch: false, expected: [50_000, 50_000] });
  });

  it('50,000 vs 51,000 on 50/50: p = 0.00165, above the default 0.001 threshold', () => {
    // e = 50,500 each; χ² = 2·500²/50,500 = 9.900990099009901; p = erfc(√(χ²/2)) = 0.0016518987323573646.
    // Suspicious but not flagged at 0.001; the same split is flagged at a 0.01 threshold.
    const r = expectOk(srmTest([50_000, 51_000], [0.5, 0.5]));
    expect(r.chiSquare).toBeCloseTo(9.900990099009901, 10);
    expect(r.pValue / 0.0016518987323573646).toBeCloseTo(1, 10);
    expect(r.mismatch).toBe(false);
    expect(expectOk(srmTest([50_000, 51_000], [0.5, 0.5], 0.01)).mismatch).toBe(true);
  });

  it('50,000 vs 51,500 on 50/50 is a mismatch (p = 2.5e-6)', () => {
    // e = 50,750 each; χ² = 2·750²/50,750 = 22.167487684729064; p = 2.4986952146786022e-6.
    const r = expectOk(srmTest([50_000, 51_500], [0.5, 0.5]));
    expect(r.chiSquare).toBeCloseTo(22.167487684729064, 9);
    expect(r.pValue / 2.4986952146786022e-6).toBeCloseTo(1, 10);
    expect(r.mismatch).toBe(true);
  });

  it('normalises 0.2/0.8 weights (and 1:4 the same way)', () => {
    const exact = expectOk(srmTest([2_000, 8_000], [0.2, 0.8]));
    expect(exact).toMatchObject({ chiSquare: 0, pValue: 1, mismatch: false });
    expect(exact.expected).toEqual([2_000, 8_000]);
    // 2,100 / 7,900 vs 2,000 / 8,000: χ² = 100²/2,000 + 100²/8,000 = 6.25; p = erfc(√3.125) = 0.012419330651552266.
    const off = expectOk(srmTest([2_100, 7_900], [1, 4]));
    expect(off.expected[0]).toBeCloseTo(2_000, 9);
    expect(off.chiSquare).toBeCloseTo(6.25, 10);
    expect(off.pValue / 0.012419330651552266).toBeCloseTo(1, 10);
    expect(off.mismatch).toBe(false);
  });

  it('flags 21,000 / 79,000 on 0.2/0.8 (χ² = 50 + 12.5 = 62.5, p = erfc(√31.25) = 2.66444638923592e-15)', () => {
    const r = expectOk(srmTest([21_000, 79_000], [0.2, 0.8]));
    expect(r.chiSquare).toBeCloseTo(62.5, 9);
    expect(r.pValue / 2.66444638923592e-15).toBeCloseTo(1, 8);
    expect(r.mismatch).toBe(true);
  });

  it('handles three arms with df = 2 (χ² = 20, p = e^(−10) = 4.5399929762484854e-5)', () => {
    const r = expectOk(srmTest([1_000, 1_100, 900], [1, 1, 1]));
    expect(r.df).toBe(2);
    expect(r.chiSquare).toBeCloseTo(20, 10);
    expect(r.pValue / Math.exp(-10)).toBeCloseTo(1, 10);
    expect(r.mismatch).toBe(true);
  });

  it('refuses inputs it cannot test, with a reason', () => {
    const cases: Array<[number[], number[], number?]> = [
      [
        [0, 0],
        [0.5, 0.5],
      ], // nothing observed yet
      [
        [10, 10],
        [0.5, 0.3, 0.2],
      ], // length mismatch
      [[10], [1]], // one arm
      [
        [10, 10],
        [0.5, -0.5],
      ], // negative weight
      [
        [10, 10],
        [1, 0],
      ], // zero weight: expected count 0
      [
        [10, 10],
        [1, Number.NaN],
      ],
      [
        [10.5, 10],
        [1, 1],
      ], // counts must be integers
      [
        [-1, 10],
        [1, 1],
      ],
      [[10, 10], [1, 1], 0], // threshold outside (0, 1)
    ];
    for (const [observed, weights, threshold] of cases) {
      const r = srmTest(observed, weights, threshold);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(10);
    }
  });
});
