import { describe, expect, it } from 'vitest';
import { type ArmStats, compareArms, type InferenceSettings, type RatioPreSums } from '../../../src/domain/analysis/compare-arms.js';
import { ratioCupedTest } from '../../../src/domain/stats/index.js';
import { expectOk } from '../stats/expect.js';

// Issue 10: compareArms checks a ratio metric's pre-exposure sums (ratioPre) for consistency before
// ratio CUPED reads them, as it checks the post sums: a negative variance beyond rounding or a
// covariance beyond Cauchy–Schwarz is `not_computable` with the reason, never a test result.

/** Units as (m, d, mPre, dPre): post numerator and denominator, pre-exposure numerator and denominator. */
type Unit = readonly [number, number, number, number];

// Fixed unit-level data: 30 units per arm, pre strongly tied to post; integer counts, so every sum is exact.
const units = (offset: number): Unit[] =>
  Array.from({ length: 30 }, (_, i) => {
    const dPre = 3 + (i % 5);
    const mPre = 1 + ((i * 7) % 4);
    const d = dPre + (i % 3);
    const m = mPre + ((i + offset) % 3);
    return [m, d, mPre, dPre] as const;
  });

function armOf(us: Unit[]): ArmStats {
  const sum = (f: (u: Unit) => number) => us.reduce((s, u) => s + f(u), 0);
  return {
    n: us.length,
    sumX: sum((u) => u[0]),
    sumX2: sum((u) => u[0] ** 2),
    sumY: sum((u) => u[1]),
    sumY2: sum((u) => u[1] ** 2),
    sumXY: sum((u) => u[0] * u[1]),
    ratioPre: {
      preNumSum: sum((u) => u[2]),
      preNumSumSquares: sum((u) => u[2] ** 2),
      preDenSum: sum((u) => u[3]),
      preDenSumSquares: sum((u) => u[3] ** 2),
      numPreNumSum: sum((u) => u[0] * u[2]),
      numPreDenSum: sum((u) => u[0] * u[3]),
      denPreNumSum: sum((u) => u[1] * u[2]),
      denPreDenSum: sum((u) => u[1] * u[3]),
      preNumPreDenSum: sum((u) => u[2] * u[3]),
    },
  };
}

const control = armOf(units(0));
const treatment = armOf(units(1));
const ratio = { kind: 'ratio' as const };
const settings: InferenceSettings[] = [
  { method: 'fixed-horizon', alpha: 0.05, cuped: true, plannedTotal: 60, observedTotal: 60 },
  { method: 'always-valid', alpha: 0.05, cuped: true, plannedTotal: 60, observedTotal: 60 },
  { method: 'group-sequential', alpha: 0.05, cuped: true, plannedTotal: 60, observedTotal: 60, looks: 5 },
];

const corrupt = (a: ArmStats, patch: Partial<RatioPreSums>): ArmStats => ({ ...a, ratioPre: { ...a.ratioPre!, ...patch } });
const pre = control.ratioPre!;

// Each corruption breaks one identity no real units satisfy; the reason names the arm and the sum.
const corruptions: [name: string, patch: Partial<RatioPreSums>, reason: RegExp][] = [
  ['Σ mPre² negative', { preNumSumSquares: -1 }, /pre-exposure numerator: Σx² = -1 is negative/],
  ['Σ mPre² below (Σ mPre)²/n', { preNumSumSquares: pre.preNumSum ** 2 / 30 - 5 }, /pre-exposure numerator: .*variance would be negative/],
  ['Σ dPre² below (Σ dPre)²/n', { preDenSumSquares: pre.preDenSum ** 2 / 30 - 5 }, /pre-exposure denominator: .*variance would be negative/],
  ['Σ m·mPre beyond Cauchy–Schwarz', { numPreNumSum: pre.numPreNumSum + 200 }, /Σ m·mPre: .*inconsistent/],
  ['Σ m·dPre beyond Cauchy–Schwarz', { numPreDenSum: pre.numPreDenSum - 300 }, /Σ m·dPre: .*inconsistent/],
  ['Σ d·mPre beyond Cauchy–Schwarz', { denPreNumSum: pre.denPreNumSum + 300 }, /Σ d·mPre: .*inconsistent/],
  ['Σ d·dPre beyond Cauchy–Schwarz', { denPreDenSum: pre.denPreDenSum * 2 }, /Σ d·dPre: .*inconsistent/],
  ['Σ mPre·dPre beyond Cauchy–Schwarz', { preNumPreDenSum: pre.preNumPreDenSum + 300 }, /Σ mPre·dPre: .*inconsistent/],
];

describe('compareArms checks a ratio metric’s pre-exposure sums before ratio CUPED', () => {
  it('analyses consistent sums by ratio CUPED under every method', () => {
    for (const s of settings) expect(expectOk(compareArms(ratio, control, treatment, s)).test.method).toBe('cuped');
  });

  it.each(corruptions)('%s: not computable with the reason, in either arm and under every method', (_name, patch, reason) => {
    for (const s of settings) {
      const c = compareArms(ratio, corrupt(control, patch), treatment, s);
      expect(c.ok).toBe(false);
      expect(!c.ok && c.reason).toMatch(/^control: /);
      expect(!c.ok && c.reason).toMatch(reason);
      expect(!c.ok && c.reason).toMatch(/rebuild the aggregates/);
      const t = compareArms(ratio, control, corrupt(treatment, patch), s);
      expect(!t.ok && t.reason).toMatch(/^treatment: /);
    }
  });

  it('checks them because ratioCupedTest alone would compute a result from them', () => {
    // The stats function takes sums as given (it zeroes a variance it reads as rounding); the check is compareArms'.
    const full = (a: ArmStats, p: RatioPreSums) => ({
      ...p,
      n: a.n,
      numSum: a.sumX,
      numSumSquares: a.sumX2,
      denSum: a.sumY,
      denSumSquares: a.sumY2,
      numDenSum: a.sumXY,
    });
    const bad = corrupt(control, { numPreNumSum: pre.numPreNumSum + 200 });
    expect(ratioCupedTest(full(bad, bad.ratioPre!), full(treatment, treatment.ratioPre!)).ok).toBe(true);
  });

  it('leaves pre sums alone when ratio CUPED does not read them (CUPED off, or one arm without them)', () => {
    const bad = corrupt(control, { preNumSumSquares: -1 });
    const off = expectOk(compareArms(ratio, bad, treatment, { ...settings[0], cuped: false }));
    expect(off.test.method).toBe('ratio');
    const { ratioPre: _dropped, ...noPre } = treatment;
    expect(expectOk(compareArms(ratio, bad, noPre, settings[0])).test.method).toBe('ratio');
  });

  it('accepts pre sums that are consistent up to rounding (a perfectly correlated pair, a constant component)', () => {
    // mPre = dPre for every unit: Cxy = √(Cxx·Cyy) exactly, on the Cauchy–Schwarz boundary.
    const tied = armOf(units(0).map(([m, d, , dPre]) => [m, d, dPre, dPre] as const));
    const constant = armOf(units(1).map(([m, d, mPre]) => [m, d, mPre, 4] as const));
    expect(compareArms(ratio, tied, constant, settings[0]).ok).toBe(true);
  });
});
