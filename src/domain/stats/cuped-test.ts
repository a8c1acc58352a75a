import { studentTCritical } from './distributions.js';
import { invalidAlpha, symmetricInterval, type CupedEffect, type NotComputable } from './effect-result.js';
import { inconsistentCrossSum, inconsistentSummary, meanAndVariance } from './summary.js';
import { welchFromMoments } from './welch-test.js';

/**
 * One arm's sufficient statistics for CUPED: metric x (sum, sumSquares), its pre-exposure covariate y
 * (covSum, covSumSquares) and Σxy (crossSum), all over the same n units. With `shift` r and `covShift`
 * s (as MeanSummary.shift), the sums are of x − r and y − s (crossSum = Σ(x − r)(y − s)): variances,
 * the covariance and θ are shift-invariant and keep their digits at a large offset; means add r, s back.
 */
export interface CovariateSummary {
  n: number;
  sum: number;
  sumSquares: number;
  covSum: number;
  covSumSquares: number;
  crossSum: number;
  shift?: number;
  covShift?: number;
}

/**
 * The moment convention of the metric kind (issue 10): 'sample' for means and counts (unbiased, n − 1),
 * 'bernoulli' for 0/1 metrics (1/n: p(1 − p), q(1 − q), Σxy/n − pq), the moments the proportion test
 * uses, so a binary CUPED with θ = 0 has the proportion test's SE exactly.
 */
export type Moments = 'sample' | 'bernoulli';

interface ArmStats {
  n: number;
  meanX: number;
  varX: number;
  /** Mean of y − covShift (the arms share the shift), so differences of covariate means keep their digits. */
  shiftedMeanY: number;
  varY: number;
  cov: number;
}

/**
 * CUPED (Deng et al. 2013): Welch's test on means adjusted by the pre-exposure covariate,
 * x̄ − θ(ȳ − ȳ_pooled), with θ = cov(x, y)/var(y) over both arms pooled. The relative effect is
 * taken against the *unadjusted* control mean (what the metric really is in control).
 */
export function cupedTest(control: CovariateSummary, treatment: CovariateSummary, alpha = 0.05, moments: Moments = 'sample'): CupedEffect | NotComputable {
  const badAlpha = invalidAlpha(alpha);
  if (badAlpha !== null) return { ok: false, reason: badAlpha };
  if (![control, treatment].every(isFiniteCovariateSummary)) {
    return { ok: false, reason: 'an arm summary contains a non-finite field; check the metric and covariate values' };
  }
  const inconsistent = inconsistentArm('control', control) ?? inconsistentArm('treatment', treatment);
  if (inconsistent !== null) return { ok: false, reason: inconsistent };
  if (moments === 'bernoulli' && [control, treatment].some((s) => (s.shift ?? 0) !== 0 || (s.covShift ?? 0) !== 0)) {
    return { ok: false, reason: 'Bernoulli moments take the raw 0/1 sums (no shift); pass the unshifted sums or use sample moments' };
  }
  if (moments === 'bernoulli' && ![control, treatment].every(isBinarySummary)) {
    return { ok: false, reason: 'Bernoulli moments need 0/1 values (Σx² = Σx for the metric and the covariate); use sample moments' };
  }
  const armStats = moments === 'bernoulli' ? bernoulliStats : sampleStats;
  // One frame for both arms (the control's shifts), so ȳ − ȳ_pooled is taken on the shifted sums.
  const treatmentSums = reshift(treatment, control.shift, control.covShift);
  const c = armStats(control);
  const t = armStats(treatmentSums);
  if (c === null || t === null) {
    const arm = c === null ? 'control' : 'treatment';
    return { ok: false, reason: `${arm} has fewer than 2 observations; wait for more data before testing` };
  }
  if (c.varX === 0 && t.varX === 0) {
    return { ok: false, reason: 'both arms have zero variance in the metric (every value identical), so no test is computable' };
  }

  const pooled = armStats(pool(control, treatmentSums));
  const covariateUsable = pooled !== null && pooled.varY > 0;
  const theta = covariateUsable ? pooled.cov / pooled.varY : 0;
  const shiftedMeanYPooled = pooled?.shiftedMeanY ?? 0;
  const adjC = adjust(c, theta, shiftedMeanYPooled);
  const adjT = adjust(t, theta, shiftedMeanYPooled);
  if (adjC.variance === 0 && adjT.variance === 0) {
    return {
      ok: false,
      reason:
        'the covariate predicts the metric exactly in both arms (adjusted variance 0), so no test is computable; check that the covariate is pre-exposure',
    };
  }

  const w = welchFromMoments(adjC, adjT, alpha);
  if (!w.ok) return w;
  const unadjustedVar = c.varX / c.n + t.varX / t.n;
  // Welch's relative effect divides by the adjusted control mean; CUPED's is replaced below.
  const { relativeReason: _welchRelativeReason, ...base } = w;
  return {
    ...base,
    method: 'cuped',
    ...relativeAgainstUnadjustedControl(c, adjC.variance / c.n, adjT.variance / t.n, w.absolute.estimate, theta, w.df, alpha),
    theta,
    varianceReduction: 1 - w.standardError ** 2 / unadjustedVar,
    unadjustedControlMean: c.meanX,
    unadjustedTreatmentMean: t.meanX,
    ...(covariateUsable
      ? {}
      : { adjustmentReason: 'the covariate has zero variance over both arms, so it carries no information; this is the unadjusted Welch test (θ = 0)' }),
  };
}

