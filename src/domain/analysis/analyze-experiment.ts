import {
  decide,
  DECISION_RULE,
  nonInferiorityTest,
  oneSidedConfidenceSequence,
  srmTest,
  type BlindMetric,
  type DecisionRecord,
  type DecisionResult,
  type Interval,
  type PendingItem,
} from '../stats/index.js';
import type { Experiment, Metric } from '../schemas.js';
import { absoluteMargin, guardrailPowerOf, metricNeeds, smallestShare, type SampleSizing } from '../sizing.js';
import { compareArms, fixedTest, type ArmStats, type Method } from './compare-arms.js';
import { isBlind, pendingItems } from './plan-progress.js';
import { bayesianNotComputable, bayesianView, msprtMixing, type BayesianView, type SequentialMethod } from './sequential-options.js';
import { correctSuccessMetrics, intervalAtLevel, readerKey, successLevels, type AdjustedInterval, type LevelReader } from './adjusted-intervals.js';
import { sketchQuantile } from '../quantile-sketch.js';

export interface VariantResult {
  variant: string;
  isControl: boolean;
  units: number;
  mean: number | null;
  absolute: Interval | null;
  relative: Interval | null;
  pValue: number | null;
  pValueAdjusted: number | null;
  /** Success metrics: the interval at the level the multiplicity correction judged this cell at; significant exactly when it excludes 0. */
  adjustedInterval: AdjustedInterval | null;
  significant: boolean;
  /** The arm has exposed units but none has any data for this metric yet: it cannot be judged. */
  blind: boolean;
  assessment: 'better' | 'worse' | 'no_detectable_change' | 'not_computable' | 'control';
  varianceReduction: number | null;
  /** Non-inferiority guardrails: the bad-side bound against the margin, and which bound it is (NiBoundMethod). */
  nonInferiority: { nonInferior: boolean; bound: number; threshold: number; boundMethod: NiBoundMethod } | null;
  /** analysisPlan.bayesian: the posterior on the absolute scale, or { ok: false, reason } ('no data' when an arm has none). */
  bayesian: BayesianView | null;
  /** mSPRT plans: τ², this look's log e-value and p (pValue is the running minimum over the daily looks). */
  msprt: { mixingVariance: number; logEValue: number; pValueAtLook: number } | null;
  note: string | null;
}

export interface MetricResult {
  metricId: string;
  name: string;
  role: 'success' | 'guardrail';
  kind: Metric['kind'];
  /** Quantile metrics: the level, e.g. 0.9 (each arm's mean is then its P90 of unit values). */
  quantile?: number;
  direction: Metric['direction'];
  margin: number | null;
  marginType: 'relative' | 'absolute' | null;
  /** Guardrails: how ship judges it ('no_deterioration' passes unless significantly worse). */
  test: 'non_inferiority' | 'no_deterioration' | null;
  variants: VariantResult[];
}

export interface Analysis {
  method: Method;
  methodNote: string;
  /** Always-valid plans: which sequential test and where the confidence sequence is tuned. */
  sequential: { method: SequentialMethod; tuningTotal: number; tuningFromPlan: boolean } | null;
  alpha: number;
  correction: string;
  sample: {
    plannedTotal: number;
    observedTotal: number;
    fractionOfPlan: number;
    daysRunning: number | null;
    /** Whole days the plan requires before ship (durationDays below a week, whole weeks from 7 up). */
    requiredDays: number;
    /** The metric whose need sets plannedTotal. */
    bindingMetricId: string | null;
  };
  /** Success and guardrail metrics with no data in some arm that has units. */
  blind: BlindMetric[];
  /** What the plan still waits for (sample, duration) and when each will be met. */
  pending: PendingItem[];
  exposures: { variant: string; weight: number; units: number }[];
  srm: { checked: boolean; pValue: number | null; chiSquare: number | null; mismatch: boolean; note: string };
  metrics: MetricResult[];
  decision: DecisionRecord;
  decisionsByVariant: (DecisionResult & { variant: string })[];
}

export interface AnalysisInput {
  experiment: Pick<Experiment, 'variants' | 'successMetrics' | 'guardrails' | 'analysisPlan' | 'startedAt' | 'status'>;
  metrics: Map<string, Metric>;
  /** Per metric id, per variant key. */
  stats: Map<string, Map<string, ArmStats>>;
  srmThreshold: number;
  now: Date;
  /** The plan's sizing (sizeExperiment): sets the planned sample. Without it, the needs are computed from the metrics alone. */
  /** mSPRT plans: per metric id, the daily snapshots (oldest first) of the per-variant statistics, for the running minimum. */
  history?: Map<string, Map<string, ArmStats>[]>;
  sizing?: Pick<SampleSizing, 'requiredTotal' | 'bindingMetricId' | 'guardrailPower'> & Partial<Pick<SampleSizing, 'deliverableTotal'>>;
}

