import { bucketsForPercent } from '../assignment.js';
import type { ExperimentConfig } from '../schemas.js';
import { requiredSampleSizePerArm } from '../stats/index.js';
import { defineRule, finding, type ValidationContext } from './types.js';

export interface PowerSummary {
  requiredPerArm: number;
  requiredTotal: number;
  expectedUnits: number;
  daysNeeded: number | null;
  metricId: string;
}

/** The allocation the analysis is planned at: the last ramp stage, or the start if there is no ramp. */
export const targetPercent = (c: Pick<ExperimentConfig, 'allocationPercent' | 'rampPlan'>) => Math.max(c.allocationPercent, ...(c.rampPlan?.stages ?? []));

/** Required sample for the first success metric's MDE vs. the units the surface sends over the planned duration. */
export function powerSummary(c: ExperimentConfig, ctx: Pick<ValidationContext, 'metrics' | 'surface'>): PowerSummary | undefined {
  const metric = ctx.metrics.get(c.successMetrics[0]);
  if (!metric || !ctx.surface) return undefined;
  const perArm = requiredSampleSizePerArm({
    baselineMean: metric.baselineMean,
    baselineVariance: metric.baselineVariance,
    mde: c.analysisPlan.mde,
    alpha: c.analysisPlan.alpha,
    power: c.analysisPlan.power,
  });
  const weights = c.variants.map((v) => v.weight);
  const minShare = Math.min(...weights) / weights.reduce((a, b) => a + b, 0);
  const requiredTotal = Math.ceil(perArm / minShare);
  // Traffic follows the buckets actually owned, not the raw percent.
  const perDay = (ctx.surface.dailyTraffic * bucketsForPercent(ctx.surface.bucketCount, targetPercent(c))) / ctx.surface.bucketCount;
  return {
    requiredPerArm: perArm,
    requiredTotal,
    expectedUnits: Math.floor(perDay * c.analysisPlan.durationDays),
    daysNeeded: perDay > 0 ? Math.ceil(requiredTotal / perDay) : null,
    metricId: metric.id,
  };
}

export const underpoweredRule = defineRule({
  code: 'UNDERPOWERED',
  family: 'power',
  severity: 'warning',
  rationale: 'An experiment that cannot reach the sample its MDE needs will most likely end inconclusive, whatever the truth.',
  fix: 'Run longer (the message gives the days needed), raise the allocation, or accept a larger mde.',
  patchable: true,
  check: (c, ctx) => {
    const p = powerSummary(c, ctx);
    if (!p || p.expectedUnits >= p.requiredTotal) return [];
    const days = p.daysNeeded;
    const fits = days !== null && days <= ctx.policy.maxDurationDays;
    const weeks = fits ? Math.min(ctx.policy.maxDurationDays, Math.max(ctx.policy.minDurationDays, Math.ceil(days / 7) * 7)) : null;
    return [
      finding(
        underpoweredRule,
        '$.analysisPlan',
        `detecting a ${(c.analysisPlan.mde * 100).toFixed(1)}% change in '${p.metricId}' needs ${p.requiredTotal} units, about ${days ?? '∞'} days at ${targetPercent(c)}% of ${ctx.surface!.dailyTraffic}/day; ${c.analysisPlan.durationDays} days gives ${p.expectedUnits}`,
        fits
          ? `Run ${days} days (the patch plans ${weeks}, whole weeks), raise the allocation, or accept a larger mde.`
          : `Even ${ctx.policy.maxDurationDays} days (the policy maximum) is too short: raise the allocation or accept a larger mde (${days ?? '∞'} days needed).`,
        weeks !== null ? [{ op: 'replace', path: '/analysisPlan/durationDays', value: weeks }] : undefined,
      ),
    ];
  },
});

export const durationRule = defineRule({
  code: 'DURATION_OUT_OF_RANGE',
  family: 'power',
  severity: 'error',
  rationale: 'Too short misses weekly cycles and novelty effects; too long blocks the surface and invites peeking.',
  fix: 'Plan a duration within the policy range (sealab://policy minDurationDays–maxDurationDays).',
  patchable: true,
  check: (c, ctx) => {
    const { minDurationDays: min, maxDurationDays: max } = ctx.policy;
    const d = c.analysisPlan.durationDays;
    if (d >= min && d <= max) return [];
    return [
      finding(
        durationRule,
        '$.analysisPlan.durationDays',
        `duration ${d} days is outside the policy range ${min}–${max}`,
        `Plan between ${min} and ${max} days (a full week at least, to cover weekly cycles).`,
        [{ op: 'replace', path: '/analysisPlan/durationDays', value: Math.min(max, Math.max(min, d)) }],
      ),
    ];
  },
});

export const mdeRangeRule = defineRule({
  code: 'MDE_OUT_OF_RANGE',
  family: 'power',
  severity: 'error',
  rationale: 'An MDE below the range needs more traffic than the surface has; above it, only implausibly large effects could be detected.',
  fix: 'Set analysisPlan.mde within the policy mdeRange.',
  patchable: true,
  check: (c, ctx) => {
    const { min, max } = ctx.policy.mdeRange;
    const mde = c.analysisPlan.mde;
    if (mde >= min && mde <= max) return [];
    return [
      finding(mdeRangeRule, '$.analysisPlan.mde', `mde ${mde} is outside the policy range ${min}–${max}`, `Set mde between ${min} and ${max}.`, [
        { op: 'replace', path: '/analysisPlan/mde', value: Math.min(max, Math.max(min, mde)) },
      ]),
    ];
  },
});
