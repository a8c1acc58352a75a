import {
  adjustPValues,
  bayesianComparison,
  decide,
  nonInferiorityTest,
  requiredSampleSizePerArm,
  srmTest,
  type DecisionResult,
  type Interval,
} from '../stats/index.js';
import type { Experiment, Metric } from '../schemas.js';
import { compareArms, type ArmStats, type Method } from './compare-arms.js';

export interface VariantResult {
  variant: string;
  isControl: boolean;
  units: number;
  mean: number | null;
  absolute: Interval | null;
  relative: Interval | null;
  pValue: number | null;
  pValueAdjusted: number | null;
  significant: boolean;
  assessment: 'better' | 'worse' | 'no_detectable_change' | 'not_computable' | 'control';
  varianceReduction: number | null;
  nonInferiority: { nonInferior: boolean; bound: number; threshold: number } | null;
  bayesian: { chanceToBeatControl: number; expectedLoss: number } | null;
  note: string | null;
}

export interface MetricResult {
  metricId: string;
  name: string;
  role: 'success' | 'guardrail';
  kind: Metric['kind'];
  direction: Metric['direction'];
  margin: number | null;
  variants: VariantResult[];
}

export interface Analysis {
  method: Method;
  methodNote: string;
  alpha: number;
  correction: string;
  sample: { plannedTotal: number; observedTotal: number; fractionOfPlan: number; daysRunning: number | null };
  exposures: { variant: string; weight: number; units: number }[];
  srm: { checked: boolean; pValue: number | null; chiSquare: number | null; mismatch: boolean; note: string };
  metrics: MetricResult[];
  decision: DecisionResult & { variant: string | null };
  decisionsByVariant: (DecisionResult & { variant: string })[];
}

export interface AnalysisInput {
  experiment: Pick<Experiment, 'variants' | 'successMetrics' | 'guardrails' | 'analysisPlan' | 'startedAt' | 'status'>;
  metrics: Map<string, Metric>;
  /** Per metric id, per variant key. */
  stats: Map<string, Map<string, ArmStats>>;
  srmThreshold: number;
  now: Date;
}

const EMPTY: ArmStats = { n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 };
const MIN_DAYS_BEFORE_EARLY_SHIP = 7;

