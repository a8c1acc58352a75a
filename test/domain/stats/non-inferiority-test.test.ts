import { describe, expect, it } from 'vitest';
import { nonInferiorityTest, welchTest } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

describe('nonInferiorityTest against gbstats’ one-sided Welch tests (margin 0)', () => {
  // growthbook/growthbook packages/stats/tests/frequentist/test_tests.py, TestOneSidedGreaterTTest /
  // TestOneSidedLesserTTest, test_one_sided_ttest_absolute: stat_a (sum 1396.87, sum_squares 52377.9767,
  // n 3000), stat_b (2422.7, 134698.29, 3461); estimate 0.23437666666666668, stddev 0.12983081254184736.
  // With margin 0 the threshold is 0, so 'increase' is gbstats' "treatment greater" test and 'decrease' its
  // "treatment lesser" test, with the Welch df. Tolerance 1e-9 absolute (scipy vs @stdlib t tails).
  const welch = expectOk(welchTest({ n: 3000, sum: 1396.87, sumSquares: 52377.9767 }, { n: 3461, sum: 2422.7, sumSquares: 134698.29 }));
  const base = { controlMean: welch.controlMean, estimate: welch.absolute.estimate, standardError: welch.standardError, margin: 0, df: welch.df };

  it("'increase': p 0.03554272489873023, lower bound 0.020791480063255735", () => {
    const r = expectOk(nonInferiorityTest({ ...base, direction: 'increase' }));
    expectAbsClose(r.pValue, 0.03554272489873023, 1e-9);
    expectAbsClose(r.bound, 0.020791480063255735, 1e-9);
    expect(r.threshold).toBe(0);
    expect(r.nonInferior).toBe(true);
  });

  it("'decrease': p 0.9644572751012698, upper bound 0.44796185327007765", () => {
    const r = expectOk(nonInferiorityTest({ ...base, direction: 'decrease' }));
    expectAbsClose(r.pValue, 0.9644572751012698, 1e-9);
    expectAbsClose(r.bound, 0.44796185327007765, 1e-9);
    expect(r.nonInferior).toBe(false);
  });
});

describe('nonInferiorityTest with a relative margin (normal reference, closed forms)', () => {
  // controlMean −100 (|·| is used), margin 2% ⇒ allowed deterioration 2. With se = 1 and the estimate
  // 1.959963984540054 (published z_0.975) on the good side of the threshold, p = 0.025 exactly and the
  // one-sided 97.5% bound sits on the threshold. Tolerance 1e-12 absolute.
  const z975 = 1.959963984540054;

  it("'increase' (higher is better): threshold −2, H0 Δ ≤ −2", () => {
    const r = expectOk(nonInferiorityTest({ controlMean: -100, estimate: -2 + z975, standardError: 1, margin: 0.02, direction: 'increase', alpha: 0.025 }));
    expect(r.threshold).toBe(-2);
    expectAbsClose(r.statistic, z975, 1e-12);
    expectAbsClose(r.pValue, 0.025, 1e-12);
    expectAbsClose(r.bound, -2, 1e-12);
  });

  it("'decrease' (lower is better): threshold +2, H0 Δ ≥ 2, mirrored", () => {
    const r = expectOk(nonInferiorityTest({ controlMean: 100, estimate: 2 - z975, standardError: 1, margin: 0.02, direction: 'decrease', alpha: 0.025 }));
    expect(r.threshold).toBe(2);
    expectAbsClose(r.pValue, 0.025, 1e-12);
    expectAbsClose(r.bound, 2, 1e-12);
  });

  it('declares non-inferiority exactly when the bound clears the threshold (p < α)', () => {
    const ok = expectOk(nonInferiorityTest({ controlMean: 50, estimate: -0.2, standardError: 0.3, margin: 0.02, direction: 'increase' }));
    // threshold −1, z = 0.8/0.3 = 2.6667, p = Φ(−2.6667) = 0.0038303805675897 (Python 0.5·erfc(2.6667/√2)).
    expectRelClose(ok.pValue, 0.0038303805675897, 1e-9);
    expect(ok.nonInferior).toBe(true);
    expect(ok.bound).toBeGreaterThan(ok.threshold);
    const bad = expectOk(nonInferiorityTest({ controlMean: 50, estimate: -0.8, standardError: 0.3, margin: 0.02, direction: 'increase' }));
    expect(bad.nonInferior).toBe(false);
    expect(bad.bound).toBeLessThan(bad.threshold);
  });
});

describe('nonInferiorityTest refusals', () => {
  const ok = { controlMean: 10, estimate: 0.1, standardError: 0.05, margin: 0.02, direction: 'increase' as const };
  it.each([
    ['a zero standard error', { ...ok, standardError: 0 }],
    ['a negative margin', { ...ok, margin: -0.01 }],
    ['a relative margin on a zero control mean', { ...ok, controlMean: 0 }],
    ['a NaN estimate', { ...ok, estimate: Number.NaN }],
    ['alpha = 1', { ...ok, alpha: 1 }],
    ['df = 0', { ...ok, df: 0 }],
    ['an unknown direction', { ...ok, direction: 'up' as never }],
  ])('refuses %s with a reason', (_name, input) => {
    const r = nonInferiorityTest(input);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toMatch(/NaN|nonInferior/);
  });
});
