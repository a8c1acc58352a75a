import { decide, type BlindMetric, type DecisionResult, type PendingItem } from '../stats/index.js';
import type { Analysis, MetricResult } from './analysis-types.js';

/** One treatment variant's decision: its cells turned into the decision rule's evidence (success, guardrails, quality, time). */
export function decideFor(
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
