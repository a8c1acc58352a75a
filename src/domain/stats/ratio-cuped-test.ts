import { studentTCritical } from './distributions.js';
import { invalidAlpha, symmetricInterval, type CupedEffect, type NotComputable } from './effect-result.js';
import { welchFromMoments } from './welch-test.js';

/**
 * One arm of a ratio metric with pre-exposure covariates for both components, over the same n units:
 * post-exposure numerator m and denominator d, pre-exposure numerator mPre and denominator dPre; each
 * component's sum and sum of squares, and the six cross sums Σ(a·b) of the pairs.
 */
export interface RatioCovariateSummary {
  n: number;
  numSum: number;
  numSumSquares: number;
  denSum: number;
  denSumSquares: number;
  preNumSum: number;
  preNumSumSquares: number;
  preDenSum: number;
  preDenSumSquares: number;
  /** Σ m·d (post numerator × post denominator). */
  numDenSum: number;
  /** Σ m·mPre. */
  numPreNumSum: number;
  /** Σ m·dPre. */
  numPreDenSum: number;
  /** Σ d·mPre. */
  denPreNumSum: number;
  /** Σ d·dPre. */
  denPreDenSum: number;
  /** Σ mPre·dPre. */
  preNumPreDenSum: number;
}

type Vec4 = [number, number, number, number];

interface ArmMoments4 {
  n: number;
  /** Means of (m, d, mPre, dPre). */
  mean: Vec4;
  /** Their 4×4 sample covariance matrix (n − 1). */
  cov: number[][];
  ratio: number;
  preRatio: number;
}

/**
 * CUPED for a ratio metric (regression-adjusted ratio, as gbstats' RegressionAdjustedRatioStatistic):
 * per arm A = R − θ·(R_pre − R̄_pre) with R = Σm/Σd and R_pre = ΣmPre/ΣdPre, variances by the delta method
 * over the 4×4 covariance of (m, d, mPre, dPre), θ = Σ_arms cov(R̂, R̂_pre)/Σ_arms var(R̂_pre) per unit, and
 * Welch's t. The relative effect is taken against the unadjusted control ratio |R_C|, with the exact
 * gradient (so it accounts for the control units shared by Δ and R_C). With θ = 0 it is exactly ratioTest.
 */
export function ratioCupedTest(control: RatioCovariateSummary, treatment: RatioCovariateSummary, alpha = 0.05): CupedEffect | NotComputable {
  const badAlpha = invalidAlpha(alpha);
  if (badAlpha !== null) return { ok: false, reason: badAlpha };
  if (![control, treatment].every((s) => Object.values(s).every(Number.isFinite))) {
    return { ok: false, reason: 'an arm summary contains a non-finite field; check the numerator, denominator and their pre-exposure values' };
  }
  const c = moments(control);
  const t = moments(treatment);
  if (typeof c === 'string' || typeof t === 'string') {
    const [arm, why] = typeof c === 'string' ? ['control', c] : ['treatment', t as string];
    return { ok: false, reason: `${arm}: ${why}` };
  }
  const pre = (a: ArmMoments4): Vec4 => (a.mean[3] === 0 ? [0, 0, 0, 0] : [0, 0, 1 / a.mean[3], -a.mean[2] / a.mean[3] ** 2]);
  const varPre = quad(pre(c), c.cov, pre(c)) + quad(pre(t), t.cov, pre(t));
  // A pre-period ratio needs a denominator in both arms; otherwise adjusting one arm would shift Δ.
  const covariateUsable = varPre > 0 && c.mean[3] !== 0 && t.mean[3] !== 0;
  const theta = covariateUsable ? (quad(post(c), c.cov, pre(c)) + quad(post(t), t.cov, pre(t))) / varPre : 0;
  const gradient = (a: ArmMoments4): Vec4 => {
    const [g0, g1] = post(a);
    const [, , h2, h3] = pre(a);
    return [g0, g1, -theta * h2, -theta * h3];
  };
  const pooledPre = (control.preNumSum + treatment.preNumSum) / (control.preDenSum + treatment.preDenSum);
  const adjusted = (a: ArmMoments4) => {
    const centre = covariateUsable ? theta * (a.preRatio - pooledPre) : 0;
    const g = gradient(a);
    return { mean: a.ratio - centre, variance: readAsZero(quad(g, a.cov, g), a, g), n: a.n };
  };
  const adjC = adjusted(c);
  const adjT = adjusted(t);
  if (!(adjC.variance + adjT.variance > 0)) {
    return { ok: false, reason: 'the adjusted ratio has zero variance in both arms, so no test is computable; check that the covariates are pre-exposure' };
  }
  const w = welchFromMoments(adjC, adjT, alpha);
  if (!w.ok) return w;
  const unadjusted = quad(post(c), c.cov, post(c)) / c.n + quad(post(t), t.cov, post(t)) / t.n;
  const { relativeReason: _welchRelativeReason, ...base } = w;
  return {
    ...base,
    method: 'cuped',
    ...relativeAgainstUnadjustedRatio(c, t, gradient(c), gradient(t), w.absolute.estimate, w.df, alpha),
    theta,
    varianceReduction: 1 - w.standardError ** 2 / unadjusted,
    unadjustedControlMean: c.ratio,
    unadjustedTreatmentMean: t.ratio,
    ...(covariateUsable
      ? {}
      : {
          adjustmentReason:
            'the pre-exposure ratio has zero variance over both arms or no pre-exposure denominator in an arm, so it carries no information; this is the unadjusted ratio test (θ = 0)',
        }),
  };
}

