import { srmTest, welchTest, type MeanSummary } from '../domain/stats/index.js';
import type { Experiment, Metric } from '../domain/schemas.js';
import type { AppDeps } from './context.js';
import type { ExperimentService } from './experiment-service.js';

export interface Interval { estimate: number; lower: number; upper: number }

export interface VariantMetricResult {
  variant: string;
  isControl: boolean;
  units: number;
  mean: number | null;
  absolute: Interval | null;
  relative: Interval | null;
  pValue: number | null;
  significant: boolean;
  assessment: 'better' | 'worse' | 'no_detectable_change' | 'not_computable' | 'control';
  note: string | null;
}

export interface MetricResult {
  metricId: string;
  name: string;
  role: 'success' | 'guardrail';
  kind: Metric['kind'];
  direction: Metric['direction'];
  variants: VariantMetricResult[];
}

export interface MetricsReport {
  experimentId: string;
  key: string;
  status: Experiment['status'];
  version: number;
  method: string;
  alpha: number;
  computedAt: string;
  lastExposureAt: string | null;
  exposures: { variant: string; weight: number; units: number }[];
  srm: { checked: boolean; pValue: number | null; chiSquare: number | null; mismatch: boolean; note: string };
  metrics: MetricResult[];
}

/** Per variant and metric: exposed units, mean, difference to control with a 95% interval and Welch p-value; SRM check. */
export class MetricsService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
    /** Writes queued exposures, so a report sees every unit served so far. */
    private readonly flushExposures: () => void = () => undefined,
  ) {}

  report(experimentId: string): MetricsReport {
    this.flushExposures();
    const exp = this.experiments.get(experimentId);
    const alpha = exp.analysisPlan.alpha;
    const counts = this.d.events.exposureCounts(exp.id);
    const exposures = exp.variants.map((v) => ({ variant: v.key, weight: v.weight, units: counts.get(v.key) ?? 0 }));
    const srmRes = srmTest(exposures.map((e) => e.units), exposures.map((e) => e.weight), this.d.policy.srmThreshold);
    const srm = srmRes.ok
      ? { checked: true, pValue: srmRes.pValue, chiSquare: srmRes.chiSquare, mismatch: srmRes.mismatch, note: srmRes.mismatch ? `sample ratio mismatch (p=${srmRes.pValue.toExponential(2)} < ${this.d.policy.srmThreshold}): assignment or logging is broken; do not trust the effects` : 'exposure split matches the configured weights' }
      : { checked: false, pValue: null, chiSquare: null, mismatch: false, note: srmRes.reason };
    const roles: [string, 'success' | 'guardrail'][] = [
      ...exp.successMetrics.map((m) => [m, 'success'] as [string, 'success']),
      ...exp.guardrails.map((g) => [g.metricId, 'guardrail'] as [string, 'guardrail']),
    ];
    const metrics = roles.flatMap(([id, role]) => {
      const m = this.d.catalog.metric(id);
      return m ? [this.metricResult(exp, m, role, alpha)] : [];
    });
    return {
      experimentId: exp.id,
      key: exp.key,
      status: exp.status,
      version: exp.version,
      method: 'welch-t (fixed horizon; always-valid sequential inference comes with the statistics engine)',
      alpha,
      computedAt: this.d.clock.now().toISOString(),
      lastExposureAt: this.d.events.lastUpdatedAt(exp.id),
      exposures,
      srm,
      metrics,
    };
  }

  private metricResult(exp: Experiment, m: Metric, role: 'success' | 'guardrail', alpha: number): MetricResult {
    const sums = new Map(this.d.events.aggregates(exp.id, m.id).map((a) => [a.variant, { n: a.n, sum: a.sumX, sumSquares: a.sumX2 }]));
    const empty: MeanSummary = { n: 0, sum: 0, sumSquares: 0 };
    const control = exp.variants.find((v) => v.isControl) ?? exp.variants[0];
    const cs = sums.get(control.key) ?? empty;
    const variants = exp.variants.map((v): VariantMetricResult => {
      const s = sums.get(v.key) ?? empty;
      const base = { variant: v.key, isControl: v.key === control.key, units: s.n, mean: s.n > 0 ? s.sum / s.n : null };
      if (v.key === control.key) return { ...base, absolute: null, relative: null, pValue: null, significant: false, assessment: 'control', note: null };
      const t = welchTest(cs, s, alpha);
      if (!t.ok) return { ...base, absolute: null, relative: null, pValue: null, significant: false, assessment: 'not_computable', note: t.reason };
      const up = t.absolute.estimate > 0;
      const good = (m.direction === 'increase') === up;
      return {
        ...base,
        absolute: t.absolute,
        relative: t.relative,
        pValue: t.pValue,
        significant: t.significant,
        assessment: t.significant ? (good ? 'better' : 'worse') : 'no_detectable_change',
        note: t.relative ? null : t.relativeReason ?? null,
      };
    });
    return { metricId: m.id, name: m.name, role, kind: m.kind, direction: m.direction, variants };
  }
}
