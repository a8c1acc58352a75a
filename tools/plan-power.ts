import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';

export const planPower = defineTool({
  name: 'plan_power',
  title: 'Plan sample size and duration',
  description: [
    "Power calculation for planning: the units per arm needed to detect a relative change (mde) in a metric at the given alpha and power, from the metric catalog's baseline mean and variance; with a surface and allocation, the expected duration in days from the surface's daily traffic.",
    'Use it before create_experiment to choose mde, allocationPercent and analysisPlan.durationDays; validate_config runs the same check (UNDERPOWERED) on a full config.',
    'Read-only; stores nothing.',
  ].join('\n'),
  inputSchema: z.object({
    metricId: z.string().describe('Success metric id, e.g. "stream-rate" (see sealab://metrics)'),
    mde: z.number().gt(0).lt(10).describe('Minimum detectable effect relative to the baseline, e.g. 0.02 for +2%'),
    alpha: z.number().gt(0).lt(0.5).default(0.05).describe('Two-sided significance level, e.g. 0.05'),
    power: z.number().gt(0.5).lt(1).default(0.8).describe('Probability of detecting the mde if it is real, e.g. 0.8'),
    weights: z.array(z.number().positive()).min(2).default([50, 50]).describe('Variant weights, control first, e.g. [50, 50]'),
    surfaceId: z.string().optional().describe('Surface for traffic, e.g. "home"; omit for sample size only'),
    allocationPercent: z.number().gt(0).max(100).default(10).describe('Share of the surface traffic in the experiment, e.g. 10'),
  }),
  outputSchema: z.object({
    metricId: z.string(),
    baselineMean: z.number(),
    baselineVariance: z.number(),
    mde: z.number(),
    alpha: z.number(),
    power: z.number(),
    requiredPerArm: z.number().int(),
    requiredTotal: z.number().int(),
    dailyUnits: z.number().nullable(),
    expectedDays: z.number().int().nullable(),
    note: z.string(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (args, ctx) => {
    const p = ctx.app.power.power(args);
    return {
      structured: p,
      text: `${p.requiredPerArm.toLocaleString('en-US')} units per arm (${p.requiredTotal.toLocaleString('en-US')} total) to detect ${(100 * p.mde).toFixed(1)}% on ${p.metricId} at α=${p.alpha}, power ${p.power}${p.expectedDays !== null ? `; about ${p.expectedDays} days at ${args.allocationPercent}% of ${args.surfaceId}` : ''}.`,
    };
  },
});
