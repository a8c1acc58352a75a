import { resolveSurfacePolicy } from '../../domain/policy.js';
import type { Metric } from '../../domain/schemas.js';
import {
  metricNeeds,
  methodOf,
  sizeExperiment,
  smallestShare,
  type MetricNeed,
  type SizingConfig,
  type SizingMethod,
  type StagePlan,
} from '../../domain/sizing.js';
import { AppError, notFound } from '../../errors.js';
import type { AppDeps } from '../context.js';

export interface PowerPlan {
  metricId: string;
  baselineMean: number;
  baselineVariance: number;
  mde: number;
  alpha: number;
  power: number;
  method: SizingMethod;
  /** The largest need (success metric or non-inferiority guardrail), per arm and in total. */
  requiredPerArm: number;
  requiredTotal: number;
  bindingMetricId: string | null;
  needs: Pick<MetricNeed, 'metricId' | 'test' | 'requiredPerArm' | 'note'>[];
  dailyUnits: number | null;
  stages: StagePlan[] | null;
  expectedDays: number | null;
  note: string;
}

export interface PowerRequest {
  metricId: string;
  mde: number;
  alpha: number;
  power: number;
  weights: number[];
  surfaceId?: string;
  allocationPercent: number;
  rampStages?: number[];
  guardrails?: SizingConfig['guardrails'];
  method: SizingMethod;
  looks?: number;
}

const NOTES: Record<SizingMethod, string> = {
  'always-valid':
    'sized for the always-valid default: the confidence sequence clears the mde with the stated power at the planned sample (about 1.9× the fixed-horizon size)',
  'fixed-horizon': 'fixed-horizon sample size: valid only when read once, at the planned sample',
  'group-sequential': "group-sequential: the fixed-horizon size times the O'Brien–Fleming max-sample inflation",
};

/** Power and sample size from the metric catalog's baselines and the surface's traffic, through the one sizing (src/domain/sizing.ts). */
export class PowerService {
  constructor(private readonly d: AppDeps) {}

  power(p: PowerRequest): PowerPlan {
    const m = this.usableMetric(p.metricId);
    for (const g of p.guardrails ?? []) if (!this.d.catalog.metric(g.metricId)) throw notFound('metric', g.metricId, 'Read sealab://metrics for metric ids.');
    const config: SizingConfig = {
      variants: p.weights.map((weight) => ({ weight })),
      successMetrics: [m.id],
      guardrails: p.guardrails ?? [],
      allocationPercent: p.allocationPercent,
      rampPlan: { stages: p.rampStages ?? [] },
      analysisPlan: {
        alpha: p.alpha,
        power: p.power,
        mde: p.mde,
        durationDays: 14,
        sequential: p.method !== 'fixed-horizon',
        looks: p.method === 'group-sequential' ? (p.looks ?? 5) : undefined,
        correction: 'holm',
        cuped: false,
        bayesian: false,
      },
    };
    const ids = [m.id, ...config.guardrails.map((g) => g.metricId)];
    const metrics = new Map(ids.map((id) => [id, this.d.catalog.metric(id)!] as const));
    const surface = p.surfaceId ? this.d.catalog.surface(p.surfaceId) : undefined;
    if (p.surfaceId && !surface) throw notFound('surface', p.surfaceId, 'Call list_surfaces to see the surface ids.');
    const sized = surface
      ? sizeExperiment(config, { surface, metrics, policy: resolveSurfacePolicy(this.d.policy, surface.id) })
      : { ...sizeWithoutSurface(config, metrics), stages: null, totalDays: null };
    return {
      metricId: m.id,
      baselineMean: m.baselineMean,
      baselineVariance: m.baselineVariance,
      mde: p.mde,
      alpha: p.alpha,
      power: p.power,
      method: methodOf(config.analysisPlan),
      requiredPerArm: sized.requiredPerArm,
      requiredTotal: sized.requiredTotal,
      bindingMetricId: sized.bindingMetricId,
      needs: sized.needs.map(({ metricId, test, requiredPerArm, note }) => ({ metricId, test, requiredPerArm, note })),
      dailyUnits: surface ? (sized.stages?.at(-1)?.unitsPerDay ?? null) : null,
      stages: sized.stages,
      expectedDays: sized.totalDays,
      note: NOTES[methodOf(config.analysisPlan)],
    };
  }

  private usableMetric(id: string): Metric {
    const m = this.d.catalog.metric(id);
    if (!m) throw notFound('metric', id, 'Read sealab://metrics for metric ids.');
    if (m.baselineMean === 0 || m.baselineVariance <= 0) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `metric '${m.id}' has no usable baseline (mean ${m.baselineMean}, variance ${m.baselineVariance})`,
        'Pick a metric with a baseline, or give an absolute MDE on a metric with a known variance.',
      );
    }
    return m;
  }
}

/** Needs without traffic: the sample only. */
function sizeWithoutSurface(config: SizingConfig, metrics: Map<string, Metric>) {
  const needs = metricNeeds(config, metrics);
  const binding = needs.reduce<MetricNeed | null>((a, b) => ((b.requiredPerArm ?? 0) > (a?.requiredPerArm ?? 0) ? b : a), null);
  const perArm = binding?.requiredPerArm ?? 0;
  const total = Math.ceil(perArm / smallestShare(config));
  return { needs, requiredPerArm: perArm, requiredTotal: total, bindingMetricId: binding?.metricId ?? null };
}
