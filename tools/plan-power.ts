import { z } from 'zod';
import { GuardrailSchema } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';

const Method = z.enum(['always-valid', 'fixed-horizon', 'group-sequential']);

export const planPower = defineTool({
  name: 'plan_power',
  title: 'Plan sample size and duration',
  description: [
    "Sample size for planning, from the metric catalog's baselines: the units per arm to detect a relative change (mde) in a success metric at alpha and power, and what each guardrail's non-inferiority test at its margin needs (power corrected for the number of guardrails); the largest need is the plan's sample.",
    'Sized for the analysis that will judge it: always-valid (the default, peeking-safe), fixed-horizon or group-sequential. With a surface: the days each ramp stage runs and the total days from the surface traffic.',
    'Both ways: give units (total across arms) or durationDays (with surfaceId: the units the ramp delivers in those days) to get, per metric, the power at the mde (or margin) and the smallest relative effect detectable at the target power (atSample). Without them, and when the planned sample is beyond the policy maxDurationDays, atSample reads the needs at what that duration delivers; reachable is false with notReachable saying why (never a number the traffic cannot deliver, nor an effect a conversion rate cannot make).',
    'Use it before create_experiment to choose mde, guardrail margins, allocationPercent, ramp and analysisPlan.durationDays; validate_config runs the same sizing on a full config (UNDERPOWERED, GUARDRAIL_UNDERPOWERED).',
    'Read-only; stores nothing.',
  ].join('\n'),
  inputSchema: z.object({
    metricId: z.string().describe('Success metric id, e.g. "stream-rate" (see sealab://metrics)'),
    mde: z.number().gt(0).lt(10).describe('Minimum detectable effect relative to the baseline, e.g. 0.05 for +5%'),
    alpha: z.number().gt(0).lt(0.5).default(0.05).describe('Two-sided significance level, e.g. 0.05'),
    power: z.number().gt(0.5).lt(1).default(0.8).describe('Probability of detecting the mde if it is real, e.g. 0.8'),
    weights: z.array(z.number().positive()).min(2).default([50, 50]).describe('Variant weights, control first, e.g. [50, 50]'),
    guardrails: z.array(GuardrailSchema).optional().describe('Guardrails to size too, e.g. [{"metricId":"latency-ms","margin":0.02}]'),
    method: Method.default('always-valid').describe('The analysis to size for, e.g. "always-valid" (analysisPlan.sequential, the default)'),
    looks: z.number().int().min(2).max(20).optional().describe('group-sequential: number of looks, e.g. 5'),
    surfaceId: z.string().optional().describe('Surface for traffic, e.g. "home"; omit for sample size only'),
    allocationPercent: z.number().gt(0).max(100).default(10).describe('First stage allocation, e.g. 10'),
    rampStages: z.array(z.number().gt(0).max(100)).max(10).optional().describe('Later ramp allocations, e.g. [25, 50]'),
    units: z.number().int().positive().optional().describe('Given sample: total units across arms, for power and mde at it, e.g. 40000'),
    durationDays: z
      .number()
      .gt(0)
      .max(365)
      .optional()
      .describe('Given duration (needs surfaceId): power and mde at the units the ramp delivers in it, e.g. 14'),
  }),
  outputSchema: z.object({
    metricId: z.string(),
    baselineMean: z.number(),
    baselineVariance: z.number(),
    mde: z.number(),
    alpha: z.number(),
    power: z.number(),
    method: Method,
    requiredPerArm: z.number().int().describe('The largest need, per arm'),
    requiredTotal: z.number().int(),
    bindingMetricId: z.string().nullable(),
    needs: z.array(
      z.object({
        metricId: z.string(),
        test: z.enum(['superiority', 'non_inferiority', 'no_deterioration']),
        requiredPerArm: z.number().int().nullable(),
        note: z.string(),
      }),
    ),
    dailyUnits: z.number().nullable().describe('Units per day at the last stage'),
    stages: z.array(z.object({ percent: z.number(), unitsPerDay: z.number(), days: z.number().nullable(), reason: z.string() })).nullable(),
    expectedDays: z.number().int().nullable().describe('Days through the ramp to the planned sample'),
    atSample: z
      .object({
        totalUnits: z.number(),
        source: z.enum(['units', 'durationDays', 'maxDurationDays']),
        days: z.number().nullable(),
        needs: z.array(
          z.object({
            metricId: z.string(),
            power: z.number().nullable().describe('At the mde (success) or at the margin with no true effect (non-inferiority guardrail)'),
            mde: z.number().nullable().describe('Relative effect (or margin, in its marginType) detected with targetPower; null when not reachable'),
            targetPower: z.number(),
            notReachable: z.string().nullable(),
          }),
        ),
      })
      .nullable()
      .describe('Needs read at a fixed sample: the one given, or what the policy maxDurationDays delivers when the plan needs more'),
    reachable: z.boolean().describe('false: the target power is not reached (see notReachable)'),
    notReachable: z.string().nullable(),
    note: z.string(),
  }),
  toolset: 'analysis',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const p = await ctx.app.power.power(args);
    const needs = p.needs.map((n) => `${n.metricId} ${n.test}: ${n.requiredPerArm?.toLocaleString('en-US') ?? 'no planned sample'}`).join('; ');
    const at = p.atSample
      ? ` At ${p.atSample.totalUnits.toLocaleString('en-US')} units (${p.atSample.source}): ${p.atSample.needs.map((n) => `${n.metricId} power ${n.power?.toFixed(3) ?? 'n/a'}, detects ${n.mde === null ? 'nothing reachable' : `${(100 * n.mde).toFixed(2)}%`} at ${n.targetPower.toFixed(3)}`).join('; ')}.`
      : '';
    return {
      structured: p,
      text: `${p.requiredPerArm.toLocaleString('en-US')} units per arm (${p.requiredTotal.toLocaleString('en-US')} total, ${p.method}) to detect ${(100 * p.mde).toFixed(1)}% on ${p.metricId} at α=${p.alpha}, power ${p.power}; per metric: ${needs}${p.expectedDays !== null ? `; about ${p.expectedDays} days through ${p.stages!.map((s) => `${s.percent}%`).join('→')} of ${args.surfaceId}` : ''}.${at}${p.reachable ? '' : ` NOT REACHABLE: ${p.notReachable}.`}`,
    };
  },
});