function isFiniteCovariateSummary(s: CovariateSummary): boolean {
  return [s.n, s.sum, s.sumSquares, s.covSum, s.covSumSquares, s.crossSum, s.shift ?? 0, s.covShift ?? 0].every(Number.isFinite);
}

// Sums no real units give (a negative variance or a covariance beyond Cauchy–Schwarz, past rounding)
// are named here, before meanAndVariance's null could read as "fewer than 2 observations".
function inconsistentArm(arm: string, s: CovariateSummary): string | null {
  const why =
    inconsistentSummary({ n: s.n, sum: s.sum, sumSquares: s.sumSquares }) ??
    inconsistentSummary({ n: s.n, sum: s.covSum, sumSquares: s.covSumSquares }) ??
    inconsistentCrossSum({ n: s.n, sumX: s.sum, sumX2: s.sumSquares, sumY: s.covSum, sumY2: s.covSumSquares, sumXY: s.crossSum });
  return why === null ? null : `${arm}: ${why}`;
}

function pool(a: CovariateSummary, b: CovariateSummary): CovariateSummary {
  return {
    n: a.n + b.n,
    sum: a.sum + b.sum,
    sumSquares: a.sumSquares + b.sumSquares,
    covSum: a.covSum + b.covSum,
    covSumSquares: a.covSumSquares + b.covSumSquares,
    crossSum: a.crossSum + b.crossSum,
    shift: a.shift ?? 0,
    covShift: a.covShift ?? 0,
  };
}

// The same sums about other shifts r, s: Σ(x − r) = Σ(x − r₀) + n(r₀ − r), and so on. Exact (a no-op)
// when the shifts already agree, as the pipeline's one shift per (experiment, metric) makes them.
function reshift(b: CovariateSummary, r = 0, s = 0): CovariateSummary {
  const dx = (b.shift ?? 0) - r;
  const dy = (b.covShift ?? 0) - s;
  if (dx === 0 && dy === 0) return b;
  return {
    n: b.n,
    sum: b.sum + b.n * dx,
    sumSquares: b.sumSquares + 2 * dx * b.sum + b.n * dx * dx,
    covSum: b.covSum + b.n * dy,
    covSumSquares: b.covSumSquares + 2 * dy * b.covSum + b.n * dy * dy,
    crossSum: b.crossSum + dy * b.sum + dx * b.covSum + b.n * dx * dy,
    shift: r,
    covShift: s,
  };
}

