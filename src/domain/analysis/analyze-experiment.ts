import { DECISION_RULE, srmTest, type BlindMetric } from '../stats/index.js';
import type { Metric } from '../schemas.js';
import { guardrailPowerOf, metricNeeds, smallestShare } from '../sizing.js';
import { compareArms, fixedTest, type ArmStats, type Method } from './compare-arms.js';
import { isBlind, pendingItems } from './plan-progress.js';
import { bayesianNotComputable, bayesianView, msprtMixing, type SequentialMethod } from './sequential-options.js';
import { correctSuccessMetrics, intervalAtLevel, readerKey, successLevels, type LevelReader } from './adjusted-intervals.js';
import { sketchQuantile } from '../quantile-sketch.js';
import type { Analysis, AnalysisInput, GuardrailEntry, MetricResult, VariantResult } from './analysis-types.js';
import { nonInferior } from './guardrail-bound.js';
import { decideFor } from './decision-input.js';

export type { Analysis, AnalysisInput, MetricResult, NiBoundMethod, VariantResult } from './analysis-types.js';

const EMPTY: ArmStats = { n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 };

/** The whole analysis of one experiment, pure: aggregates in, estimates, tests, SRM and the decision out. */
export function analyzeExperiment(input: AnalysisInput): Analysis {
  const { experiment: e, metrics } = input;
  const plan = e.analysisPlan;
  const method: Method = plan.looks ? 'group-sequential' : plan.sequential ? 'always-valid' : 'fixed-horizon';
  const control = (e.variants.find((v) => v.isControl) ?? e.variants[0]).key;
  const first = e.successMetrics.map((id) => input.stats.get(id)).find(Boolean);
  const exposures = e.variants.map((v) => ({ variant: v.key, weight: v.weight, units: first?.get(v.key)?.n ?? 0 }));
  const observedTotal = exposures.reduce((s, x) => s + x.units, 0);
  const sizing = input.sizing ?? sizingFromMetrics(e, metrics);
  const plannedTotal = sizing.requiredTotal;
  const { pending, requiredDays, daysRunning } = pendingItems({
    observedTotal,
    plannedTotal,
    durationDays: plan.durationDays,
    startedAt: e.startedAt,
    now: input.now,
  });
  // The sequence is tuned (and group-sequential looks are spaced) at the sample the plan can actually
  // deliver: a need beyond it (a guardrail margin too tight for the traffic) would otherwise tune the
  // sequence at millions of units and blunt the early detection of harm.
  const tuningTotal = plan.sequentialTuning ?? (sizing.deliverableTotal ? Math.min(plannedTotal, sizing.deliverableTotal) : plannedTotal);
  const sequentialMethod: SequentialMethod = plan.sequentialMethod ?? 'confidence_sequence';
  const settings = {
    method,
    alpha: plan.alpha,
    cuped: plan.cuped,
    plannedTotal: tuningTotal,
    observedTotal,
    looks: plan.looks,
    proportionTest: plan.proportionTest,
  };

  const srm = srmOf(exposures, input.srmThreshold);
  const roles: [string, 'success' | 'guardrail', GuardrailEntry | null][] = [
    ...e.successMetrics.map((id) => [id, 'success', null] as [string, 'success', null]),
    ...e.guardrails.map((g) => [g.metricId, 'guardrail', g] as [string, 'guardrail', GuardrailEntry]),
  ];
  const levelReaders = new Map<string, LevelReader>();
  const results: MetricResult[] = roles.flatMap(([id, role, guardrail]) => {
    const m = metrics.get(id);
    if (!m) return [];
    const arms = input.stats.get(id) ?? new Map<string, ArmStats>();
    const c = arms.get(control) ?? EMPTY;
    const variants = e.variants.map((v): VariantResult => {
      const s = arms.get(v.key) ?? EMPTY;
      const mean = armMean(m, s);
      const base = {
        variant: v.key,
        isControl: v.key === control,
        units: s.n,
        mean,
        blind: isBlind(m, s),
        pValueAdjusted: null,
        adjustedInterval: null,
        nonInferiority: null,
        bayesian: plan.bayesian ? bayesianNotComputable({ control: c.n, treatment: s.n }, 'the comparison is not computable') : null,
        msprt: null,
      };
      if (v.key === control)
        return { ...base, absolute: null, relative: null, pValue: null, significant: false, assessment: 'control', varianceReduction: null, note: null };
      const mixing = method === 'always-valid' && sequentialMethod === 'msprt' ? msprtMixing(plan, m, c.n > 0 ? c.sumX / c.n : 0) : null;
      const earlier = (input.history?.get(id) ?? []).flatMap((day) => {
        const t = mixing ? fixedTest(m, day.get(control) ?? EMPTY, day.get(v.key) ?? EMPTY, plan.alpha, plan.cuped) : null;
        return t?.ok ? [t] : [];
      });
      const cmp = compareArms(m, c, s, mixing ? { ...settings, sequentialMethod, msprt: { ...mixing, earlier } } : settings);
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
      if (role === 'success') levelReaders.set(readerKey(id, v.key), (level) => intervalAtLevel(cmp, settings, level));
      const good = (m.direction === 'increase') === cmp.absolute.estimate > 0;
      const ni =
        guardrail && guardrail.test !== 'no_deterioration'
          ? nonInferior(cmp, m, guardrail, plan.alpha, method, { n: observedTotal, tuningN: tuningTotal, sequentialMethod })
          : null;
      const bayes = plan.bayesian ? bayesianView(plan, m.direction, cmp.test, { control: c.n, treatment: s.n }) : null;
      return {
        ...base,
        absolute: cmp.absolute,
        relative: cmp.relative,
        pValue: cmp.pValue,
        significant: cmp.significant,
        assessment: cmp.significant ? (good ? 'better' : 'worse') : 'no_detectable_change',
        varianceReduction: cmp.varianceReduction,
        nonInferiority: ni,
        bayesian: bayes,
        msprt: cmp.msprt ?? null,
        note: cmp.note,
      };
    });
    return [
      {
        metricId: m.id,
        name: m.name,
        role,
        kind: m.kind,
        ...(m.quantile !== undefined ? { quantile: m.quantile } : {}),
        direction: m.direction,
        margin: guardrail?.margin ?? null,
        marginType: guardrail ? (guardrail.marginType ?? 'relative') : null,
        test: guardrail ? (guardrail.test ?? 'non_inferiority') : null,
        variants,
      },
    ];
  });
  correctSuccessMetrics(results, plan.correction, plan.alpha, levelReaders);

  const blind: BlindMetric[] = results.flatMap((r) =>
    r.variants.filter((v) => v.blind).map((v) => ({ metricId: r.metricId, role: r.role, variant: v.variant })),
  );
  const progress = { pending, blind, observed: observedTotal, planned: plannedTotal, days: daysRunning, requiredDays };
  const decisionsByVariant = e.variants.filter((v) => v.key !== control).map((v) => ({ variant: v.key, ...decideFor(v.key, control, results, srm, progress) }));
  const rank = { ship: 0, roll_back: 1, keep_running: 2, inconclusive: 3 } as const;
  const best = [...decisionsByVariant].sort((a, b) => rank[a.decision] - rank[b.decision])[0];
  const record = {
    rule: { ...DECISION_RULE },
    method,
    alpha: plan.alpha,
    correction: plan.correction,
    power: plan.power,
    guardrailPower: sizing.guardrailPower,
    successAlpha: successLevels(results, best?.variant ?? null),
    guardrailAlpha: e.guardrails.some((g) => (g.test ?? 'non_inferiority') === 'non_inferiority') ? plan.alpha : null,
    plannedTotal,
    observedTotal,
    requiredDays,
    daysRunning,
  };
  return {
    method,
    methodNote: method === 'always-valid' && sequentialMethod === 'msprt' ? MSPRT_NOTE : METHOD_NOTES[method],
    sequential: method === 'always-valid' ? { method: sequentialMethod, tuningTotal, tuningFromPlan: plan.sequentialTuning !== undefined } : null,
    alpha: plan.alpha,
    correction: plan.correction,
    sample: {
      plannedTotal,
      observedTotal,
      fractionOfPlan: plannedTotal > 0 ? observedTotal / plannedTotal : 0,
      daysRunning,
      requiredDays,
      bindingMetricId: sizing.bindingMetricId,
    },
    blind,
    pending,
    exposures,
    srm,
    metrics: results,
    decision: best ? { ...best, ...record } : { decision: 'keep_running', reasons: ['no treatment variant'], blockers: [], pending, variant: null, ...record },
    decisionsByVariant,
  };
}

