import {
  absoluteMargin,
  metricNeeds,
  rampDays,
  sizeExperiment,
  smallestShare,
  totalFor,
  UNPLANNABLE_FIX,
  UnplannableError,
  unitsWithin,
  type MetricNeed,
  type SampleSizing,
} from '../sizing.js';
import type { ExperimentConfig, JsonPatchOperation, Metric } from '../schemas.js';
import { defineRule, finding, type ValidationContext } from './types.js';

export interface PowerSummary {
  requiredPerArm: number;
  requiredTotal: number;
  expectedUnits: number;
  daysNeeded: number | null;
  metricId: string;
  /** Every metric's need per arm (null: no planned sample needed), and the days each ramp stage runs. */
  needs: Pick<MetricNeed, 'metricId' | 'test' | 'requiredPerArm'>[];
  stages: SampleSizing['stages'];
  method: SampleSizing['method'];
}

/** The allocation the analysis is planned at: the last ramp stage, or the start if there is no ramp. */
export const targetPercent = (c: Pick<ExperimentConfig, 'allocationPercent' | 'rampPlan'>) => Math.max(c.allocationPercent, ...(c.rampPlan?.stages ?? []));

const sizingOf = (c: ExperimentConfig, ctx: Pick<ValidationContext, 'metrics' | 'surface' | 'policy'>) =>
  ctx.surface ? sizeExperiment(c, { surface: ctx.surface, metrics: ctx.metrics, policy: ctx.policy }) : undefined;

type SizingInputs = Pick<ValidationContext, 'metrics' | 'surface' | 'policy'>;
/** One answer per config and context: every power rule of one validation asks. */
const unplannableSeen = new WeakMap<ExperimentConfig, WeakMap<SizingInputs, UnplannableError | null>>();

/** Sizing's UnplannableError for the config (no finite sample), or null: UNPLANNABLE reports it; the other power rules stay silent. */
export function unplannable(c: ExperimentConfig, ctx: SizingInputs): UnplannableError | null {
  const seen = unplannableSeen.get(c) ?? unplannableSeen.set(c, new WeakMap()).get(c)!;
  if (!seen.has(ctx)) seen.set(ctx, sizingError(c, ctx));
  return seen.get(ctx)!;
}

function sizingError(c: ExperimentConfig, ctx: SizingInputs): UnplannableError | null {
  try {
    if (ctx.surface) sizingOf(c, ctx);
    else for (const n of metricNeeds(c, ctx.metrics)) if (n.requiredPerArm !== null) totalFor(n.requiredPerArm, c, n.metricId);
    return null;
  } catch (err) {
    if (err instanceof UnplannableError) return err;
    throw err;
  }
}

export const unplannableRule = defineRule({
  code: 'UNPLANNABLE',
  family: 'power',
  severity: 'error',
  rationale:
    'A plan whose sample no finite number holds (alpha, a weight share or the mde too close to 0, power too close to 1) can never reach its power: it would run forever.',
  fix: UNPLANNABLE_FIX,
  patchable: false,
  check: (c, ctx) => {
    const err = unplannable(c, ctx);
    return err ? [finding(unplannableRule, '$.analysisPlan', err.message, UNPLANNABLE_FIX)] : [];
  },
});

/** The plan's sizing (every metric's need, the largest) against the units its ramp delivers within durationDays. */
export function powerSummary(c: ExperimentConfig, ctx: Pick<ValidationContext, 'metrics' | 'surface' | 'policy'>): PowerSummary | undefined {
  if (unplannable(c, ctx)) return undefined;
  const s = sizingOf(c, ctx);
  if (!s || !ctx.surface || s.bindingMetricId === null) return undefined;
  return {
    requiredPerArm: s.requiredPerArm,
    requiredTotal: s.requiredTotal,
    expectedUnits: unitsWithin(c, ctx.surface, c.analysisPlan.durationDays),
    daysNeeded: s.totalDays,
    metricId: s.bindingMetricId,
    needs: s.needs.map(({ metricId, test, requiredPerArm }) => ({ metricId, test, requiredPerArm })),
    stages: s.stages,
    method: s.method,
  };
}

/** Whole weeks covering `days`, within the policy's duration range; null when even the maximum is too short. */
const weeksFor = (days: number | null, ctx: ValidationContext) =>
  days !== null && days <= ctx.policy.maxDurationDays
    ? Math.min(ctx.policy.maxDurationDays, Math.max(ctx.policy.minDurationDays, Math.ceil(days / 7) * 7))
    : null;

export const underpoweredRule = defineRule({
  code: 'UNDERPOWERED',
  family: 'power',
  severity: 'warning',
  rationale: 'An experiment that cannot reach the sample its MDE needs will most likely end inconclusive, whatever the truth.',
  fix: 'Run longer (the message gives the days needed through the ramp), raise the allocation, or accept a larger mde.',
  patchable: true,
  check: (c, ctx) => {
    if (!ctx.surface || unplannable(c, ctx)) return [];
    // Success metrics only: a guardrail that needs more is GUARDRAIL_UNDERPOWERED's, with its own fixes.
    const success = metricNeeds({ ...c, guardrails: [] }, ctx.metrics).filter((n) => n.requiredPerArm !== null);
    const binding = success.reduce<MetricNeed | null>((a, b) => (b.requiredPerArm! > (a?.requiredPerArm ?? 0) ? b : a), null);
    if (!binding) return [];
    const total = Math.ceil(binding.requiredPerArm! / smallestShare(c));
    const { totalDays: days } = rampDays(c, ctx.surface, total);
    if (days !== null && days <= c.analysisPlan.durationDays) return [];
    const weeks = weeksFor(days, ctx);
    const expected = unitsWithin(c, ctx.surface, c.analysisPlan.durationDays);
    return [
      finding(
        underpoweredRule,
        '$.analysisPlan',
        `detecting a ${(c.analysisPlan.mde * 100).toFixed(1)}% change in '${binding.metricId}' needs ${total} units (${binding.requiredPerArm} per arm, ${binding.note}), about ${days ?? '∞'} days through the ramp ${[c.allocationPercent, ...(c.rampPlan?.stages ?? [])].join('→')}% of ${ctx.surface.dailyTraffic}/day; ${c.analysisPlan.durationDays} days gives ${expected}`,
        weeks !== null
          ? `Run ${days} days (the patch plans ${weeks}, whole weeks), raise the allocation, or accept a larger mde.`
          : `Even ${ctx.policy.maxDurationDays} days (the policy maximum) is too short: raise the allocation or accept a larger mde (${days ?? '∞'} days needed).`,
        weeks !== null ? [{ op: 'replace', path: '/analysisPlan/durationDays', value: weeks }] : undefined,
      ),
    ];
  },
});

