import { bucketsForPercent } from './assignment.js';
import type { SurfacePolicy } from './policy.js';
import type { ExperimentConfig, Metric, Surface } from './schemas.js';
import { normalQuantile } from './stats/distributions.js';
import { alwaysValidCritical, groupSequentialFinalBoundary, groupSequentialInflation, sampleSizeForCritical } from './stats/method-sizing.js';

/**
 * How many units an experiment needs and how long its ramp takes to get them: the one sizing that
 * the generator, validate_config's power findings, plan_power and the decision's "planned sample"
 * all read, so they cannot disagree. docs/stats.md ("Sizing") gives the formulas and sources.
 */

type AnalysisPlan = ExperimentConfig['analysisPlan'];
type Guardrail = ExperimentConfig['guardrails'][number];

/** What sizing reads of a config (plan_power sizes a sketch with no key or content). */
export type SizingConfig = Pick<ExperimentConfig, 'successMetrics' | 'guardrails' | 'analysisPlan' | 'allocationPercent' | 'rampPlan'> & {
  variants: { weight: number }[];
};

export type SizingMethod = 'always-valid' | 'fixed-horizon' | 'group-sequential';

/** The inference method a plan asks for: looks → group-sequential, else sequential → always-valid, else fixed horizon. */
export const methodOf = (plan: Pick<AnalysisPlan, 'looks' | 'sequential'>): SizingMethod =>
  plan.looks ? 'group-sequential' : plan.sequential ? 'always-valid' : 'fixed-horizon';

/** One metric's need: a success metric's superiority test at the MDE, or a guardrail's test at its margin. */
export interface MetricNeed {
  metricId: string;
  role: 'success' | 'guardrail';
  test: 'superiority' | 'non_inferiority' | 'no_deterioration';
  /** Units per arm; null when the test needs no planned sample (no_deterioration) or the metric has no usable baseline. */
  requiredPerArm: number | null;
  /** How it was computed, with the numbers (α, power after correction, margin or MDE, baseline). */
  note: string;
}

/** One ramp stage as planned: its allocation, the traffic it gets and the days it runs. */
export interface StagePlan {
  percent: number;
  unitsPerDay: number;
  /** Days at this stage: its minimum duration and the gate's units for a middle stage; the rest of the sample for the last. */
  days: number | null;
  reason: string;
}

export interface SampleSizing {
  needs: MetricNeed[];
  /** The largest need (what the plan must reach), per arm, and in total across arms by the smallest weight. */
  requiredPerArm: number;
  requiredTotal: number;
  /** The metric whose need is the largest. */
  bindingMetricId: string | null;
  stages: StagePlan[];
  /** Days from start to the planned sample through the ramp; null when some stage never gets there. */
  totalDays: number | null;
  /** Units the ramp delivers within analysisPlan.durationDays: the analysis tunes its sequence at min(requiredTotal, this). */
  deliverableTotal: number;
  /** The inference method the needs are sized for. */
  method: SizingMethod;
  /** α each success metric is sized at (the plan's α split across success metrics, Bonferroni). */
  successAlpha: number;
  /** Power each non-inferiority guardrail is sized at: 1 − β/(G + 1) with G guardrails and a success metric (1 − β/G without). */
  guardrailPower: number | null;
}

export interface SizingContext {
  surface: Surface;
  metrics: Map<string, Metric>;
  policy: SurfacePolicy;
}

/** The smallest arm's share of the traffic: it reaches a per-arm need last. */
export const smallestShare = (c: { variants: { weight: number }[] }) => {
  const w = c.variants.map((v) => v.weight);
  return Math.min(...w) / w.reduce((a, b) => a + b, 0);
};

/** Units per day the surface sends at `percent` (traffic follows the buckets actually owned, not the raw percent). */
export const unitsPerDayAt = (surface: Pick<Surface, 'dailyTraffic' | 'bucketCount'>, percent: number) =>
  (surface.dailyTraffic * bucketsForPercent(surface.bucketCount, percent)) / surface.bucketCount;

/** The allocations an experiment runs at, in order: the start, then each later ramp stage. */
export const rampPercents = (c: Pick<ExperimentConfig, 'allocationPercent' | 'rampPlan'>) => [c.allocationPercent, ...(c.rampPlan?.stages ?? [])];