const MSPRT_NOTE =
  'mixture SPRT (Johari et al. 2017/2022): e-value against a N(0, τ²) mixture of effects; the p-value is the running minimum over the daily looks and the interval their intersection, valid however often results are read';

/** What an arm's `mean` shows: Σx/n, a ratio's Σnum/Σden, a quantile metric's quantile of unit values. */
function armMean(m: Metric, s: ArmStats): number | null {
  if (m.kind === 'quantile') return sketchQuantile(s.sketch ?? [], m.quantile ?? 0.5);
  return s.n > 0 ? (m.kind === 'ratio' ? (s.sumY !== 0 ? s.sumX / s.sumY : null) : s.sumX / s.n) : null;
}

const METHOD_NOTES: Record<Method, string> = {
  'always-valid': 'asymptotic confidence sequences (Waudby-Smith et al. 2023): intervals and p-values stay valid however often results are read',
  'fixed-horizon': 'fixed-horizon tests: valid only when read once, at the planned sample; earlier reads inflate false positives',
  'group-sequential': "group-sequential with O'Brien–Fleming-type alpha spending (Lan–DeMets) at equally spaced looks",
};

/** The planned sample from the metrics alone (no surface: no stage days), as sizeExperiment computes it. */
function sizingFromMetrics(e: AnalysisInput['experiment'], metrics: Map<string, Metric>): NonNullable<AnalysisInput['sizing']> {
  const needs = metricNeeds(e, metrics);
  const binding = needs.reduce<(typeof needs)[number] | null>((a, b) => ((b.requiredPerArm ?? 0) > (a?.requiredPerArm ?? 0) ? b : a), null);
  const ni = e.guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority').length;
  return {
    requiredTotal: Math.ceil((binding?.requiredPerArm ?? 0) / smallestShare(e)),
    bindingMetricId: binding?.requiredPerArm ? binding.metricId : null,
    guardrailPower: ni > 0 ? guardrailPowerOf(e.analysisPlan.power, ni, e.successMetrics.length) : null,
  };
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
