import { describe, expect, it } from 'vitest';
import { type ArmStats, compareArms, type InferenceSettings } from '../../../src/domain/analysis/compare-arms.js';
import { cupedTest, summarize } from '../../../src/domain/stats/index.js';
import { expectOk } from '../stats/expect.js';

// compareArms' CUPED branch reads the pipeline's shifted sums (issue 10, defect 2); the accuracy of
// cupedTest on them against a two-pass computation is checked in test/domain/stats/cuped-test-shifted.
const OFFSET = 3e6;
const fixed: InferenceSettings = { method: 'fixed-horizon', alpha: 0.05, cuped: true, plannedTotal: 24, observedTotal: 24 };

/** ArmStats as the pipeline keeps them: raw sums and, beside them, sums of x − r and y − s. */
function stats(d: number[], e: number[], r: number, s: number): ArmStats {
  const x = d.map((v) => r + v);
  const y = e.map((v) => s + v);
  const sx = summarize(x);
  const sy = summarize(y);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return {
    n: d.length,
    sumX: sx.sum,
    sumX2: sx.sumSquares,
    sumY: sy.sum,
    sumY2: sy.sumSquares,
    sumXY: summarize(x.map((v, i) => v * y[i])).sum,
    shiftX: r,
    shiftY: s,
    sumDX: sum(d),
    sumDX2: sum(d.map((v) => v * v)),
    sumDY: sum(e),
    sumDY2: sum(e.map((v) => v * v)),
    sumDXDY: sum(d.map((v, i) => v * e[i])),
  };
}

const dc = [0.25, -1.5, 0.75, 1.125, -0.375, 0.5, -0.875, 1.25, -0.625, 0.0625, -1.0625, 0.5];
const ec = [0.5, -1.25, 0.5, 1.0, -0.5, 0.25, -0.75, 1.5, -0.5, 0.25, -1.0, 0.75];
const dt = [0.75, -1.0, 1.25, 1.5, 0.125, 0.875, -0.5, 1.75, -0.25, 0.5, -0.75, 1.0];
const et = [0.25, -1.5, 0.75, 1.25, -0.25, 0.5, -0.75, 1.25, -0.75, 0.5, -1.25, 0.5];

describe('compareArms: CUPED on the shifted sums', () => {
  it('passes the shifted sums and shifts to cupedTest (not the raw sums)', () => {
    const c = stats(dc, ec, OFFSET, OFFSET + 7);
    const t = stats(dt, et, OFFSET, OFFSET + 7);
    const r = expectOk(compareArms({ kind: 'mean' }, c, t, fixed));
    expect(r.test.method).toBe('cuped');
    const cov = (d: number[], e: number[]) => {
      const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
      const [x, y] = [summarize(d), summarize(e)];
      return { n: d.length, sum: x.sum, sumSquares: x.sumSquares, covSum: y.sum, covSumSquares: y.sumSquares, crossSum: sum(d.map((v, i) => v * e[i])) };
    };
    expect(r.test).toEqual(cupedTest({ ...cov(dc, ec), shift: OFFSET, covShift: OFFSET + 7 }, { ...cov(dt, et), shift: OFFSET, covShift: OFFSET + 7 }));
    // The raw-sum reading of the same units differs beyond rounding (Σx² ≈ 10¹⁴ against a centred ~10).
    const rawOnly = (a: ArmStats): ArmStats => ({ n: a.n, sumX: a.sumX, sumX2: a.sumX2, sumY: a.sumY, sumY2: a.sumY2, sumXY: a.sumXY });
    const rawTest = expectOk(compareArms({ kind: 'mean' }, rawOnly(c), rawOnly(t), fixed));
    expect(rawTest.test.method).toBe('cuped');
    expect(Math.abs(rawTest.test.standardError / r.test.standardError - 1)).toBeGreaterThan(1e-6);
  });

  it('keeps the raw 0/1 sums for a binary metric (Bernoulli moments), whatever shifts the pipeline kept', () => {
    const bin = (x: number[], y: number[]): ArmStats => {
      const sx = x.reduce((a, b) => a + b, 0);
      const sy = y.reduce((a, b) => a + b, 0);
      const sxy = x.reduce((a, v, i) => a + v * y[i], 0);
      const [r, s] = [0.3, 0.2];
      return {
        ...{ n: x.length, sumX: sx, sumX2: sx, sumY: sy, sumY2: sy, sumXY: sxy },
        ...{ shiftX: r, shiftY: s, sumDX: sx - x.length * r, sumDX2: sx - 2 * r * sx + x.length * r * r },
        ...{ sumDY: sy - y.length * s, sumDY2: sy - 2 * s * sy + y.length * s * s, sumDXDY: sxy - s * sx - r * sy + x.length * r * s },
      };
    };
    const c = bin([1, 0, 0, 1, 0, 1, 0, 0, 1, 0], [1, 0, 0, 1, 0, 0, 0, 0, 1, 1]);
    const t = bin([1, 1, 0, 1, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 0, 0, 1, 0, 1, 0]);
    const r = expectOk(compareArms({ kind: 'binary' }, c, t, fixed));
    expect(r.test.method).toBe('cuped');
    const raw = (a: ArmStats) => ({ n: a.n, sum: a.sumX, sumSquares: a.sumX2, covSum: a.sumY, covSumSquares: a.sumY2, crossSum: a.sumXY });
    expect(r.test).toEqual(cupedTest(raw(c), raw(t), 0.05, 'bernoulli'));
  });
});