/** The planned minimum duration in whole days: durationDays below a week, whole weeks from 7 days up (weekly cycles). */
export const requiredWholeDays = (durationDays: number) => (durationDays < 7 ? durationDays : 7 * Math.floor(durationDays / 7));

/** The absolute deterioration a guardrail tolerates, in the metric's unit: margin × |baseline| when relative. */
export const absoluteMargin = (g: Pick<Guardrail, 'margin' | 'marginType'>, reference: number) =>
  g.marginType === 'absolute' ? g.margin : g.margin * Math.abs(reference);

const usable = (m: Metric | undefined): m is Metric => !!m && m.baselineVariance > 0 && m.baselineMean !== 0;
const fmt = (x: number) => Number(x.toPrecision(4));

/** The sizing of a config: every metric's need, the largest, and the ramp's days per stage. */
export function sizeExperiment(c: SizingConfig, ctx: SizingContext): SampleSizing {
  const needs = metricNeeds(c, ctx.metrics);
  const binding = needs.reduce<MetricNeed | null>((a, b) => ((b.requiredPerArm ?? 0) > (a?.requiredPerArm ?? 0) ? b : a), null);
  const perArm = binding?.requiredPerArm ?? 0;
  const requiredTotal = Math.ceil(perArm / smallestShare(c));
  const ramp = rampDays(c, ctx.surface, requiredTotal);
  const plan = c.analysisPlan;
  const ni = c.guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority').length;
  return {
    needs,
    requiredPerArm: perArm,
    requiredTotal,
    bindingMetricId: binding?.requiredPerArm ? binding.metricId : null,
    stages: ramp.stages,
    totalDays: ramp.totalDays,
    deliverableTotal: unitsWithin(c, ctx.surface, plan.durationDays),
    method: methodOf(plan),
    successAlpha: plan.alpha / Math.max(1, c.successMetrics.length),
    guardrailPower: ni > 0 ? guardrailPowerOf(plan.power, ni, c.successMetrics.length) : null,
  };
}

/** Spotify's risk-aware power correction (confidence, multiple_comparison.add_adjusted_power): 1 − β/(G + 1), or 1 − β/G without success metrics. */
export const guardrailPowerOf = (power: number, guardrails: number, successMetrics: number) =>
  1 - (1 - power) / (successMetrics > 0 ? guardrails + 1 : guardrails);

/** Every success metric's and guardrail's need under the plan's method. */
export function metricNeeds(c: Pick<ExperimentConfig, 'successMetrics' | 'guardrails' | 'analysisPlan'>, metrics: Map<string, Metric>): MetricNeed[] {
  const plan = c.analysisPlan;
  const method = methodOf(plan);
  const S = c.successMetrics.length;
  const level = plan.alpha / Math.max(1, S);
  const success = c.successMetrics.map((id): MetricNeed => {
    const m = metrics.get(id);
    if (!usable(m)) return { metricId: id, role: 'success', test: 'superiority', requiredPerArm: null, note: 'no usable baseline in the catalog' };
    const delta = plan.mde * Math.abs(m.baselineMean);
    const critical = method === 'always-valid' ? alwaysValidCritical(level, plan.alpha) : normalQuantile(1 - level / 2);
    let n = sampleSizeForCritical({ variance: m.baselineVariance, delta, critical, power: plan.power });
    if (method === 'group-sequential') n = Math.ceil(n * groupSequentialInflation(plan.looks!, level, plan.power));
    return {
      metricId: id,
      role: 'success',
      test: 'superiority',
      requiredPerArm: n,
      note: `${method}, two-sided α ${fmt(level)}${S > 1 ? ` (${plan.alpha}/${S})` : ''}, power ${plan.power}, mde ${plan.mde} relative (δ ${fmt(delta)} on baseline ${fmt(m.baselineMean)})`,
    };
  });
  const G = c.guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority').length;
  const gPower = guardrailPowerOf(plan.power, Math.max(1, G), S);
  const guardrails = c.guardrails.map((g): MetricNeed => {
    if (g.test === 'no_deterioration')
      return {
        metricId: g.metricId,
        role: 'guardrail',
        test: 'no_deterioration',
        requiredPerArm: null,
        note: 'judged only by "not significantly worse": needs no planned sample',
      };
    const m = metrics.get(g.metricId);
    if (!usable(m))
      return { metricId: g.metricId, role: 'guardrail', test: 'non_inferiority', requiredPerArm: null, note: 'no usable baseline in the catalog' };
    const delta = absoluteMargin(g, m.baselineMean);
    const critical =
      method === 'always-valid'
        ? alwaysValidCritical(plan.alpha)
        : method === 'group-sequential'
          ? groupSequentialFinalBoundary(plan.looks!, plan.alpha)
          : normalQuantile(1 - plan.alpha);
    const n = sampleSizeForCritical({ variance: m.baselineVariance, delta, critical, power: gPower });
    return {
      metricId: g.metricId,
      role: 'guardrail',
      test: 'non_inferiority',
      requiredPerArm: n,
      note: `${method}, one-sided at α ${plan.alpha}, power ${fmt(gPower)} (1 − β/${S > 0 ? G + 1 : G}), true effect 0, margin ${g.margin}${g.marginType === 'absolute' ? ' absolute' : ` relative (${fmt(delta)} on baseline ${fmt(m.baselineMean)})`}`,
    };
  });
  return [...success, ...guardrails];
}