function isBinarySummary(s: CovariateSummary): boolean {
  return s.sumSquares === s.sum && s.covSumSquares === s.covSum;
}

// 1/n moments of 0/1 values, as the proportion test computes them: p(1 − p), q(1 − q), Σxy/n − pq.
function bernoulliStats(s: CovariateSummary): ArmStats | null {
  if (!(s.n >= 2)) return null;
  const p = s.sum / s.n;
  const q = s.covSum / s.n;
  const varX = p * (1 - p);
  const varY = q * (1 - q);
  const cov = varX === 0 || varY === 0 ? 0 : s.crossSum / s.n - p * q;
  return { n: s.n, meanX: p, varX, shiftedMeanY: q, varY, cov };
}

function sampleStats(s: CovariateSummary): ArmStats | null {
  const x = meanAndVariance({ n: s.n, sum: s.sum, sumSquares: s.sumSquares, shift: s.shift });
  const y = meanAndVariance({ n: s.n, sum: s.covSum, sumSquares: s.covSumSquares, shift: s.covShift });
  if (x === null || y === null) return null;
  // A zero variance on either side means the covariance is 0 too (Cauchy–Schwarz), not rounding noise.
  const cov = x.variance === 0 || y.variance === 0 ? 0 : (s.crossSum - (s.sum * s.covSum) / s.n) / (s.n - 1);
  return { n: s.n, meanX: x.mean, varX: x.variance, shiftedMeanY: s.covSum / s.n, varY: y.variance, cov };
}

// Var(x − θy) = var x − 2θ·cov + θ²·var y (exact for a fixed θ; θ's own estimation error is O(1/n)
// and ignored, as in Deng et al.). When the covariate fits perfectly what is left is rounding noise of
// the terms, read as 0, so a perfect fit is reported as such instead of as a huge t.
function adjust(a: ArmStats, theta: number, shiftedMeanYPooled: number): { mean: number; variance: number; n: number } {
  const raw = a.varX - 2 * theta * a.cov + theta ** 2 * a.varY;
  const variance = raw <= 8 * Number.EPSILON * (a.varX + theta ** 2 * a.varY) ? 0 : raw;
  return { mean: a.meanX - theta * (a.shiftedMeanY - shiftedMeanYPooled), variance, n: a.n };
}

// rel = Δ/|m| with Δ = adjusted difference and m = unadjusted control mean x̄_C (|m|, as gbstats, so a
// negative baseline does not flip the sign of the lift; the variance is unchanged). Delta method:
// Var ≈ Var(Δ)/m² + Δ²·Var(x̄_C)/m⁴ − 2Δ·Cov(Δ, x̄_C)/m³, with Cov(Δ, x̄_C) = −(var x_C − θ·cov_C)/n_C
// (the adjusted control mean and the unadjusted one share the control units). With θ = 0 this is
// exactly Welch's Var(mT)/mC² + mT²·Var(mC)/mC⁴.
function relativeAgainstUnadjustedControl(
  c: ArmStats,
  varAdjMeanC: number,
  varAdjMeanT: number,
  diff: number,
  theta: number,
  df: number,
  alpha: number,
): Pick<CupedEffect, 'relative' | 'relativeStandardError' | 'relativeReason'> {
  const m = c.meanX;
  if (m === 0) {
    return {
      relative: null,
      relativeStandardError: null,
      relativeReason: 'unadjusted control mean is 0, so a relative effect is undefined; read the absolute effect',
    };
  }
  const covDiffM = -(c.varX - theta * c.cov) / c.n;
  const variance = (varAdjMeanT + varAdjMeanC) / m ** 2 + (diff ** 2 * (c.varX / c.n)) / m ** 4 - (2 * diff * covDiffM) / m ** 3;
  const se = Math.sqrt(Math.max(0, variance));
  const critical = studentTCritical(alpha, df);
  return { relative: symmetricInterval(diff / Math.abs(m), se, critical), relativeStandardError: se };
}