/** The whole analysis of one experiment, pure: aggregates in, estimates, tests, SRM and the decision out. */
export function analyzeExperiment(input: AnalysisInput): Analysis {
  const { experiment: e, metrics } = input;
  const plan = e.analysisPlan;
  const method: Method = plan.looks ? 'group-sequential' : plan.sequential ? 'always-valid' : 'fixed-horizon';
  const control = (e.variants.find((v) => v.isControl) ?? e.variants[0]).key;
  const first = e.successMetrics.map((id) => input.stats.get(id)).find(Boolean);
  const exposures = e.variants.map((v) => ({ variant: v.key, weight: v.weight, units: first?.get(v.key)?.n ?? 0 }));
  const observedTotal = exposures.reduce((s, x) => s + x.units, 0);
  const plannedTotal = plannedUnits(e, metrics);
  const daysRunning = e.startedAt ? (input.now.getTime() - Date.parse(e.startedAt)) / 86_400_000 : null;
  const settings = { method, alpha: plan.alpha, cuped: plan.cuped, plannedTotal, observedTotal, looks: plan.looks };

  const srm = srmOf(exposures, input.srmThreshold);
  const roles: [string, 'success' | 'guardrail', number | null][] = [
    ...e.successMetrics.map((id) => [id, 'success', null] as [string, 'success', null]),
    ...e.guardrails.map((g) => [g.metricId, 'guardrail', g.margin] as [string, 'guardrail', number]),
  ];
  const results: MetricResult[] = roles.flatMap(([id, role, margin]) => {
    const m = metrics.get(id);
    if (!m) return [];
    const arms = input.stats.get(id) ?? new Map<string, ArmStats>();
    const c = arms.get(control) ?? EMPTY;
    const variants = e.variants.map((v): VariantResult => {
      const s = arms.get(v.key) ?? EMPTY;
      const mean = s.n > 0 ? (m.kind === 'ratio' ? (s.sumY !== 0 ? s.sumX / s.sumY : null) : s.sumX / s.n) : null;
      const base = { variant: v.key, isControl: v.key === control, units: s.n, mean, pValueAdjusted: null, nonInferiority: null, bayesian: null };
      if (v.key === control)
        return { ...base, absolute: null, relative: null, pValue: null, significant: false, assessment: 'control', varianceReduction: null, note: null };
      const cmp = compareArms(m, c, s, settings);
      if (!cmp.ok)
        return {
          ...base,
          absolute: null,
          relative: null,
          pValue: null,
          significant: false,
          assessment: 'not_computable',
          varianceReduction: null,
          note: cmp.reason,
        };
      const good = (m.direction === 'increase') === cmp.absolute.estimate > 0;
      const ni = margin !== null ? nonInferior(cmp, m, margin, plan.alpha, method) : null;
      const bayes = plan.bayesian
        ? bayesianComparison({ estimate: cmp.test.absolute.estimate, standardError: cmp.test.standardError, direction: m.direction })
        : null;
      return {
        ...base,
        absolute: cmp.absolute,
        relative: cmp.relative,
        pValue: cmp.pValue,
        significant: cmp.significant,
        assessment: cmp.significant ? (good ? 'better' : 'worse') : 'no_detectable_change',
        varianceReduction: cmp.varianceReduction,
        nonInferiority: ni,
        bayesian: bayes?.ok ? { chanceToBeatControl: bayes.chanceToBeatControl, expectedLoss: bayes.expectedLoss } : null,
        note: cmp.note,
      };
    });
    return [{ metricId: m.id, name: m.name, role, kind: m.kind, direction: m.direction, margin, variants }];
  });
  correct(results, plan.correction, plan.alpha);

  const enough =
    observedTotal >= plannedTotal || (method === 'always-valid' && (daysRunning ?? 0) >= MIN_DAYS_BEFORE_EARLY_SHIP && exposures.every((x) => x.units >= 100));
  const decisionsByVariant = e.variants
    .filter((v) => v.key !== control)
    .map((v) => ({ variant: v.key, ...decideFor(v.key, results, srm, enough, observedTotal, plannedTotal, daysRunning) }));
  const rank = { ship: 0, roll_back: 1, keep_running: 2, inconclusive: 3 } as const;
  const best = [...decisionsByVariant].sort((a, b) => rank[a.decision] - rank[b.decision])[0];
  return {
    method,
    methodNote: METHOD_NOTES[method],
    alpha: plan.alpha,
    correction: plan.correction,
    sample: { plannedTotal, observedTotal, fractionOfPlan: plannedTotal > 0 ? observedTotal / plannedTotal : 0, daysRunning },
    exposures,
    srm,
    metrics: results,
    decision: best ? { ...best } : { decision: 'keep_running', reasons: ['no treatment variant'], blockers: [], variant: null },
    decisionsByVariant,
  };
}

const METHOD_NOTES: Record<Method, string> = {
  'always-valid': 'asymptotic confidence sequences (Waudby-Smith et al. 2023): intervals and p-values stay valid however often results are read',
  'fixed-horizon': 'fixed-horizon tests: valid only when read once, at the planned sample; earlier reads inflate false positives',
  'group-sequential': "group-sequential with O'Brien–Fleming-type alpha spending (Lan–DeMets) at equally spaced looks",
};

/** Planned total units: required per arm for the first success metric's MDE, scaled by the smallest arm's share. */
function plannedUnits(e: AnalysisInput['experiment'], metrics: Map<string, Metric>): number {
  const m = metrics.get(e.successMetrics[0]);
  if (!m || m.baselineVariance <= 0 || m.baselineMean === 0) return 0;
  const perArm = requiredSampleSizePerArm({
    baselineMean: m.baselineMean,
    baselineVariance: m.baselineVariance,
    mde: e.analysisPlan.mde,
    alpha: e.analysisPlan.alpha,
    power: e.analysisPlan.power,
  });
  const w = e.variants.map((v) => v.weight);
  return Math.ceil(perArm / (Math.min(...w) / w.reduce((a, b) => a + b, 0)));
}

function srmOf(exposures: { weight: number; units: number }[], threshold: number): Analysis['srm'] {
  const r = srmTest(
    exposures.map((x) => x.units),
    exposures.map((x) => x.weight),
    threshold,
  );
  if (!r.ok) return { checked: false, pValue: null, chiSquare: null, mismatch: false, note: r.reason };
  return {
    checked: true,
    pValue: r.pValue,
    chiSquare: r.chiSquare,
    mismatch: r.mismatch,
    note: r.mismatch
      ? `sample ratio mismatch (p=${r.pValue.toExponential(2)} < ${threshold}): assignment or logging is broken; no effect can be trusted`
      : 'exposure split matches the configured weights',
  };
}

