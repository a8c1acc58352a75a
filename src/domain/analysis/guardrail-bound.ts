import { nonInferiorityTest, oneSidedConfidenceSequence, type Interval } from '../stats/index.js';
import type { Metric } from '../schemas.js';
import { absoluteMargin } from '../sizing.js';
import type { GuardrailEntry, NiBoundMethod, VariantResult } from './analysis-types.js';
import type { Method } from './compare-arms.js';
import type { SequentialMethod } from './sequential-options.js';

/**
 * A non-inferiority guardrail's verdict: the bad-side bound of the method in force against the
 * margin (relative to the control mean, or absolute), and which bound it was.
 */
export function nonInferior(
  cmp: { test: { controlMean: number; absolute: Interval; standardError: number }; absolute: Interval },
  m: Metric,
  g: GuardrailEntry,
  alpha: number,
  method: Method,
  sequence: { n: number; tuningN: number; sequentialMethod: SequentialMethod },
): NonNullable<VariantResult['nonInferiority']> {
  // A relative margin needs a non-zero reference: with no events yet in control (rare metrics such as
  // crash rate), fall back to the catalog baseline rather than a threshold of 0 nothing can meet.
  const reference = cmp.test.controlMean !== 0 ? Math.abs(cmp.test.controlMean) : Math.abs(m.baselineMean);
  const threshold = absoluteMargin({ margin: g.margin, marginType: g.marginType ?? 'relative' }, reference);
  const judge = (bound: number, boundMethod: NiBoundMethod) => ({
    nonInferior: m.direction === 'increase' ? bound >= -threshold : bound <= threshold,
    bound,
    threshold,
    boundMethod,
  });
  if (method === 'always-valid' && sequence.sequentialMethod === 'confidence_sequence') {
    // Non-inferiority is one-sided at α: the one-sided sequence's bound on the bad side, tuned at the same
    // n as the two-sided one (which spends α/2 per side and stays the circuit breaker's harm test).
    const one = oneSidedConfidenceSequence({
      estimate: cmp.test.absolute.estimate,
      standardError: cmp.test.standardError,
      n: sequence.n,
      tuningN: Math.max(sequence.tuningN, 2),
      alpha,
      side: m.direction === 'increase' ? 'greater' : 'lesser',
    });
    if (one.ok) return judge(one.bound, 'one-sided confidence sequence');
  }
  if (method !== 'fixed-horizon') {
    // Read off the interval in force (two-sided sequence, mSPRT or repeated interval): valid, conservative.
    const bound = m.direction === 'increase' ? cmp.absolute.lower : cmp.absolute.upper;
    const boundMethod =
      method === 'group-sequential'
        ? 'repeated confidence interval'
        : sequence.sequentialMethod === 'msprt'
          ? 'mSPRT interval'
          : 'two-sided confidence sequence';
    return judge(bound, boundMethod);
  }
  // nonInferiorityTest takes the margin relative to the reference: an absolute one is restated so.
  const r = nonInferiorityTest({
    controlMean: reference,
    estimate: cmp.test.absolute.estimate,
    standardError: cmp.test.standardError,
    margin: threshold / reference,
    direction: m.direction,
    alpha,
  });
  const boundMethod = 'one-sided test';
  return r.ok
    ? { nonInferior: r.nonInferior, bound: r.bound, threshold: r.threshold, boundMethod }
    : { nonInferior: false, bound: NaN, threshold, boundMethod };
}
