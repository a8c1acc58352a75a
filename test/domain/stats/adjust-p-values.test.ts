import { describe, expect, it } from 'vitest';
import { adjustPValues } from '../../../src/domain/stats/index.js';

// R package multtest (mt.rawp2adjp) output, as pinned in statsmodels/statsmodels
// statsmodels/stats/tests/test_multi.py (pval0 / res_multtest1 and res_multtest3; columns rawp,
// Bonferroni, Holm, …, BH). Rows there are sorted by raw p; here the raw p-values keep statsmodels'
// input order and the expected values are mapped back to it. Tolerance 1e-15 absolute (as statsmodels).
const pval0 = [
  0.838541367553, 0.642193923795, 0.680845947633, 0.967833824309, 0.71626938238, 0.177096952723, 5.23656777208e-5, 0.0202732688798, 0.00028140506198,
  0.0149877310796,
];
// multtest columns for the sorted p-values 5.2e-5, 2.8e-4, 0.0150, 0.0203, 0.177, 0.642, 0.681, 0.716, 0.839, 0.968:
const sortedBonferroni = [5.2365677720800005e-4, 2.8140506197999998e-3, 1.49877310796e-1, 2.0273268879799999e-1, 1, 1, 1, 1, 1, 1];
const sortedHolm = [5.2365677720800005e-4, 2.5326455578199999e-3, 1.1990184863680001e-1, 1.4191288215860001e-1, 1, 1, 1, 1, 1, 1];
const sortedBh = [
  5.2365677720800005e-4, 1.4070253098999999e-3, 4.995910359866667e-2, 5.0683172199499998e-2, 3.5419390544599999e-1, 8.9533672797500008e-1,
  8.9533672797500008e-1, 8.9533672797500008e-1, 9.3171263061444454e-1, 9.67833824309e-1,
];

function inInputOrder(raw: number[], sortedAdjusted: number[]): number[] {
  const order = raw.map((_, i) => i).sort((a, b) => raw[a] - raw[b]);
  const out = new Array<number>(raw.length);
  order.forEach((idx, rank) => (out[idx] = sortedAdjusted[rank]));
  return out;
}

function expectAllClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]), `index ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance));
}

describe('adjustPValues against R multtest (via statsmodels’ test suite)', () => {
  it.each([
    ['bonferroni', sortedBonferroni],
    ['holm', sortedHolm],
    ['bh', sortedBh],
  ] as const)('%s on pval0 (unsorted input, 1e-15 absolute)', (method, sorted) => {
    expectAllClose(adjustPValues(pval0, method), inInputOrder(pval0, sorted), 1e-15);
  });

  it('matches res_multtest3 (0.001…0.005, 0.05…0.09): Holm (column 2) and BH (column 6)', () => {
    const raw = [0.001, 0.002, 0.003, 0.004, 0.005, 0.05, 0.06, 0.07, 0.08, 0.09];
    expectAllClose(adjustPValues(raw, 'holm'), [0.01, 0.018, 0.024, 0.028, 0.03, 0.25, 0.25, 0.25, 0.25, 0.25], 1e-15);
    expectAllClose(adjustPValues(raw, 'bh'), [0.01, 0.01, 0.01, 0.01, 0.01, 0.08333333333333334, 0.0857142857142857, 0.0875, 0.0888888888888889, 0.09], 1e-15);
  });
});

describe('adjustPValues on Benjamini & Hochberg (1995), section 4.2 (15 p-values)', () => {
  // The paper's example: at q = 0.05 BH rejects the 4 smallest, Bonferroni (and Holm) only 3.
  // Adjusted values derived by hand with exact fractions (Python): BH p_(i)·15/i with a running minimum
  // from the top; Holm p_(i)·(16 − i) with a running maximum from the bottom.
  const raw = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1];

  it('BH: 4 rejections at 0.05, adjusted values to 1e-15', () => {
    const adjusted = adjustPValues(raw, 'bh');
    expectAllClose(
      adjusted,
      [
        0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714285714286, 0.06385714285714286, 0.0645, 0.0765, 0.486, 0.5811818181818181, 0.714875,
        0.7532307692307693, 0.8132142857142857, 1,
      ],
      1e-15,
    );
    expect(adjusted.filter((p) => p <= 0.05)).toHaveLength(4);
  });

  it('Holm and Bonferroni: 3 rejections at 0.05', () => {
    const holm = adjustPValues(raw, 'holm');
    expectAllClose(holm.slice(0, 9), [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213], 1e-15);
    expect(holm.filter((p) => p <= 0.05)).toHaveLength(3);
    expect(adjustPValues(raw, 'bonferroni').filter((p) => p <= 0.05)).toHaveLength(3);
  });
});

describe('adjustPValues properties', () => {
  const raw = [0.04, 0.001, 0.04, 0.3, 0.02, 0.9];

  it.each(['bonferroni', 'holm', 'bh'] as const)('%s: never below the raw p, capped at 1, monotone in the raw p', (method) => {
    const adjusted = adjustPValues(raw, method);
    adjusted.forEach((p, i) => {
      expect(p).toBeGreaterThanOrEqual(raw[i]);
      expect(p).toBeLessThanOrEqual(1);
    });
    for (let i = 0; i < raw.length; i++) {
      for (let j = 0; j < raw.length; j++) {
        if (raw[i] <= raw[j]) expect(adjusted[i]).toBeLessThanOrEqual(adjusted[j]);
      }
    }
    expect(adjusted[0]).toBe(adjusted[2]); // ties stay tied
  });

  it('orders the methods: BH ≤ Holm ≤ Bonferroni; a single p-value is unchanged', () => {
    const bh = adjustPValues(raw, 'bh');
    const holm = adjustPValues(raw, 'holm');
    const bonf = adjustPValues(raw, 'bonferroni');
    raw.forEach((_, i) => {
      expect(bh[i]).toBeLessThanOrEqual(holm[i]);
      expect(holm[i]).toBeLessThanOrEqual(bonf[i]);
    });
    expect(adjustPValues([0.03], 'holm')).toEqual([0.03]);
    expect(adjustPValues([], 'bh')).toEqual([]);
  });

  it('throws RangeError for a p-value outside [0, 1] or an unknown method', () => {
    expect(() => adjustPValues([0.1, Number.NaN], 'bh')).toThrow(RangeError);
    expect(() => adjustPValues([1.2], 'holm')).toThrow(RangeError);
    expect(() => adjustPValues([0.1], 'hochberg' as never)).toThrow(RangeError);
  });
});
