import { normalCdf, normalPdf } from './distributions.js';
import type { NotComputable } from './effect-result.js';
import type { Direction } from './non-inferiority-test.js';

/** An effect estimate (treatment − control) with its standard error, and which way is better. */
export interface BayesianInput {
  estimate: number;
  standardError: number;
  direction: Direction;
}

/** Chance that treatment beats control and the expected loss of each choice, in the metric's units. */
export type BayesianResult =
  | {
      ok: true;
      chanceToBeatControl: number;
      /** E[max(0, −δ)]: how much is lost on average by shipping treatment if it is in fact worse */
      expectedLoss: number;
      /** E[max(0, δ)]: how much is lost on average by keeping control if treatment is in fact better */
      expectedLossOfControl: number;
    }
  | NotComputable;

/**
 * Gaussian model with a flat prior: the posterior of the effect is N(estimate, se²). With δ the effect
 * oriented so that positive is better and z = δ/σ: P(beat) = Φ(z); E[max(0, −δ)] = σφ(z) − δΦ(−z);
 * E[max(0, δ)] = σφ(z) + δΦ(z). (Their difference is δ, as it must be.)
 */
export function bayesianComparison(input: BayesianInput): BayesianResult {
  const { estimate, standardError: sigma, direction } = input;
  if (direction !== 'increase' && direction !== 'decrease') {
    return { ok: false, reason: `direction must be 'increase' or 'decrease', got ${String(direction)}` };
  }
  if (!Number.isFinite(estimate)) return { ok: false, reason: 'estimate must be a finite number' };
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    return { ok: false, reason: `standardError must be a finite positive number, got ${sigma}; the effect itself was not computable` };
  }
  const delta = direction === 'increase' ? estimate : -estimate;
  const z = delta / sigma;
  const density = sigma * normalPdf(z);
  return {
    ok: true,
    chanceToBeatControl: normalCdf(z),
    expectedLoss: Math.max(0, density - delta * normalCdf(-z)),
    expectedLossOfControl: Math.max(0, density + delta * normalCdf(z)),
  };
}
