// Always-valid inference: asymptotic confidence sequences (Waudby-Smith, Ramdas et al., 2023,
// "Time-uniform central limit theory and asymptotic confidence sequences", Theorem 2.2 / eq. 155),
// in the form GrowthBook's gbstats uses (SequentialTwoSidedTTest). Generic over any asymptotically
// normal estimate of a difference (Welch, proportions, CUPED, ratio, relative effects), because it
// needs only the estimate, its standard error and the number of units behind it.
//
// Units. The theorem is about the running mean of n i.i.d. per-unit terms with standard deviation σ.
// A difference estimate with standard error SE over n units in total (all arms) behaves like such a
// mean with σ̂_unit = SE·√n: for a difference in means, unit i contributes the influence term
// ψ_i = y_i/π_T (treatment) or −y_i/π_C (control), π the assignment shares, whose variance is
// s_T²/π_T + s_C²/π_C ≈ n·(s_T²/n_T + s_C²/n_C) = n·SE². (Equal split, equal variance s²: SE² = 4s²/n,
// σ̂_unit = 2s.) The half-width of the (1 − α) sequence at n is then
//   halfWidth = σ̂_unit · sqrt( 2(nρ² + 1)/(n²ρ²) · ln( sqrt(nρ² + 1)/α ) )
//             = SE · sqrt( 2(nρ² + 1)/(nρ²) · ln( sqrt(nρ² + 1)/α ) ),
// which depends on n only through x = nρ². ρ tunes where the sequence is tightest.

/** Inputs of a confidence sequence: an asymptotically normal estimate after n units in total. */
export interface ConfidenceSequenceParams {
  /** Point estimate of the difference (absolute or relative), e.g. treatment − control. */
  estimate: number;
  /** Its standard error at the current look (e.g. √(s_T²/n_T + s_C²/n_C)). */
  standardError: number;
  /** Units so far across all arms (n_T + n_C), the n of the theorem. */
  n: number;
  /** Planned total units across all arms; ρ makes the sequence tightest there. */
  tuningN: number;
  /** Level: the sequence covers the truth at every n simultaneously with probability ≥ 1 − α. Default 0.05. */
  alpha?: number;
}

/** A (1 − α) confidence sequence at the current look; significant when 0 is not inside it (a bound at 0 is p = α). */
export type ConfidenceSequenceResult =
  | {
      ok: true;
      method: 'asymptotic-confidence-sequence';
      estimate: number;
      lower: number;
      upper: number;
      halfWidth: number;
      rho: number;
      alpha: number;
      significant: boolean;
    }
  | { ok: false; reason: string };

/** Always-valid p-value: the smallest α whose sequence (same ρ) excludes 0 at this look. */
export type AlwaysValidPValueResult = { ok: true; method: 'asymptotic-confidence-sequence'; pValue: number; rho: number } | { ok: false; reason: string };

/**
 * ρ that minimises the half-width at n = tuningN (Waudby-Smith et al. 2023; GrowthBook's choice):
 * ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / tuningN).
 */
export function confidenceSequenceRho(alpha: number, tuningN: number): number {
  const twoLogAlpha = -2 * Math.log(alpha);
  return Math.sqrt((twoLogAlpha + Math.log(twoLogAlpha + 1)) / tuningN);
}

/** Two-sided asymptotic confidence sequence: valid however often it is looked at (peeking-proof). */
export function confidenceSequence(p: ConfidenceSequenceParams): ConfidenceSequenceResult {
  const alpha = p.alpha ?? 0.05;
  const problem = invalidInput(p.estimate, p.standardError, p.n, p.tuningN, alpha);
  if (problem !== null) return { ok: false, reason: problem };
  const rho = confidenceSequenceRho(alpha, p.tuningN);
  const x = p.n * rho * rho;
  // ln(sqrt(x + 1)/α) = ½·log1p(x) − ln α, kept apart so neither term overflows or rounds away.
  const halfWidth = p.standardError * Math.sqrt(((2 * (x + 1)) / x) * (0.5 * Math.log1p(x) - Math.log(alpha)));
  if (!Number.isFinite(halfWidth)) {
    return { ok: false, reason: 'the half-width is not finite at these magnitudes; rescale the metric' };
  }
  const lower = p.estimate - halfWidth;
  const upper = p.estimate + halfWidth;
  return {
    ok: true,
    method: 'asymptotic-confidence-sequence',
    estimate: p.estimate,
    lower,
    upper,
    halfWidth,
    rho,
    alpha,
    significant: lower >= 0 || upper <= 0,
  };
}

/**
 * Always-valid p-value of "difference = 0", in closed form. The sequence at level α' (ρ held at the
 * value `alpha` sets, as gbstats does) excludes 0 iff α' > sqrt(x + 1)·exp(−x·z²/(2(x + 1))) with
 * x = nρ², z = estimate/SE; that bound, capped at 1, is the p-value. So p ≤ α exactly when
 * `confidenceSequence` with the same inputs is significant. Computed in logs: a huge z gives a tiny
 * p, not 0, until it underflows below ~1e-308.
 */
