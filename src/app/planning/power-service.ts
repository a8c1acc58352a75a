import { expectedDurationDays, requiredSampleSizePerArm } from '../../domain/stats/index.js';
import { AppError, notFound } from '../../errors.js';
import type { AppDeps } from '../context.js';

export interface PowerPlan {
  metricId: string;
  baselineMean: number;
  baselineVariance: number;
  mde: number;
  alpha: number;
  power: number;
  requiredPerArm: number;
  requiredTotal: number;
  dailyUnits: number | null;
  expectedDays: number | null;
  note: string;
}

/** Power and sample size from the metric catalog's baseline mean and variance and the surface's traffic. */
export class PowerService {
  constructor(private readonly d: AppDeps) {}

  power(p: { metricId: string; mde: number; alpha: number; power: number; weights: number[]; surfaceId?: string; allocationPercent: number }): PowerPlan {
    const m = this.d.catalog.metric(p.metricId);
    if (!m) throw notFound('metric', p.metricId, 'Read sealab://metrics for metric ids.');
    if (m.baselineMean === 0 || m.baselineVariance <= 0) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `metric '${m.id}' has no usable baseline (mean ${m.baselineMean}, variance ${m.baselineVariance})`,
        'Pick a metric with a baseline, or give an absolute MDE on a metric with a known variance.',
      );
    }
    const perArm = requiredSampleSizePerArm({ baselineMean: m.baselineMean, baselineVariance: m.baselineVariance, mde: p.mde, alpha: p.alpha, power: p.power });
    const total = p.weights.reduce((a, b) => a + b, 0);
    const requiredTotal = Math.ceil(perArm / (Math.min(...p.weights) / total));
    let dailyUnits: number | null = null;
    let expectedDays: number | null = null;
    if (p.surfaceId) {
      const s = this.d.catalog.surface(p.surfaceId);
      if (!s) throw notFound('surface', p.surfaceId, 'Call list_surfaces to see the surface ids.');
      dailyUnits = (s.dailyTraffic * p.allocationPercent) / 100;
      expectedDays = expectedDurationDays({ requiredPerArm: perArm, weights: p.weights, dailyUnits });
    }
    return {
      metricId: m.id,
      baselineMean: m.baselineMean,
      baselineVariance: m.baselineVariance,
      mde: p.mde,
      alpha: p.alpha,
      power: p.power,
      requiredPerArm: perArm,
      requiredTotal,
      dailyUnits,
      expectedDays,
      note: 'fixed-horizon sample size (two-sided z approximation); the always-valid default needs more data for the same power — plan about 1.5–2× or use a group-sequential plan (analysisPlan.looks)',
    };
  }
}
