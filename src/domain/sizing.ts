import { bucketsForPercent } from './assignment.js';
import type { SurfacePolicy } from './policy.js';
import type { ExperimentConfig, Metric, Surface } from './schemas.js';
import { requiredSampleSizePerArm } from './stats/index.js';

/**
 * How many units an experiment needs and how long its ramp takes to get them: the one sizing that
 * the generator, validate_config's power findings, plan_power and the decision's "planned sample"
 * all read, so they cannot disagree.
 */

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
}

export interface SizingContext {
  surface: Surface;
  metrics: Map<string, Metric>;
  policy: SurfacePolicy;
}

/** The sizing of a config: every metric's need, the largest, and the ramp's days per stage. */
export function sizeExperiment(c: ExperimentConfig, ctx: SizingContext): SampleSizing {
  const plan = c.analysisPlan;
  const needs: MetricNeed[] = c.successMetrics.map((id) => {
    const m = ctx.metrics.get(id);
    if (!m || m.baselineVariance <= 0 || m.baselineMean === 0)
      return { metricId: id, role: 'success', test: 'superiority', requiredPerArm: null, note: 'no usable baseline' };
    const n = requiredSampleSizePerArm({
      baselineMean: m.baselineMean,
      baselineVariance: m.baselineVariance,
      mde: plan.mde,
      alpha: plan.alpha,
      power: plan.power,
    });
    return { metricId: id, role: 'success', test: 'superiority', requiredPerArm: n, note: `two-sided α ${plan.alpha}, power ${plan.power}, mde ${plan.mde}` };
  });
  const binding = needs.reduce<MetricNeed | null>((a, b) => ((b.requiredPerArm ?? 0) > (a?.requiredPerArm ?? 0) ? b : a), null);
  const perArm = binding?.requiredPerArm ?? 0;
  const weights = c.variants.map((v) => v.weight);
  const minShare = Math.min(...weights) / weights.reduce((a, b) => a + b, 0);
  const requiredTotal = Math.ceil(perArm / minShare);
  const perDay = (pct: number) => (ctx.surface.dailyTraffic * bucketsForPercent(ctx.surface.bucketCount, pct)) / ctx.surface.bucketCount;
  const last = Math.max(c.allocationPercent, ...c.rampPlan.stages);
  const days = perDay(last) > 0 ? Math.ceil(requiredTotal / perDay(last)) : null;
  return {
    needs,
    requiredPerArm: perArm,
    requiredTotal,
    bindingMetricId: binding?.metricId ?? null,
    stages: [{ percent: last, unitsPerDay: Math.floor(perDay(last)), days, reason: 'the whole sample at the last stage' }],
    totalDays: days,
  };
}