export function alwaysValidPValue(p: ConfidenceSequenceParams): AlwaysValidPValueResult {
  const alpha = p.alpha ?? 0.05;
  const problem = invalidInput(p.estimate, p.standardError, p.n, p.tuningN, alpha);
  if (problem !== null) return { ok: false, reason: problem };
  const rho = confidenceSequenceRho(alpha, p.tuningN);
  const x = p.n * rho * rho;
  const z = p.estimate / p.standardError;
  const logP = 0.5 * Math.log1p(x) - ((x / (x + 1)) * (z * z)) / 2;
  if (Number.isNaN(logP)) return { ok: false, reason: 'estimate/SE is not a number at these magnitudes; rescale the metric' };
  return { ok: true, method: 'asymptotic-confidence-sequence', pValue: logP >= 0 ? 1 : Math.exp(logP), rho };
}

function invalidInput(estimate: number, se: number, n: number, tuningN: number, alpha: number): string | null {
  if (!(alpha > 0 && alpha < 1)) return `alpha must be between 0 and 1 (exclusive), got ${alpha}`;
  if (!Number.isFinite(estimate)) return 'the estimate is not a finite number; check the arm summaries';
  if (!Number.isFinite(se) || se < 0) return 'the standard error must be a finite number ≥ 0; check the arm summaries';
  if (se === 0) return 'the standard error is 0 (no variation in either arm), so no interval is computable';
  if (!Number.isFinite(n) || n < 2) return `n (units so far across all arms) must be at least 2, got ${n}; wait for more data`;
  if (!Number.isFinite(tuningN) || !(tuningN > 0)) {
    return `tuningN (planned total units across all arms) must be a positive number, got ${tuningN}`;
  }
  return null;
}

/** Which side a one-sided sequence bounds: 'greater' gives a lower bound (H1: effect > 0), 'lesser' an upper bound. */
export type SequenceSide = 'greater' | 'lesser';

/** A one-sided (1 − α) confidence sequence: the effect is ≥ bound ('greater') or ≤ bound ('lesser') at every n at once. */
export type OneSidedSequenceResult =
  | {
      ok: true;
      method: 'asymptotic-confidence-sequence-one-sided';
      side: SequenceSide;
      estimate: number;
      /** Lower bound for 'greater', upper bound for 'lesser'; the other end is unbounded. */
      bound: number;
      halfWidth: number;
      rho: number;
      alpha: number;
      /** The bound is at or beyond 0 on the tested side (⇔ pValue ≤ α, as everywhere in sealab). */
      significant: boolean;
      /** Smallest α' whose sequence (same ρ) excludes 0 on the tested side; 1 when the estimate is on the other side. */
      pValue: number;
    }
  | { ok: false; reason: string };

/** ρ of the one-sided sequence: the two-sided choice at 2α (gbstats' sequential_rho(two_sided=False), eq. 161 of arXiv 2103.06476v7). */
export function oneSidedConfidenceSequenceRho(alpha: number, tuningN: number): number {
  return confidenceSequenceRho(2 * alpha, tuningN);
}

/**
 * One-sided asymptotic confidence sequence (Waudby-Smith et al. 2023, arXiv 2103.06476v7 eq. 134, as
 * gbstats' SequentialOneSided*TTest): halfWidth = SE·sqrt(2(x + 1)/x · ln(1 + sqrt(x + 1)/(2α))), x = nρ²,
 * ρ tuned at 2α. The p-value is closed form: the bound excludes 0 iff α' > sqrt(x + 1)/(2·expm1(x·z²/(2(x + 1))))
 * with z the estimate/SE on the tested side (gbstats bisects for it), computed in logs.
 */
export function oneSidedConfidenceSequence(p: ConfidenceSequenceParams & { side: SequenceSide }): OneSidedSequenceResult {
  const alpha = p.alpha ?? 0.05;
  const problem = invalidInput(p.estimate, p.standardError, p.n, p.tuningN, alpha);
  if (problem !== null) return { ok: false, reason: problem };
  if (!(alpha < 0.5)) return { ok: false, reason: `a one-sided sequence needs alpha < 0.5, got ${alpha}` };
  if (p.side !== 'greater' && p.side !== 'lesser') return { ok: false, reason: `side must be 'greater' or 'lesser', got ${String(p.side)}` };
  const rho = oneSidedConfidenceSequenceRho(alpha, p.tuningN);
  const x = p.n * rho * rho;
  const halfWidth = p.standardError * Math.sqrt(((2 * (x + 1)) / x) * Math.log1p(Math.sqrt(x + 1) / (2 * alpha)));
  if (!Number.isFinite(halfWidth)) return { ok: false, reason: 'the half-width is not finite at these magnitudes; rescale the metric' };
  const bound = p.side === 'greater' ? p.estimate - halfWidth : p.estimate + halfWidth;
  const z = (p.side === 'greater' ? p.estimate : -p.estimate) / p.standardError;
  let pValue = 1;
  if (z > 0) {
    const a = ((x / (x + 1)) * z * z) / 2;
    // ln expm1(a) = a + ln(1 − e^{−a}) for large a, so a huge z gives a tiny p rather than 0/0.
    const logExpm1 = a > 1 ? a + Math.log1p(-Math.exp(-a)) : Math.log(Math.expm1(a));
    pValue = Math.min(1, Math.exp(0.5 * Math.log1p(x) - Math.LN2 - logExpm1));
  }
  return {
    ok: true,
    method: 'asymptotic-confidence-sequence-one-sided',
    side: p.side,
    estimate: p.estimate,
    bound,
    halfWidth,
    rho,
    alpha,
    significant: p.side === 'greater' ? bound >= 0 : bound <= 0,
    pValue,
  };
}
