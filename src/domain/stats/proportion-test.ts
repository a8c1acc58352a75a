import { normalQuantile, normalTwoSidedPValue } from './distributions.js';
import { invalidAlpha, relativeOfIndependentMeans, symmetricInterval, type NotComputable, type ProportionEffect } from './effect-result.js';

/** Sufficient statistics of a conversion metric in one arm: units and units that converted. */
export interface ProportionSummary {
  n: number;
  successes: number;
}

/**
 * Two-sample z-test of treatment − control conversion rates. The test and the interval both use the
 * unpooled SE √(p_C(1−p_C)/n_C + p_T(1−p_T)/n_T), so "significant" and "interval excludes 0" always
 * agree and the one SE handed to sequential / non-inferiority / Bayesian consumers is the one tested.
 */
export function proportionTest(control: ProportionSummary, treatment: ProportionSummary, alpha = 0.05): ProportionEffect | NotComputable {
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
  const zStatistic = diff / se;
  const pValue = normalTwoSidedPValue(zStatistic);
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
  };
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
