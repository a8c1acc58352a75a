import type { Metric } from '../../domain/schemas.js';
import { absoluteMargin, guardrailPowerOf, type SizingConfig, type SizingMethod } from '../../domain/sizing.js';
import { normalQuantile } from '../../domain/stats/distributions.js';
import { alwaysValidCritical, groupSequentialFinalBoundary, oneSidedAlwaysValidCritical } from '../../domain/stats/method-sizing.js';
import { groupSequentialMdeAtSample, groupSequentialPowerAtSample, mdeAtSample, powerAtSample, type SampleDesign } from '../../domain/stats/power-at-sample.js';

/** One need read at a fixed sample: its power at the MDE (or margin) and the smallest relative effect (or margin) it detects at its power. */
export interface NeedAtSample {
  metricId: string;
  /** Power at the plan's mde (success) or at the margin with a true effect of 0 (non-inferiority); null when not computable. */
  power: number | null;
  /** The relative effect (success) or relative margin (guardrail) detected with the target power; null when not reachable. */
  mde: number | null;
  /** The power this need is held to (1 − β/(G+1) for non-inferiority guardrails). */
  targetPower: number;
  /** Why power or mde is null: e.g. a conversion rate cannot move that far. */
  notReachable: string | null;
}

const fmt = (x: number) => Number(x.toPrecision(4));

/**
 * Every need of a plan_power sketch at `totalUnits` (all arms), the worst comparison (control vs the smallest
 * treatment arm), for the method in force. Mirrors metricNeeds (src/domain/sizing.ts): the same criticals,
 * α/S for success metrics, one-sided α at 1 − β/(G+1) for non-inferiority guardrails, p₁(1 − p₁) for a
 * treatment conversion rate.
 */
export function needsAtSample(c: SizingConfig, metrics: Map<string, Metric>, method: SizingMethod, totalUnits: number): NeedAtSample[] {
  const plan = c.analysisPlan;
  const w = c.variants.map((v) => v.weight);
  const sum = w.reduce((a, b) => a + b, 0);
  const shares = { controlShare: w[0] / sum, treatmentShare: Math.min(...w.slice(1)) / sum, totalUnits };
  const S = c.successMetrics.length;
  const level = plan.alpha / Math.max(1, S);
  const success = c.successMetrics.map((id): NeedAtSample => {
    const m = metrics.get(id)!;
    const p0 = m.baselineMean;
    const base = m.baselineVariance;
    const sign = m.direction === 'decrease' ? -1 : 1;
    const treatmentVar = (rel: number) => (m.kind === 'binary' ? p0 * (1 + sign * rel) * (1 - p0 * (1 + sign * rel)) : base);
    const outside = (rel: number) => m.kind === 'binary' && !(p0 * (1 + sign * rel) > 0 && p0 * (1 + sign * rel) < 1);
    const design = (rel: number): SampleDesign => ({ ...shares, controlVariance: base, treatmentVariance: treatmentVar(rel) });
    const critical = method === 'always-valid' ? alwaysValidCritical(level, plan.alpha) : normalQuantile(1 - level / 2);
    const powerAt = (rel: number) => {
      const d = { ...design(rel), delta: rel * Math.abs(p0) };
      return method === 'group-sequential' ? groupSequentialPowerAtSample({ ...d, looks: plan.looks!, alpha: level }) : powerAtSample({ ...d, critical });
    };
    const mdeAt = (rel: number) => {
      const d = design(rel);
      const abs =
        method === 'group-sequential'
          ? groupSequentialMdeAtSample({ ...d, looks: plan.looks!, alpha: level, power: plan.power })
          : mdeAtSample({ ...d, critical, power: plan.power });
      return abs / Math.abs(p0);
    };
    // A conversion rate's treatment variance depends on the effect: iterate δ = (k + z)·SE(δ) to its fixed point.
    let mde = mdeAt(0);
    for (let i = 0; i < 50 && m.kind === 'binary' && !outside(mde); i++) mde = mdeAt(mde);
    const limit = m.kind === 'binary' ? (sign > 0 ? (1 - p0) / p0 : 1) : null;
    const mdeReachable = !outside(mde);
    const powerComputable = !outside(plan.mde);
    return {
      metricId: id,
      power: powerComputable ? powerAt(plan.mde) : null,
      mde: mdeReachable ? mde : null,
      targetPower: plan.power,
      notReachable: !powerComputable
        ? `a conversion rate of ${fmt(p0)} cannot move by ${plan.mde} relative`
        : !mdeReachable
          ? `not reachable: at ${Math.round(totalUnits)} units the effect detectable with power ${plan.power} exceeds the largest a conversion rate of ${fmt(p0)} allows (${fmt(limit!)} relative)`
          : null,
    };
  });
  const G = c.guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority').length;
  const gPower = guardrailPowerOf(plan.power, Math.max(1, G), S);
  const critical =
    method === 'always-valid'
      ? oneSidedAlwaysValidCritical(plan.alpha) // guardrails are judged on the one-sided sequence (as the sizing)
      : method === 'group-sequential'
        ? groupSequentialFinalBoundary(plan.looks!, plan.alpha)
        : normalQuantile(1 - plan.alpha);
  const guardrails = c.guardrails.flatMap((g): NeedAtSample[] => {
    if (g.test === 'no_deterioration') return [];
    const m = metrics.get(g.metricId)!;
    const d: SampleDesign = { ...shares, controlVariance: m.baselineVariance, treatmentVariance: m.baselineVariance };
    const margin = mdeAtSample({ ...d, critical, power: gPower });
    return [
      {
        metricId: g.metricId,
        power: powerAtSample({ ...d, delta: absoluteMargin(g, m.baselineMean), critical }),
        mde: g.marginType === 'absolute' ? margin : margin / Math.abs(m.baselineMean),
        targetPower: gPower,
        notReachable: null,
      },
    ];
  });
  return [...success, ...guardrails];
}
