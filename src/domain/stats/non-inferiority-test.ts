import { normalQuantile, normalSf, studentTOneSidedCritical, studentTSf } from './distributions.js';
import { invalidAlpha, type NotComputable } from './effect-result.js';

/** Which way a metric is better: 'increase' (e.g. retention) or 'decrease' (e.g. crash rate). */
export type Direction = 'increase' | 'decrease';

/** A guardrail's effect estimate and the margin of deterioration the plan tolerates. */
export interface NonInferiorityInput {
  controlMean: number;
  /** treatment − control, absolute */
  estimate: number;
  standardError: number;
  /** tolerated deterioration relative to |controlMean|, e.g. 0.02 for 2% */
  margin: number;
  direction: Direction;
  alpha?: number;
  /** degrees of freedom for a Student t reference (e.g. a Welch or CUPED df); normal when omitted */
  df?: number;
}

/** Outcome of a one-sided non-inferiority test; bound is the one-sided (1 − α) confidence bound. */
export type NonInferiorityResult =
  | {
      ok: true;
      nonInferior: boolean;
      pValue: number;
      bound: number;
      threshold: number;
      statistic: number;
      direction: Direction;
      margin: number;
      alpha: number;
    }
  | NotComputable;

/**
 * One-sided test that the treatment is not worse than control by more than margin·|controlMean|.
 * H0: the effect is at or beyond the threshold in the bad direction. nonInferior ⇔ p ≤ α ⇔ the
 * one-sided bound lies on the good side of the threshold or on it.
 */
export function nonInferiorityTest(input: NonInferiorityInput): NonInferiorityResult {
  const { controlMean, estimate, standardError, margin, direction, alpha = 0.05, df } = input;
  const problem = invalidInput(input, alpha);
  if (problem !== null) return { ok: false, reason: problem };

  const allowed = margin * Math.abs(controlMean);
  // Orient so that positive is good: the statistic measures how far the estimate is on the good side.
  const sign = direction === 'increase' ? 1 : -1;
  const threshold = -sign * allowed + 0; // + 0 turns the −0 of a zero margin into 0
  const statistic = (sign * (estimate - threshold)) / standardError;
  const pValue = df === undefined ? normalSf(statistic) : studentTSf(statistic, df);
  const critical = df === undefined ? -normalQuantile(alpha) : studentTOneSidedCritical(alpha, df);
  const bound = estimate - sign * critical * standardError;
  return { ok: true, nonInferior: pValue <= alpha, pValue, bound, threshold, statistic, direction, margin, alpha };
}

function invalidInput(input: NonInferiorityInput, alpha: number): string | null {
  const badAlpha = invalidAlpha(alpha);
  if (badAlpha !== null) return badAlpha;
  if (input.direction !== 'increase' && input.direction !== 'decrease') {
    return `direction must be 'increase' or 'decrease', got ${String(input.direction)}`;
  }
  if (!Number.isFinite(input.estimate) || !Number.isFinite(input.controlMean)) return 'estimate and controlMean must be finite numbers';
  if (!(input.standardError > 0) || !Number.isFinite(input.standardError)) {
    return `standardError must be a finite positive number, got ${input.standardError}; the effect itself was not computable`;
  }
  if (!(input.margin >= 0) || !Number.isFinite(input.margin)) return `margin must be a finite number ≥ 0 (relative, e.g. 0.02), got ${input.margin}`;
  if (input.margin > 0 && input.controlMean === 0) {
    return 'a relative margin needs a non-zero control mean (margin × |controlMean| would be 0); state the margin on another metric or wait for data';
  }
  if (input.df !== undefined && !(input.df > 0)) return `df must be positive when given, got ${input.df}`;
  return null;
}
