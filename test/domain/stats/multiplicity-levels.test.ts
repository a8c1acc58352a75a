import { describe, expect, it } from 'vitest';
import { adjustPValues, multiplicityLevels, type PValueAdjustment } from '../../../src/domain/stats/index.js';

// A member whose interval at `level` excludes 0 exactly when p ≤ level: any test whose p-value and interval
// come from one statistic (z, Welch t, the always-valid sequence with ρ held).
const member = (p: number) => ({ pValue: p, excludesZeroAt: (level: number) => p <= level });

describe('multiplicityLevels (issue 10): interval levels consistent with the adjusted p-values', () => {
  // p = [0.01, 0.04, 0.03, 0.005], α = 0.05, m = 4. By hand: R p.adjust gives Bonferroni [0.04, 0.16, 0.12, 0.02],
  // Holm [0.03, 0.06, 0.06, 0.02], BH [0.02, 0.04, 0.04, 0.02].
  const p = [0.01, 0.04, 0.03, 0.005];

  it('Bonferroni reads every interval at α/m', () => {
    const r = multiplicityLevels(p.map(member), 'bonferroni', 0.05);
    expect(r.map((x) => x.level)).toEqual([0.0125, 0.0125, 0.0125, 0.0125]);
    expect(r.map((x) => x.significant)).toEqual([true, false, false, true]);
  });

  it('Holm reads each rejected member at the step that rejected it, the rest at the step where it stopped', () => {
    // Ascending: 0.005 at 0.05/4 (rejected), 0.01 at 0.05/3 (rejected), 0.03 at 0.05/2 = 0.025 (stops), 0.04 at 0.025.
    const r = multiplicityLevels(p.map(member), 'holm', 0.05);
    expect(r[3].level).toBeCloseTo(0.0125, 15);
    expect(r[0].level).toBeCloseTo(0.05 / 3, 15);
    expect(r[2].level).toBeCloseTo(0.025, 15);
    expect(r[1].level).toBeCloseTo(0.025, 15);
    expect(r.map((x) => x.significant)).toEqual([true, false, false, true]);
  });

  it('BH reads every interval at k·α/m (Benjamini & Yekutieli 2005 FCR intervals), α/m when nothing is rejected', () => {
    expect(multiplicityLevels(p.map(member), 'bh', 0.05).map((x) => x.level)).toEqual([0.05, 0.05, 0.05, 0.05]);
    expect(multiplicityLevels([0.2, 0.5].map(member), 'bh', 0.05).map((x) => x.level)).toEqual([0.025, 0.025]);
  });

  it('agrees with adjustPValues (validated against R multtest) on 2000 seeded families: significant ⇔ adjusted p ≤ α', () => {
    let seed = 20240601;
    const rand = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (const method of ['bonferroni', 'holm', 'bh'] as PValueAdjustment[]) {
      for (let k = 0; k < 2000; k++) {
        const m = 1 + Math.floor(rand() * 6);
        const ps = Array.from({ length: m }, () => rand() ** 3 * 0.2);
        const levels = multiplicityLevels(ps.map(member), method, 0.05);
        const adjusted = adjustPValues(ps, method);
        expect(
          levels.map((l) => l.significant),
          `${method} ${ps.join(',')}`,
        ).toEqual(adjusted.map((a) => a <= 0.05));
      }
    }
  });
});
