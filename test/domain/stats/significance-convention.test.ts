import { describe, expect, it } from 'vitest';
import {
  confidenceSequence,
  cupedTest,
  groupSequentialTest,
  nonInferiorityTest,
  proportionTest,
  ratioTest,
  summarize,
  welchTest,
} from '../../../src/domain/stats/index.js';
import { expectOk } from './expect.js';

// Issue 10, defect 4: significance is p ≤ α (the level-α rule of Lehmann & Romano, Testing
// Statistical Hypotheses §3.3; statsmodels multipletests: `reject = pvals <= alphacBonf`). Each test
// is rerun with α set to the p-value it reported, so p = α exactly: that must be significant.
// The tie is chosen by construction, so there is no tolerance.
const control = [20.1, 18.4, 22.9, 19.7, 21.3, 17.8, 20.6];
const treatment = [21.9, 20.2, 23.8, 22.1, 19.9, 24.0, 21.5, 22.7];

describe('significance at p = α', () => {
  it('Welch', () => {
    const p = expectOk(welchTest(summarize(control), summarize(treatment))).pValue;
    expect(expectOk(welchTest(summarize(control), summarize(treatment), p)).significant).toBe(true);
  });

  it('proportions', () => {
    const c = { n: 1000, successes: 100 };
    const t = { n: 1000, successes: 125 };
    const p = expectOk(proportionTest(c, t)).pValue;
    expect(expectOk(proportionTest(c, t, p)).significant).toBe(true);
  });

  it('ratio', () => {
    const c = { n: 6, numSum: 11, numSumSquares: 27, denSum: 30, denSumSquares: 160, crossSum: 62 };
    const t = { n: 6, numSum: 16, numSumSquares: 48, denSum: 31, denSumSquares: 169, crossSum: 87 };
    const p = expectOk(ratioTest(c, t)).pValue;
    expect(expectOk(ratioTest(c, t, p)).significant).toBe(true);
  });

  it('CUPED', () => {
    const c = { n: 4, sum: 10, sumSquares: 30, covSum: 6, covSumSquares: 14, crossSum: 18 };
    const t = { n: 4, sum: 16, sumSquares: 70, covSum: 7, covSumSquares: 15, crossSum: 31 };
    const p = expectOk(cupedTest(c, t)).pValue;
    expect(expectOk(cupedTest(c, t, p)).significant).toBe(true);
  });

  it('non-inferiority', () => {
    const input = { controlMean: 10, estimate: -0.05, standardError: 0.1, margin: 0.03, direction: 'increase' as const };
    const p = expectOk(nonInferiorityTest(input)).pValue;
    expect(expectOk(nonInferiorityTest({ ...input, alpha: p })).nonInferior).toBe(true);
  });

  it('confidence sequence: a bound exactly at 0 is significant', () => {
    const params = { standardError: 1, n: 500, tuningN: 1000, alpha: 0.05 };
    const h = expectOk(confidenceSequence({ ...params, estimate: 1 })).halfWidth;
    const atZero = expectOk(confidenceSequence({ ...params, estimate: h }));
    expect(atZero.lower).toBe(0);
    expect(atZero.significant).toBe(true);
    expect(expectOk(confidenceSequence({ ...params, estimate: -h })).significant).toBe(true);
  });

  it('group-sequential: |z| equal to the boundary rejects', () => {
    const look = { lookIndex: 1, informationFractions: [0.5, 1] };
    const b = expectOk(groupSequentialTest({ ...look, z: 0 })).boundary;
    expect(expectOk(groupSequentialTest({ ...look, z: b })).decision).toBe('reject');
  });
});
