import { z } from 'zod';
import { ExperimentStatus } from '../src/domain/schemas.js';
import { defineTool } from '../src/mcp/define-tool.js';
import { listedAs } from '../src/mcp/listed-schema.js';
import type { RampStatus } from '../src/app/ramp/ramp-scheduler.js';
import { RESULTS_APP_URI } from '../resources/results-app.js';

const IntervalSchema = z.object({ estimate: z.number(), lower: z.number(), upper: z.number() });
const TickSchema = z.object({
  experimentId: z.string(),
  key: z.string(),
  at: z.string(),
  action: z.enum(['advanced', 'rolled_back', 'waiting', 'held', 'complete', 'refused']),
  reason: z.string(),
});

export const RampStatusSchema = z.object({
  experimentId: z.string(),
  key: z.string(),
  status: ExperimentStatus,
  version: z.number().int().describe('Cite it in advance_ramp'),
  allocationPercent: z.number(),
  stage: z.number().int().describe('Current stage, 1 = the start allocation'),
  stageCount: z.number().int(),
  plannedStages: z.array(z.number()),
  nextPercent: z.number().nullable(),
  stageStartedAt: z.string().nullable(),
  hoursInStage: z.number().nullable(),
  minHours: z.number(),
  gate: listedAs(
    z.object({
      holds: z.boolean().describe('Every check passes'),
      checks: z.array(z.object({ name: z.enum(['min_duration', 'srm', 'guardrails', 'data', 'enough_data']), pass: z.boolean(), detail: z.string() })),
      minUnitsPerArm: z.number().int(),
      unitsPerArm: z.array(z.object({ variant: z.string(), units: z.number().int() })),
      srm: z.object({ checked: z.boolean(), pValue: z.number().nullable(), mismatch: z.boolean() }),
      guardrails: z.array(
        z.object({
          metricId: z.string(),
          variant: z.string(),
          assessment: z.string().describe('"worse" trips the circuit breaker'),
          controlMean: z.number().nullable(),
          mean: z.number().nullable(),
          absolute: IntervalSchema.nullable().describe('Treatment minus control with its always-valid interval'),
          relativeEstimate: z.number().nullable(),
          pValue: z.number().nullable(),
        }),
      ),
      blind: z
        .array(z.object({ metricId: z.string(), role: z.enum(['success', 'guardrail']), variant: z.string(), units: z.number().int() }))
        .describe('Metrics with exposed units but no event yet in an arm: the gate does not pass while any is listed'),
      blindGraceHours: z.number().describe('Past this many hours in the stage, a blind guardrail holds the ramp (policy.blindGraceHours)'),
    }),
    {
      type: 'object',
      description:
        'holds, checks [{name, pass, detail}]; their numbers: minUnitsPerArm, unitsPerArm, srm, guardrails [{metricId, variant, assessment, absolute, pValue}], blind',
      properties: {
        holds: { type: 'boolean' },
        checks: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, pass: { type: 'boolean' }, detail: { type: 'string' } } } },
      },
    },
  ),
  breaker: z.object({ tripped: z.boolean(), reasons: z.array(z.string()) }).describe('Tripped: the next tick rolls the experiment back'),
  hold: z.object({ reason: z.string(), actor: z.string(), at: z.string() }).nullable().describe('Set by hold_ramp: automatic advancement paused'),
  nextAction: z.enum(['advance', 'wait', 'held', 'roll_back', 'complete', 'none']).describe('What the scheduler does at its next tick'),
  reason: z.string(),
  planHash: z.string().describe('Plan hash of the config in force: cite it in advance_ramp'),
  lastTick: listedAs(TickSchema, { type: 'object', description: 'at, action, reason' })
    .nullable()
    .describe("The scheduler's last tick since the server started"),
});

/** Where a ramp stands after a step (advance_ramp, hold_ramp): the gate's numbers stay in get_ramp_status. */
export const RampSummarySchema = RampStatusSchema.pick({
  stage: true,
  stageCount: true,
  allocationPercent: true,
  nextPercent: true,
  hoursInStage: true,
  hold: true,
  nextAction: true,
  reason: true,
}).extend({ gateHolds: z.boolean().describe('Every gate check passes (get_ramp_status shows them)') });
export type RampSummary = z.infer<typeof RampSummarySchema>;

export const rampSummary = (s: RampStatus): RampSummary => ({
  stage: s.stage,
  stageCount: s.stageCount,
  allocationPercent: s.allocationPercent,
  nextPercent: s.nextPercent,
  hoursInStage: s.hoursInStage,
  hold: s.hold,
  nextAction: s.nextAction,
  reason: s.reason,
  gateHolds: s.gate.holds,
});

/** One paragraph an agent can read: where the ramp is and what happens next. */
export function rampText(s: RampStatus): string {
  const checks = s.gate.checks.map((c) => `${c.pass ? '✓' : '✗'} ${c.detail}`).join('\n');
  return `'${s.key}' (${s.status}, v${s.version}) at ${s.allocationPercent}%, stage ${s.stage}/${s.stageCount}${s.nextPercent !== null ? `, next ${s.nextPercent}%` : ''}.\nGate:\n${checks}\nNext action: ${s.nextAction} — ${s.reason}`;
}

export const getRampStatus = defineTool({
  name: 'get_ramp_status',
  title: 'Get ramp status and gate',
  description: [
    "Shows where a running experiment is in its ramp plan and what the ramp scheduler does next: stage, allocation, hours in stage against rampPlan.minHours, and the gate with its numbers (SRM p-value, each guardrail's estimate and always-valid interval, blind metrics, units per arm against rampPlan.gate.minUnitsPerArm).",
    'nextAction: "advance" (gate holds; the next tick ramps), "wait" (reason says which check fails), "held" (hold_ramp), "roll_back" (a guardrail is significantly worse: the breaker rolls it back at the next tick), "complete" (last stage), "none" (not running).',
    'Cheap. Use it before advance_ramp or hold_ramp; use get_metrics for the full analysis and stop_experiment as the kill switch.',
  ].join('\n'),
  inputSchema: z.object({ experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"') }),
  outputSchema: RampStatusSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  ui: RESULTS_APP_URI,
  handler: async (args, ctx) => {
    const s = await ctx.app.ramps.status(args.experimentId);
    return { structured: s, text: rampText(s) };
  },
});
