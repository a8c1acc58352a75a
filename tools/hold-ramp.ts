import { z } from 'zod';
import { defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';
import { RampSummarySchema, rampSummary, rampText } from './get-ramp-status.js';

export const holdRamp = defineTool({
  name: 'hold_ramp',
  title: 'Hold or resume automatic ramping',
  description: [
    'Pauses (action "hold") or resumes (action "resume") the server\'s automatic advancement of an experiment through its ramp plan. While held, the experiment keeps serving at its current allocation and the circuit breaker stays armed: a guardrail significantly worse still rolls it back.',
    'Use it when a human wants to look before more users see the change, or while investigating something get_ramp_status shows. The reason and who held it land in the audit log and in get_ramp_status.',
    'Not a kill switch: to stop serving use pause_experiment, to end it stop_experiment. To advance by hand while held use advance_ramp.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"'),
    action: z.enum(['hold', 'resume']).default('hold').describe('"hold" pauses automatic advancement, "resume" lifts the hold'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "waiting for the weekly crash report"'),
  }),
  outputSchema: z.object({ experiment: ExperimentSummarySchema, ramp: RampSummarySchema }),
  toolset: 'operator',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const s =
      args.action === 'hold'
        ? await ctx.app.ramps.hold(args.experimentId, args.reason, ctx.write(args.reason))
        : await ctx.app.ramps.resume(args.experimentId, ctx.write(args.reason));
    const e = await ctx.app.experiments.get(s.experimentId);
    return {
      structured: { experiment: summaryOf(ctx.app, e), ramp: rampSummary(s) },
      links: [experimentLink(e)],
      text: `${args.action === 'hold' ? 'Held' : 'Resumed'} automatic ramping.\n${rampText(s)}`,
    };
  },
});