/** The smallest margin (in the guardrail's marginType) that `perArm` units show non-inferior at the need's α and power, rounded up to 2 significant digits. */
function marginFor(perArm: number, m: Metric, g: ExperimentConfig['guardrails'][number], need: MetricNeed): number {
  // n = 2σ²(k + z)²/δ² at fixed k and z: δ scales with 1/√n.
  const delta = absoluteMargin(g, m.baselineMean) * Math.sqrt(need.requiredPerArm! / perArm);
  const raw = g.marginType === 'absolute' ? delta : delta / Math.abs(m.baselineMean);
  const step = 10 ** (Math.floor(Math.log10(raw)) - 1);
  return Number((Math.ceil(raw / step) * step).toPrecision(2));
}

export const guardrailUnderpoweredRule = defineRule({
  code: 'GUARDRAIL_UNDERPOWERED',
  family: 'power',
  severity: 'warning',
  rationale:
    'Ship needs every non-inferiority guardrail shown non-inferior; a guardrail whose margin needs more units than the plan delivers makes ship unreachable, whatever the truth.',
  fix: 'Run longer (whole weeks within the policy), widen the margin within the policy maximum, or judge the guardrail by "no_deterioration" where the policy allows it.',
  patchable: true,
  check: (c, ctx) => {
    if (!ctx.surface || unplannable(c, ctx)) return [];
    const surface = ctx.surface;
    const needs = metricNeeds(c, ctx.metrics);
    const overall = sizeExperiment(c, { surface, metrics: ctx.metrics, policy: ctx.policy });
    const available = Math.floor(unitsWithin(c, surface, c.analysisPlan.durationDays) * smallestShare(c));
    return c.guardrails.flatMap((g, i) => {
      const need = needs.find((n) => n.role === 'guardrail' && n.metricId === g.metricId && n.test === 'non_inferiority');
      const m = ctx.metrics.get(g.metricId);
      // A guardrail that is also a success metric, or listed twice, is removed by another rule's patch.
      const removed = c.successMetrics.includes(g.metricId) || c.guardrails.findIndex((x) => x.metricId === g.metricId) !== i;
      if (!need || need.requiredPerArm === null || !m || removed) return [];
      const total = Math.ceil(need.requiredPerArm / smallestShare(c));
      const { totalDays: days } = rampDays(c, surface, total);
      if (days !== null && days <= c.analysisPlan.durationDays) return [];
      const policy = ctx.policy.requiredGuardrails.find((r) => r.metricId === g.metricId);
      const mayWeaken = !policy || policy.test === 'no_deterioration';
      const maxMargin = policy && policy.marginType === g.marginType ? policy.maxMargin : g.marginType === 'relative' ? 1 : Infinity;
      const margin = available >= 2 ? marginFor(available, m, g, need) : Infinity;
      const weeks = weeksFor(Math.max(days ?? Infinity, overall.totalDays ?? 0), ctx);
      const options: { text: string; patch: JsonPatchOperation[] }[] = [
        ...(weeks !== null ? [{ text: `run ${weeks} days`, patch: [{ op: 'replace' as const, path: '/analysisPlan/durationDays', value: weeks }] }] : []),
        ...(margin <= maxMargin
          ? [
              {
                text: `widen the margin to ${margin}${g.marginType === 'absolute' ? ` ${m.unit ?? ''}`.trimEnd() : ''}`,
                patch: [{ op: 'replace' as const, path: `/guardrails/${i}/margin`, value: margin }],
              },
            ]
          : []),
        ...(mayWeaken
          ? [
              {
                text: 'judge it by "no_deterioration" (ship needs only that it is not significantly worse)',
                patch: [{ op: 'replace' as const, path: `/guardrails/${i}/test`, value: 'no_deterioration' }],
              },
            ]
          : []),
      ];
      return [
        finding(
          guardrailUnderpoweredRule,
          `$.guardrails[${i}]`,
          `guardrail '${g.metricId}' cannot be shown non-inferior within ${c.analysisPlan.durationDays} days: its margin ${g.margin}${g.marginType === 'absolute' ? ' (absolute)' : ''} needs ${total} units (${need.requiredPerArm} per arm; ${need.note}), about ${days ?? '∞'} days through the ramp; the plan gives ${available} per arm`,
          options.length
            ? `Either ${options.map((o) => o.text).join(', or ')}${options.length > 1 ? ' (the patch does the first)' : ''}.`
            : `Raise the allocation or choose another guardrail: the policy allows neither a wider margin (max ${maxMargin}) nor "no_deterioration" for '${g.metricId}', and ${ctx.policy.maxDurationDays} days is too short.`,
          options[0]?.patch,
        ),
      ];
    });
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