function nonInferior(
  cmp: { test: { controlMean: number; absolute: Interval; standardError: number }; absolute: Interval },
  m: Metric,
  margin: number,
  alpha: number,
  method: Method,
) {
  // A relative margin needs a non-zero reference: with no events yet in control (rare metrics such as
  // crash rate), fall back to the catalog baseline rather than a threshold of 0 nothing can meet.
  const reference = cmp.test.controlMean !== 0 ? Math.abs(cmp.test.controlMean) : Math.abs(m.baselineMean);
  const threshold = margin * reference;
  if (method !== 'fixed-horizon') {
    // Read off the (always-valid or repeated) interval: the bad-side bound must stay within the margin.
    const bound = m.direction === 'increase' ? cmp.absolute.lower : cmp.absolute.upper;
    return { nonInferior: m.direction === 'increase' ? bound > -threshold : bound < threshold, bound, threshold };
  }
  const r = nonInferiorityTest({
    controlMean: cmp.test.controlMean !== 0 ? cmp.test.controlMean : m.baselineMean,
    estimate: cmp.test.absolute.estimate,
    standardError: cmp.test.standardError,
    margin,
    direction: m.direction,
    alpha,
  });
  return r.ok ? { nonInferior: r.nonInferior, bound: r.bound, threshold: r.threshold } : { nonInferior: false, bound: NaN, threshold };
}

/** Multiple-testing correction across success metrics, per treatment variant; guardrails are not corrected (each must hold). */
function correct(results: MetricResult[], method: 'holm' | 'bonferroni' | 'bh', alpha: number): void {
  const success = results.filter((r) => r.role === 'success');
  const variantKeys = success[0]?.variants.filter((v) => !v.isControl).map((v) => v.variant) ?? [];
  for (const key of variantKeys) {
    const cells = success.map((r) => r.variants.find((v) => v.variant === key)!).filter((v) => v.pValue !== null);
    const adjusted = cells.length
      ? adjustPValues(
          cells.map((v) => v.pValue!),
          method,
        )
      : [];
    cells.forEach((v, i) => {
      v.pValueAdjusted = adjusted[i];
      if (v.significant && adjusted[i] >= alpha) {
        v.significant = false;
        v.assessment = 'no_detectable_change';
        v.note = [v.note, `not significant after ${method} correction across ${cells.length} success metrics`].filter(Boolean).join('; ');
      }
    });
  }
  for (const r of results.filter((x) => x.role === 'guardrail')) for (const v of r.variants) if (v.pValue !== null) v.pValueAdjusted = v.pValue;
}

function decideFor(
  variant: string,
  results: MetricResult[],
  srm: Analysis['srm'],
  enough: boolean,
  observed: number,
  planned: number,
  days: number | null,
): DecisionResult {
  const cell = (r: MetricResult) => r.variants.find((v) => v.variant === variant)!;
  const computable = (r: MetricResult) => cell(r).absolute !== null;
  return decide({
    successMetrics: results
      .filter((r) => r.role === 'success' && computable(r))
      .map((r) => {
        const v = cell(r);
        return {
          metricId: r.metricId,
          significantBetter: v.assessment === 'better',
          significantWorse: v.assessment === 'worse',
          estimate: v.absolute!.estimate,
          interval: v.absolute!,
          pValue: v.pValueAdjusted ?? v.pValue ?? 1,
        };
      }),
    guardrails: results
      .filter((r) => r.role === 'guardrail')
      .map((r) => {
        const v = cell(r);
        return {
          metricId: r.metricId,
          nonInferior: v.nonInferiority?.nonInferior ?? false,
          significantWorse: v.assessment === 'worse',
          estimate: v.absolute?.estimate,
          bound: v.nonInferiority?.bound,
          threshold: v.nonInferiority?.threshold,
        };
      }),
    quality: {
      srmMismatch: srm.mismatch,
      srmPValue: srm.pValue ?? undefined,
      enoughData: enough,
      reasons: [
        `${observed} of ${planned} planned units (${planned ? ((100 * observed) / planned).toFixed(1) : '0'}%)${days !== null ? `, ${days.toFixed(1)} days running` : ''}`,
      ],
    },
  });
}