/**
 * The ramp's days to `requiredTotal` units: a middle stage runs max(rampPlan.minHours (24 h), the
 * time its gate needs to see minUnitsPerArm (100) units per arm); units accumulate across stages;
 * the last stage runs until the total is reached (or the stage where it is reached ends the count).
 */
export function rampDays(
  c: Pick<SizingConfig, 'allocationPercent' | 'rampPlan' | 'variants'>,
  surface: Pick<Surface, 'dailyTraffic' | 'bucketCount'>,
  requiredTotal: number,
): { stages: StagePlan[]; totalDays: number | null } {
  const percents = rampPercents(c);
  const minDays = (c.rampPlan?.minHours ?? 24) / 24;
  const gateTotal = (c.rampPlan?.gate?.minUnitsPerArm ?? 100) / smallestShare(c);
  const stages: StagePlan[] = [];
  let units = 0;
  let total: number | null = 0;
  for (const [i, percent] of percents.entries()) {
    const perDay = unitsPerDayAt(surface, percent);
    const last = i === percents.length - 1;
    const toSample = perDay > 0 ? Math.max(0, requiredTotal - units) / perDay : requiredTotal > units ? Infinity : 0;
    const base = { percent, unitsPerDay: Math.floor(perDay) };
    if (total !== null && units >= requiredTotal && requiredTotal > 0) {
      stages.push({ ...base, days: 0, reason: 'the planned sample is reached before this stage' });
      continue;
    }
    let days: number;
    let reason: string;
    if (last) {
      days = toSample;
      reason = `runs until the planned ${requiredTotal} units are reached`;
    } else {
      const toGate = perDay > 0 ? Math.max(0, gateTotal - units) / perDay : Infinity;
      days = Math.max(minDays, toGate);
      reason = toGate > minDays ? `the gate's units per arm take ${round(toGate)} days` : `the stage's minimum ${round(minDays * 24)} hours`;
      if (toSample <= days) {
        days = Math.max(toSample, 0);
        reason = `the planned ${requiredTotal} units are reached in this stage`;
      }
    }
    if (!Number.isFinite(days)) {
      stages.push({ ...base, days: null, reason: 'no traffic at this allocation: the stage never ends' });
      total = null;
      continue;
    }
    units += days * perDay;
    if (total !== null) total += days;
    stages.push({ ...base, days: round(days), reason });
  }
  return { stages, totalDays: total === null ? null : Math.ceil(total * (1 - 1e-9)) };
}

/** Units the ramp has delivered after `days` days (stage minimums and gates as rampDays plans them). */
export function unitsWithin(
  c: Pick<SizingConfig, 'allocationPercent' | 'rampPlan' | 'variants'>,
  surface: Pick<Surface, 'dailyTraffic' | 'bucketCount'>,
  days: number,
): number {
  const { stages } = rampDays(c, surface, Number.MAX_SAFE_INTEGER);
  let left = days;
  let units = 0;
  for (const s of stages) {
    const d = s.days === null ? left : Math.min(left, s.days);
    units += d * unitsPerDayAt(surface, s.percent);
    left -= d;
    if (left <= 0) break;
  }
  return Math.floor(units);
}

const round = (x: number) => Math.round(x * 100) / 100;
