import { chiSquareSf, normalQuantile, normalTwoSidedPValue } from './distributions.js';
import { invalidAlpha, relativeOfIndependentMeans, symmetricInterval, type NotComputable, type ProportionEffect } from './effect-result.js';

/**
 * Which test judges two conversion rates: 'unpooled' (Wald z, the default: one SE for test and interval),
 * 'pooled' (score z with the pooled rate under H0, as R prop.test(correct = FALSE), statsmodels
 * proportions_ztest), or 'chi2' (Pearson's 2×2 χ² with Yates' continuity correction, the default of
 * R chisq.test/prop.test and scipy chi2_contingency). Without the correction χ² = z_pooled², so 'pooled' is that test.
 */
export type ProportionTestKind = 'unpooled' | 'pooled' | 'chi2';

/** What the pooled and χ² options add: the test used, and its statistic(s). The interval stays the unpooled Wald interval. */
export interface ProportionTestDetails {
  proportionTest: ProportionTestKind;
  /** SE of the difference under H0 (pooled rate): pooled and chi2 only. */
  pooledStandardError?: number;
  /** Pearson χ² (1 df) of the 2×2 table, Yates-corrected: chi2 only. */
  chiSquare?: number;
}

/** Sufficient statistics of a conversion metric in one arm: units and units that converted. */
export interface ProportionSummary {
  n: number;
  successes: number;
}

/**
 * Two-sample test of treatment − control conversion rates. By default ('unpooled') the test and the
 * interval both use the unpooled SE √(p_C(1−p_C)/n_C + p_T(1−p_T)/n_T), so "significant" and "interval
 * excludes 0" always agree and the one SE handed to sequential / non-inferiority / Bayesian consumers is
 * the one tested. 'pooled' and 'chi2' change only the p-value (and z); the interval and standardError stay
 * unpooled, as R prop.test reports a Wald interval beside its χ² p-value.
 */
export function proportionTest(
  control: ProportionSummary,
  treatment: ProportionSummary,
  alpha = 0.05,
  kind: ProportionTestKind = 'unpooled',
): (ProportionEffect & ProportionTestDetails) | NotComputable {
  const badAlpha = invalidAlpha(alpha);
  if (badAlpha !== null) return { ok: false, reason: badAlpha };
  const problem = invalidArm('control', control) ?? invalidArm('treatment', treatment);
  if (problem !== null) return { ok: false, reason: problem };

  const pC = control.successes / control.n;
  const pT = treatment.successes / treatment.n;
  // Bernoulli variance p(1 − p) (the 1/n moment, as in the classical Wald interval).
  const varC = pC * (1 - pC);
  const varT = pT * (1 - pT);
  const varMeanC = varC / control.n;
  const varMeanT = varT / treatment.n;
  const se = Math.sqrt(varMeanC + varMeanT);
  if (!(se > 0)) return { ok: false, reason: degenerateReason(pC, pT) };

  const diff = pT - pC;
  const tested = kind === 'unpooled' ? { zStatistic: diff / se, pValue: normalTwoSidedPValue(diff / se) } : pooledTest(control, treatment, kind);
  const { zStatistic, pValue, ...details } = tested;
  const critical = -normalQuantile(alpha / 2);
  return {
    ok: true,
    method: 'z-proportions',
    controlMean: pC,
    treatmentMean: pT,
    controlVariance: varC,
    treatmentVariance: varT,
    absolute: symmetricInterval(diff, se, critical),
    standardError: se,
    ...relativeOfIndependentMeans(pC, pT, varMeanC, varMeanT, critical),
    pValue,
    significant: pValue <= alpha,
    alpha,
    zStatistic,
    proportionTest: kind,
    ...details,
  };
}

/**
 * Pooled score z: se₀ = √(p̄(1 − p̄)(1/n_C + 1/n_T)), p̄ the pooled rate, p = 2Φ(−|z|). With 'chi2', Pearson's
 * χ² of the 2×2 table with Yates' correction, χ² = N(|ad − bc| − N/2)²/(row and column totals), taken as 0 when
 * |ad − bc| ≤ N/2 (as scipy), p = P(χ²₁ > χ²); the reported z is then sign(diff)·√χ². se > 0 in the caller
 * implies 0 < p̄ < 1, so se₀ > 0.
 */
export function pooledTest(
  control: ProportionSummary,
  treatment: ProportionSummary,
  kind: 'pooled' | 'chi2',
): { zStatistic: number; pValue: number; pooledStandardError: number; chiSquare?: number } {
  const n = control.n + treatment.n;
  const pooled = (control.successes + treatment.successes) / n;
  const pooledStandardError = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n));
  const diff = treatment.successes / treatment.n - control.successes / control.n;
  if (kind === 'pooled') {
    const zStatistic = diff / pooledStandardError;
    return { zStatistic, pValue: normalTwoSidedPValue(zStatistic), pooledStandardError };
  }
  // 2×2 table [[a, b], [c, d]]: rows control/treatment, columns converted/not.
  const a = control.successes;
  const b = control.n - a;
  const c = treatment.successes;
  const d = treatment.n - c;
  const cross = Math.abs(a * d - b * c);
  const corrected = Math.max(0, cross - n / 2);
  const chiSquare = (n * corrected * corrected) / (control.n * treatment.n * (a + c) * (b + d));
  return { zStatistic: Math.sign(diff) * Math.sqrt(chiSquare), pValue: chiSquareSf(chiSquare, 1), pooledStandardError, chiSquare };
}

function invalidArm(arm: string, s: ProportionSummary): string | null {
  if (!Number.isInteger(s.n) || !Number.isInteger(s.successes)) return `${arm}: n and successes must be integers (counts of units)`;
  if (s.successes < 0 || s.successes > s.n) return `${arm}: successes must be between 0 and n, got ${s.successes} of ${s.n}`;
  if (s.n < 2) return `${arm} has fewer than 2 units; wait for more data before testing`;
  return null;
}

function degenerateReason(pC: number, pT: number): string {
  const tail = 'so the standard error is 0 and no test is computable; wait for more data or check the metric definition';
  if (pC === 0 && pT === 0) return `no unit converted in either arm (all-zero binaries), ${tail}`;
  if (pC === 1 && pT === 1) return `every unit converted in both arms (all-one binaries), ${tail}`;
  return `each arm's rate is exactly 0 or 1 (control ${pC}, treatment ${pT}), ${tail}`;
}