// ∂R/∂(m̄, d̄) = (1/d̄, −m̄/d̄²): the linearisation of the post-exposure ratio.
const post = (a: ArmMoments4): Vec4 => [1 / a.mean[1], -a.mean[0] / a.mean[1] ** 2, 0, 0];

function quad(g: Vec4, m: number[][], h: Vec4): number {
  let s = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) s += g[i] * m[i][j] * h[j];
  return s;
}

// A quadratic form of a covariance matrix is ≥ 0; within rounding of its diagonal terms it is read as 0
// (a perfect fit), as ratioTest and cupedTest do, rather than as a tiny positive number.
function readAsZero(v: number, a: ArmMoments4, g: Vec4): number {
  const scale = g.reduce((s, gi, i) => s + gi * gi * a.cov[i][i], 0);
  return v <= 8 * Number.EPSILON * scale ? 0 : v;
}

function moments(s: RatioCovariateSummary): ArmMoments4 | string {
  if (!(s.n >= 2)) return 'fewer than 2 units; wait for more data before testing';
  if (s.denSum === 0) return 'the denominator mean is 0, so the ratio is undefined; wait until the denominator has events';
  const sums: Vec4 = [s.numSum, s.denSum, s.preNumSum, s.preDenSum];
  const squares: Vec4 = [s.numSumSquares, s.denSumSquares, s.preNumSumSquares, s.preDenSumSquares];
  const cross = [
    [0, s.numDenSum, s.numPreNumSum, s.numPreDenSum],
    [s.numDenSum, 0, s.denPreNumSum, s.denPreDenSum],
    [s.numPreNumSum, s.denPreNumSum, 0, s.preNumPreDenSum],
    [s.numPreDenSum, s.denPreDenSum, s.preNumPreDenSum, 0],
  ];
  const variance = sums.map((sum, i) => {
    const centred = squares[i] - (sum * sum) / s.n;
    return centred <= 4 * Number.EPSILON * squares[i] ? 0 : centred / (s.n - 1);
  });
  // A zero variance on either side means the covariance is 0 too (Cauchy–Schwarz), not rounding noise.
  const cov = sums.map((a, i) =>
    sums.map((b, j) => (i === j ? variance[i] : variance[i] === 0 || variance[j] === 0 ? 0 : (cross[i][j] - (a * b) / s.n) / (s.n - 1))),
  );
  return {
    n: s.n,
    mean: sums.map((x) => x / s.n) as Vec4,
    cov,
    ratio: s.numSum / s.denSum,
    preRatio: s.preDenSum === 0 ? 0 : s.preNumSum / s.preDenSum,
  };
}

// rel = Δ/|R_C|. Gradients: treatment ∇A_T/|R_C|; control ∂/∂(m̄, d̄) = (−(|R_C| + sΔ)/(d̄R_C²),
// m̄(|R_C| + sΔ)/(d̄²R_C²)) with s = sign(R_C), and −∇A_C/|R_C| on the pre-exposure means (gbstats'
// frequentist_variance_relative_cuped_ratio has the same gradient). With θ = 0 this is Welch's
// independent-arm formula Var(R_T)/R_C² + R_T²·Var(R_C)/R_C⁴.
function relativeAgainstUnadjustedRatio(
  c: ArmMoments4,
  t: ArmMoments4,
  gradC: Vec4,
  gradT: Vec4,
  diff: number,
  df: number,
  alpha: number,
): Pick<CupedEffect, 'relative' | 'relativeStandardError' | 'relativeReason'> {
  const r = c.ratio;
  if (r === 0) {
    return {
      relative: null,
      relativeStandardError: null,
      relativeReason: 'unadjusted control ratio is 0, so a relative effect is undefined; read the absolute effect',
    };
  }
  const abs = Math.abs(r);
  const lead = (abs + Math.sign(r) * diff) / r ** 2;
  const gC: Vec4 = [-lead / c.mean[1], (c.mean[0] * lead) / c.mean[1] ** 2, -gradC[2] / abs, -gradC[3] / abs];
  const gT = gradT.map((g) => g / abs) as Vec4;
  const se = Math.sqrt(Math.max(0, quad(gC, c.cov, gC) / c.n + quad(gT, t.cov, gT) / t.n));
  return { relative: symmetricInterval(diff / abs, se, studentTCritical(alpha, df)), relativeStandardError: se };
}
