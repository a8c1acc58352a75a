// Mixture sequential probability ratio test (mSPRT) for a normal effect: Robbins (1970); Johari, Koomen,
// Pekelis & Walsh (2017, KDD, "Peeking at A/B tests"); Johari, Pekelis & Walsh (2022, Operations Research,
// "Always valid inference: continuous monitoring of A/B tests"). The estimate θ̂ of the effect θ is
// N(θ, V) with V = SE²; mixing the likelihood ratio over θ ~ N(0, τ²) gives, for H0: θ = 0,
//   Λ = sqrt(V/(V + τ²)) · exp( θ̂²τ² / (2V(V + τ²)) )
// (with V = 2σ²/n this is eq. (11) of Johari et al. 2017 for two arms of n units). Λ is a
// nonnegative martingale under H0, so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α: the running minimum of
// min(1, 1/Λ) is an always-valid p-value, and {θ : Λ(θ̂ − θ) < 1/α} an always-valid interval at each look.
//
// τ² is in the squared units of the estimate. With r = τ²/V the statistic depends on θ̂/SE and r only:
//   ln Λ = −½·ln(1 + r) + (z²/2)·r/(1 + r),   halfWidth = SE·sqrt(2(1 + r)/r · (½·ln(1 + r) − ln α)).
// This is the asymptotic confidence sequence of sequential.ts with x = nρ² replaced by r = τ²/V: the
// two coincide when τ² = ρ²·n·SE² (ρ² times the per-unit variance), so mSPRT is that sequence with the
// mixing fixed in effect units instead of in standard deviations per unit.

/** One look: the effect estimate and its standard error. */
export interface MsprtLook {
  estimate: number;
  standardError: number;
}

export interface MsprtParams extends MsprtLook {
  /** τ², the variance of the N(0, τ²) mixture over effects, in the estimate's squared units. */
  mixingVariance: number;
  /** Level of the interval and of `significant`. Default 0.05. */
  alpha?: number;
  /** The always-valid p-value at the previous look (running minimum so far); default 1 (the first look). */
  previousPValue?: number;
}

export type MsprtResult =
  | {
      ok: true;
      method: 'msprt';
      mixingVariance: number;
      /** ln Λ, the log e-value of this look (the mixture likelihood ratio against effect 0). */
      logEValue: number;
      /** min(1, 1/Λ) at this look alone. */
      pValueAtLook: number;
      /** Always-valid p-value: the running minimum of min(1, 1/Λ) over looks, this one included. */
      pValue: number;
      /** This look's always-valid (1 − α) interval. */
      lower: number;
      upper: number;
      halfWidth: number;
      alpha: number;
      /** pValue ≤ α: some look so far has excluded 0 (or touched it). */
      significant: boolean;
    }
  | { ok: false; reason: string };

/** The mSPRT at one look, carrying the running-minimum p-value forward from `previousPValue`. */
export function msprt(p: MsprtParams): MsprtResult {
  const alpha = p.alpha ?? 0.05;
  const previous = p.previousPValue ?? 1;
  if (!(alpha > 0 && alpha < 1)) return { ok: false, reason: `alpha must be between 0 and 1 (exclusive), got ${alpha}` };
  if (!(p.mixingVariance > 0) || !Number.isFinite(p.mixingVariance)) {
    return { ok: false, reason: `the mixing variance τ² must be a finite positive number, got ${p.mixingVariance}` };
  }
  if (!(previous >= 0 && previous <= 1)) return { ok: false, reason: `previousPValue must be in [0, 1], got ${previous}` };
  if (!Number.isFinite(p.estimate)) return { ok: false, reason: 'the estimate is not a finite number; check the arm summaries' };
  if (!(p.standardError > 0) || !Number.isFinite(p.standardError)) {
    return { ok: false, reason: 'the standard error must be finite and > 0 (no variation in either arm gives no test)' };
  }
  const r = p.mixingVariance / (p.standardError * p.standardError);
  const z = p.estimate / p.standardError;
  const half = 0.5 * Math.log1p(r);
  const logEValue = -half + ((z * z) / 2) * (r / (1 + r));
  const halfWidth = p.standardError * Math.sqrt(((2 * (1 + r)) / r) * (half - Math.log(alpha)));
  if (!Number.isFinite(logEValue) || !Number.isFinite(halfWidth)) {
    return { ok: false, reason: 'the statistic is not finite at these magnitudes; rescale the metric or τ²' };
  }
  const pValueAtLook = logEValue <= 0 ? 1 : Math.exp(-logEValue);
  const pValue = Math.min(previous, pValueAtLook);
  return {
    ok: true,
    method: 'msprt',
    mixingVariance: p.mixingVariance,
    logEValue,
    pValueAtLook,
    pValue,
    lower: p.estimate - halfWidth,
    upper: p.estimate + halfWidth,
    halfWidth,
    alpha,
    significant: pValue <= alpha,
  };
}

/**
 * The mSPRT over a history of looks, oldest first (the last is the current one): the running-minimum
 * p-value and the running intersection of the intervals. The intersection excludes 0 exactly when some
 * look's interval did (⇔ pValue ≤ α), so interval and p-value agree. An intersection that comes out
 * empty (probability ≤ α when the model holds) falls back to the current look's interval.
 */
export function msprtSequence(looks: MsprtLook[], mixingVariance: number, alpha = 0.05): MsprtResult {
  if (looks.length === 0) return { ok: false, reason: 'no looks yet' };
  let pValue = 1;
  let lower = Number.NEGATIVE_INFINITY;
  let upper = Number.POSITIVE_INFINITY;
  let last: MsprtResult | null = null;
  for (const look of looks) {
    const r = msprt({ ...look, mixingVariance, alpha, previousPValue: pValue });
    if (!r.ok) continue; // an early look without a test (e.g. one arm still constant) contributes nothing
    pValue = r.pValue;
    lower = Math.max(lower, r.lower);
    upper = Math.min(upper, r.upper);
    last = r;
  }
  const current = msprt({ ...looks[looks.length - 1], mixingVariance, alpha, previousPValue: pValue });
  if (!current.ok) return current;
  if (last === null || lower > upper) return current;
  return { ...current, lower, upper };
}
