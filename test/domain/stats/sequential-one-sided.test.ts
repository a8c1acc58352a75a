import { describe, expect, it } from 'vitest';
import { confidenceSequence, confidenceSequenceRho, oneSidedConfidenceSequence, oneSidedConfidenceSequenceRho } from '../../../src/domain/stats/index.js';
import { expectAbsClose, expectOk, expectRelClose } from './expect.js';

// gbstats, growthbook/growthbook packages/stats/tests/frequentist/test_tests.py,
// TestSequentialOneSidedGreaterTTest / TestSequentialOneSidedLesserTTest: SampleMeanStatistic(1396.87,
// 52377.9767, n=3000) vs (2422.7, 134698.29, n=3461), n = 6461, default tuning 5000, α = 0.05.
//   relative: estimate 0.5033610858562358, SE 0.3334122146400735 → greater ci (−0.42356454602790883, ∞),
//             lesser (−∞, 1.4302867177403806), pValue 0.4999 both (gbstats caps its bisection at 0.4999).
//   absolute: 0.23437666666666668 ± 0.12983081254184736 → greater (−0.12656844172804982, ∞), pValue
//             0.46316491943359384; lesser (−∞, 0.5953217750613832), pValue 0.4999.
// Recomputed with mpmath (40 digits) from eq. 134 of arXiv 2103.06476v7 (ρ at 2α): lower −0.42356454602790895,
// upper 1.4302867177403806; absolute −0.12656844172804981, 0.59532177506138317; closed-form p for the
// absolute 'greater' case 0.46304735779462618. gbstats' p is a bisection that stops once the bound is within
// 1e-6 of 0 and returns the next midpoint, so it is accurate only to the last step (here 1.2e-4).
const relative = { estimate: 0.5033610858562358, standardError: 0.3334122146400735, n: 6461, tuningN: 5000 };
const absolute = { estimate: 0.23437666666666668, standardError: 0.12983081254184736, n: 6461, tuningN: 5000 };

describe('oneSidedConfidenceSequence against gbstats', () => {
  it('relative effect: the published bounds (1e-12), p ≥ gbstats’ cap 0.4999', () => {
    const g = expectOk(oneSidedConfidenceSequence({ ...relative, side: 'greater' }));
    const l = expectOk(oneSidedConfidenceSequence({ ...relative, side: 'lesser' }));
    expectAbsClose(g.bound, -0.42356454602790883, 1e-12);
    expectAbsClose(l.bound, 1.4302867177403806, 1e-12);
    expect(g.pValue).toBeGreaterThanOrEqual(0.4999);
    expect(l.pValue).toBe(1); // the estimate is on the other side
    expect(g.significant || l.significant).toBe(false);
  });

  it('absolute effect: bounds (1e-12) and the p-value (mpmath 0.46304735779462618 at 1e-12; gbstats 0.463165 at 2e-4)', () => {
    const g = expectOk(oneSidedConfidenceSequence({ ...absolute, side: 'greater' }));
    const l = expectOk(oneSidedConfidenceSequence({ ...absolute, side: 'lesser' }));
    expectAbsClose(g.bound, -0.12656844172804982, 1e-12);
    expectAbsClose(l.bound, 0.5953217750613832, 1e-12);
    expectRelClose(g.pValue, 0.46304735779462618, 1e-12);
    expectAbsClose(g.pValue, 0.46316491943359384, 2e-4);
    expect(l.pValue).toBe(1);
  });
});

describe('oneSidedConfidenceSequence formula', () => {
  it('ρ is the two-sided ρ at 2α', () => {
    expect(oneSidedConfidenceSequenceRho(0.05, 5000)).toBe(confidenceSequenceRho(0.1, 5000));
  });

  it('p is exactly the α at which the bound touches 0, and p ≤ α ⇔ significant', () => {
    const g = expectOk(oneSidedConfidenceSequence({ ...absolute, side: 'greater' }));
    // The bound at level p (ρ held at the α = 0.05 value, as gbstats does) is 0: recompute it by hand.
    const rho = oneSidedConfidenceSequenceRho(0.05, 5000);
    const x = absolute.n * rho * rho;
    const hw = absolute.standardError * Math.sqrt(((2 * (x + 1)) / x) * Math.log1p(Math.sqrt(x + 1) / (2 * g.pValue)));
    expectAbsClose(absolute.estimate - hw, 0, 1e-14);
    for (const scale of [0.5, 1, 2, 3, 4]) {
      const r = expectOk(oneSidedConfidenceSequence({ ...absolute, estimate: absolute.estimate * scale, side: 'greater' }));
      expect(r.pValue <= 0.05).toBe(r.significant);
    }
  });

  it('is tighter than the two-sided sequence on its side, and a huge z keeps a tiny p instead of 0', () => {
    const one = expectOk(oneSidedConfidenceSequence({ ...absolute, side: 'greater' }));
    const two = expectOk(confidenceSequence(absolute));
    expect(one.halfWidth).toBeLessThan(two.halfWidth);
    const far = expectOk(oneSidedConfidenceSequence({ ...absolute, estimate: 30 * absolute.standardError, side: 'greater' }));
    expect(far.pValue).toBeGreaterThan(0);
    expect(far.pValue).toBeLessThan(1e-150);
  });

  it('refuses α ≥ 0.5 and a bad side', () => {
    expect(oneSidedConfidenceSequence({ ...absolute, alpha: 0.5, side: 'greater' }).ok).toBe(false);
    expect(oneSidedConfidenceSequence({ ...absolute, side: 'both' as 'greater' }).ok).toBe(false);
  });
});
