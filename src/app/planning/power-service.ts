import { resolveSurfacePolicy } from '../../domain/policy.js';
import type { Metric, Surface } from '../../domain/schemas.js';
import {
  metricNeeds,
  methodOf,
  unitsWithin,
  sizeExperiment,
  totalFor,
  type MetricNeed,
  type SizingConfig,
  type SizingMethod,
  type StagePlan,
} from '../../domain/sizing.js';
import { AppError, notFound } from '../../errors.js';
import type { AppDeps } from '../context.js';
import { needsAtSample, type NeedAtSample } from './power-at-sample.js';
import { plannable } from './plannable.js';

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
  /**
   * The needs read at a fixed sample: the units given (units, or durationDays of the surface's ramp), or, when
   * the planned sample is beyond the policy's maxDurationDays, the units that duration delivers. null otherwise.
   */
  atSample: { totalUnits: number; source: 'units' | 'durationDays' | 'maxDurationDays'; days: number | null; needs: NeedAtSample[] } | null;
  /** False when the plan cannot reach its power: the sample is beyond the surface's traffic in maxDurationDays, or a given sample falls short. */
  reachable: boolean;
  /** Why not, with the power and mde it does reach; null when reachable. */
  notReachable: string | null;
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
  /** Given sample: total units across arms (power and mde at it instead of only the sample for the mde). */
  units?: number;
  /** Given duration: the units the surface's ramp delivers in these days (needs surfaceId). */
  durationDays?: number;
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

  /** Inputs the schema accepts but no finite sample can satisfy (α or a weight near 0, an mde near 0) are INVALID_INPUT, never Infinity. */
  async power(p: PowerRequest): Promise<PowerPlan> {
    // The catalog is read first (async store); the sizing itself is pure.
    const metrics = new Map((await this.d.store.catalog.metrics()).map((m) => [m.id, m] as const));
    const surface = p.surfaceId ? await this.d.store.catalog.surface(p.surfaceId) : undefined;
    const surfaceIds = p.surfaceId && !surface ? await this.d.store.catalog.ids('surfaces') : [];
    return plannable(() => this.plan(p, { metrics, surface, surfaceIds }));
  }

  private plan(p: PowerRequest, catalog: { metrics: Map<string, Metric>; surface: Surface | undefined; surfaceIds: string[] }): PowerPlan {
    const m = this.usableMetric(p.metricId, catalog.metrics);
    for (const g of p.guardrails ?? [])
      if (!catalog.metrics.has(g.metricId)) throw notFound('metric', g.metricId, 'Read sealab://metrics for metric ids.', catalog.metrics.keys());
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
    const metrics = new Map(ids.map((id) => [id, catalog.metrics.get(id)!] as const));
    const surface = catalog.surface;
    if (p.surfaceId && !surface) throw notFound('surface', p.surfaceId, 'Call list_surfaces to see the surface ids.', catalog.surfaceIds);
    if (p.durationDays !== undefined && !surface)
      throw new AppError('INVALID_CONFIG', 'durationDays needs a surfaceId to turn days into units', 'Pass surfaceId, or give units instead of durationDays.');
    const sized = surface
      ? sizeExperiment(config, { surface, metrics, policy: resolveSurfacePolicy(this.d.policy, surface.id) })
      : { ...sizeWithoutSurface(config, metrics), stages: null, totalDays: null };
    const method = methodOf(config.analysisPlan);
    const maxDays = surface ? resolveSurfacePolicy(this.d.policy, surface.id).maxDurationDays : null;
    const given =
      p.units !== undefined
        ? { totalUnits: p.units, source: 'units' as const, days: null }
        : p.durationDays !== undefined && surface
          ? { totalUnits: unitsWithin(config, surface, p.durationDays), source: 'durationDays' as const, days: p.durationDays }
          : null;
    const beyondPolicy = surface && maxDays !== null && (sized.totalDays === null || sized.totalDays > maxDays);
    const read = given ?? (beyondPolicy ? { totalUnits: unitsWithin(config, surface, maxDays!), source: 'maxDurationDays' as const, days: maxDays } : null);
    const atSample = read && read.totalUnits > 0 ? { ...read, needs: needsAtSample(config, metrics, method, read.totalUnits) } : null;
    const short = atSample?.needs.filter((n) => n.power === null || n.power < n.targetPower - 1e-9) ?? [];
    const notReachable =
      read && read.totalUnits <= 0
        ? `no units at ${read.source === 'units' ? 'the given sample' : `${read.days} days`}: the surface sends no traffic at these allocations`
        : short.length > 0 && (given !== null || beyondPolicy)
          ? `${given ? `at ${atSample!.totalUnits.toLocaleString('en-US')} units${given.days !== null ? ` (${given.days} days)` : ''}` : `within the policy's ${maxDays} days (${atSample!.totalUnits.toLocaleString('en-US')} units)`}: ${short
              .map(
                (n) =>
                  `${n.metricId} reaches power ${n.power === null ? 'n/a' : fmtPower(n.power)} < ${fmtPower(n.targetPower)}${n.mde !== null ? `, detects ${fmtPower(n.mde)} at ${fmtPower(n.targetPower)}` : ''}${n.notReachable ? ` (${n.notReachable})` : ''}`,
              )
              .join('; ')}`
          : null;
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
      atSample,
      reachable: notReachable === null,
      notReachable,
      note: NOTES[methodOf(config.analysisPlan)],
    };
  }

  private usableMetric(id: string, metrics: Map<string, Metric>): Metric {
    const m = metrics.get(id);
    if (!m) throw notFound('metric', id, 'Read sealab://metrics for metric ids.', metrics.keys());
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
  const total = totalFor(perArm, config, binding?.metricId ?? '');
  return { needs, requiredPerArm: perArm, requiredTotal: total, bindingMetricId: binding?.metricId ?? null };
}

const fmtPower = (x: number) => String(Number(x.toPrecision(3)));