const EMPTY: ArmStats = { n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 };
type GuardrailEntry = { metricId: string; margin: number; marginType?: 'relative' | 'absolute'; test?: 'non_inferiority' | 'no_deterioration' };

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

/** Which bound judged a non-inferiority guardrail: all valid at α on the bad side, the two-sided ones conservatively (α/2). */
export type NiBoundMethod =
  | 'one-sided test'
  | 'one-sided confidence sequence'
  | 'two-sided confidence sequence'
  | 'mSPRT interval'
  | 'repeated confidence interval';

function nonInferior(
  cmp: { test: { controlMean: number; absolute: Interval; standardError: number }; absolute: Interval },
  m: Metric,
  g: GuardrailEntry,
  alpha: number,
  method: Method,
  sequence: { n: number; tuningN: number; sequentialMethod: SequentialMethod },
): NonNullable<VariantResult['nonInferiority']> {
  // A relative margin needs a non-zero reference: with no events yet in control (rare metrics such as
  // crash rate), fall back to the catalog baseline rather than a threshold of 0 nothing can meet.
  const reference = cmp.test.controlMean !== 0 ? Math.abs(cmp.test.controlMean) : Math.abs(m.baselineMean);
  const threshold = absoluteMargin({ margin: g.margin, marginType: g.marginType ?? 'relative' }, reference);
  const judge = (bound: number, boundMethod: NiBoundMethod) => ({
    nonInferior: m.direction === 'increase' ? bound >= -threshold : bound <= threshold,
    bound,
    threshold,
    boundMethod,
  });
  if (method === 'always-valid' && sequence.sequentialMethod === 'confidence_sequence') {
    // Non-inferiority is one-sided at α: the one-sided sequence's bound on the bad side, tuned at the same
    // n as the two-sided one (which spends α/2 per side and stays the circuit breaker's harm test).
    const one = oneSidedConfidenceSequence({
      estimate: cmp.test.absolute.estimate,
      standardError: cmp.test.standardError,
      n: sequence.n,
      tuningN: Math.max(sequence.tuningN, 2),
      alpha,
      side: m.direction === 'increase' ? 'greater' : 'lesser',
    });
    if (one.ok) return judge(one.bound, 'one-sided confidence sequence');
  }
  if (method !== 'fixed-horizon') {
    // Read off the interval in force (two-sided sequence, mSPRT or repeated interval): valid, conservative.
    const bound = m.direction === 'increase' ? cmp.absolute.lower : cmp.absolute.upper;
    const boundMethod =
      method === 'group-sequential'
        ? 'repeated confidence interval'
        : sequence.sequentialMethod === 'msprt'
          ? 'mSPRT interval'
          : 'two-sided confidence sequence';
    return judge(bound, boundMethod);
  }
  // nonInferiorityTest takes the margin relative to the reference: an absolute one is restated so.
  const r = nonInferiorityTest({
    controlMean: reference,
    estimate: cmp.test.absolute.estimate,
    standardError: cmp.test.standardError,
    margin: threshold / reference,
    direction: m.direction,
    alpha,
  });
  const boundMethod = 'one-sided test';
  return r.ok
    ? { nonInferior: r.nonInferior, bound: r.bound, threshold: r.threshold, boundMethod }
    : { nonInferior: false, bound: NaN, threshold, boundMethod };
}

function decideFor(
  variant: string,
  control: string,
  results: MetricResult[],
  srm: Analysis['srm'],
  p: { pending: PendingItem[]; blind: BlindMetric[]; observed: number; planned: number; days: number | null; requiredDays: number },
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
          test: r.test ?? 'non_inferiority',
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
      enoughData: p.pending.length === 0,
      pending: p.pending,
      blind: p.blind.filter((b) => b.variant === variant || b.variant === control),
      reasons: [
        `${p.observed} of ${p.planned} planned units (${p.planned ? ((100 * p.observed) / p.planned).toFixed(1) : '0'}%)${p.days !== null ? `, ${Math.floor(p.days)} of ${p.requiredDays} planned whole days` : ''}`,
      ],
    },
  });
}
