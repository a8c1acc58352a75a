import { normalCdf, normalPdf, normalQuantile } from './distributions.js';
import type { NotComputable } from './effect-result.js';
import type { Direction } from './non-inferiority-test.js';

/** The scale an effect is stated on: treatment − control (metric units) or (treatment − control)/|control|. */
export type EffectScale = 'absolute' | 'relative';

/**
 * A normal prior on the effect (treatment − control), as gbstats' GaussianPrior: `proper: false` is the
 * flat (improper) prior and ignores mean and variance. `scale` says which effect the numbers describe;
 * a prior on the other scale than the analysis is rescaled with the control mean.
 */
export interface NormalPrior {
  mean: number;
  variance: number;
  scale: EffectScale;
  /** Default true. */
  proper?: boolean;
}

/** An effect estimate (treatment − control) with its standard error, and which way is better. */
export interface BayesianInput {
  estimate: number;
  standardError: number;
  direction: Direction;
  /** Scale of estimate and standardError. Default 'absolute'. */
  scale?: EffectScale;
  /** Control mean: rescales a prior stated on the other scale (Δ = relative·|m_C|). */
  controlMean?: number;
  /** Omitted: flat prior (the posterior is N(estimate, se²)). */
  prior?: NormalPrior;
  /** Credible interval at 1 − α, equal-tailed. Default 0.05. */
  alpha?: number;
  /** Units per arm: an arm with none gives { ok: false, reason: 'no data' }. */
  units?: { control: number; treatment: number };
}

/** Posterior of the effect, chance that treatment beats control and the expected loss of each choice (units of `scale`). */
export type BayesianResult =
  | {
      ok: true;
      scale: EffectScale;
      /** The prior as applied, on the analysis scale; null when flat. */
      prior: { mean: number; variance: number } | null;
      posteriorMean: number;
      posteriorSd: number;
      /** Equal-tailed (1 − α) credible interval of the effect. */
      credibleInterval: { lower: number; upper: number };
      alpha: number;
      chanceToBeatControl: number;
      /** E[max(0, −δ)]: how much is lost on average by shipping treatment if it is in fact worse */
      expectedLoss: number;
      /** E[max(0, δ)]: how much is lost on average by keeping control if treatment is in fact better */
      expectedLossOfControl: number;
    }
  | NotComputable;

/**
 * Gaussian model, conjugate normal update: data N(estimate, se²) and prior N(μ₀, v₀) give precision
 * 1/se² + 1/v₀ and mean (estimate/se² + μ₀/v₀)/precision (gbstats' EffectBayesianABTest; a flat prior
 * leaves N(estimate, se²)). With δ oriented so that positive is better: P(beat) = Φ(m/s) and the losses
 * E[max(0, ∓δ)] from `positivePartMean`, stable at any m/s.
 */
export function bayesianComparison(input: BayesianInput): BayesianResult {
  const { estimate, standardError: se, direction } = input;
  const scale = input.scale ?? 'absolute';
  const alpha = input.alpha ?? 0.05;
  if (input.units && (!(input.units.control > 0) || !(input.units.treatment > 0))) return { ok: false, reason: 'no data' };
  if (direction !== 'increase' && direction !== 'decrease') {
    return { ok: false, reason: `direction must be 'increase' or 'decrease', got ${String(direction)}` };
  }
  if (!(alpha > 0 && alpha < 1)) return { ok: false, reason: `alpha must be between 0 and 1 (exclusive), got ${alpha}` };
  if (!Number.isFinite(estimate)) return { ok: false, reason: 'estimate must be a finite number' };
  if (!(se > 0) || !Number.isFinite(se)) {
    return { ok: false, reason: `standardError must be a finite positive number, got ${se}; the effect itself was not computable` };
  }
  const prior = rescalePrior(input.prior, scale, input.controlMean);
  if (prior !== null && 'reason' in prior) return { ok: false, reason: prior.reason };
  const dataPrecision = 1 / (se * se);
  const precision = dataPrecision + (prior ? 1 / prior.variance : 0);
  const mean = prior ? (estimate * dataPrecision + prior.mean / prior.variance) / precision : estimate;
  const sd = Math.sqrt(1 / precision);
  const half = -normalQuantile(alpha / 2) * sd;
  const m = direction === 'increase' ? mean : -mean;
  return {
    ok: true,
    scale,
    prior,
    posteriorMean: mean,
    posteriorSd: sd,
    credibleInterval: { lower: mean - half, upper: mean + half },
    alpha,
    chanceToBeatControl: normalCdf(m / sd),
    expectedLoss: positivePartMean(-m, sd),
    expectedLossOfControl: positivePartMean(m, sd),
  };
}

/**
 * The prior on the analysis scale. Relative → absolute: mean·|m_C|, variance·m_C²; absolute → relative:
 * mean/|m_C|, variance/m_C² (the relative effect is Δ/|m_C|). Null for a flat prior.
 */
function rescalePrior(
  prior: NormalPrior | undefined,
  scale: EffectScale,
  controlMean: number | undefined,
): { mean: number; variance: number } | { reason: string } | null {
  if (!prior || prior.proper === false) return null;
  if (!Number.isFinite(prior.mean) || !(prior.variance > 0) || !Number.isFinite(prior.variance)) {
    return { reason: `the prior needs a finite mean and a finite positive variance, got mean ${prior.mean}, variance ${prior.variance}` };
  }
  if (prior.scale === scale) return { mean: prior.mean, variance: prior.variance };
  if (controlMean === undefined || !Number.isFinite(controlMean) || controlMean === 0) {
    return {
      reason: `a ${prior.scale} prior on a ${scale} effect is rescaled by the control mean, which is ${controlMean ?? 'missing'}; state the prior on the ${scale} scale`,
    };
  }
  const c = Math.abs(controlMean);
  return prior.scale === 'relative' ? { mean: prior.mean * c, variance: prior.variance * c * c } : { mean: prior.mean / c, variance: prior.variance / (c * c) };
}

/**
 * E[max(0, X)] for X ~ N(m, s²), i.e. s·g(m/s) with g(t) = φ(t) + tΦ(t), without cancellation. For t ≥ 0
 * g(t) = t + g(−t) (two positive terms). For t = −u < 0, φ(u) − uΦ(−u) cancels as u grows (at u = 10,
 * 12 digits), so from u ≥ 2 it is Φ(−u)·K(u) with K(u) = φ(u)/Φ(−u) − u = 1/(u + 2/(u + 3/(u + …))),
 * Laplace's continued fraction for the Mills ratio shifted by one term, summed backwards from depth 100
 * (relative error < 1e-15 from u = 2 on). It underflows to 0 only with Φ(−u), past u ≈ 38.
 */
export function positivePartMean(m: number, s: number): number {
  const t = m / s;
  if (t >= 0) return m + s * negativeSide(t);
  return s * negativeSide(-t);
}

/** g(−u) for u ≥ 0. */
function negativeSide(u: number): number {
  if (u < 2) return Math.max(0, normalPdf(u) - u * normalCdf(-u));
  if (!Number.isFinite(u)) return 0;
  let t = u;
  for (let k = 100; k >= 2; k--) t = u + k / t;
  return normalCdf(-u) / t;
}
