import type { GivenConfirmation } from '../src/app/experiments/experiment-types.js';
import { z } from 'zod';
import { ConfirmationArgSchema, defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';
import { ConclusionSchema, conclusionText } from './get-experiment.js';
import { holdForApproval, PendingApprovalSchema } from './get-approval.js';

export const stopExperiment = defineTool({
  name: 'stop_experiment',
  title: 'Stop experiment (kill switch, roll back, ship)',
  description: [
    'Ends a running or paused experiment at once: its buckets are freed and it becomes concluded with the outcome you give.',
    'outcome: "stopped" (done or broken) and "rolled_back" (the change was harmful) send every user back to the default layout. "shipped" makes the shipped variant\'s layout the surface\'s default for every user, through the backend and content delivery; it is refused unless get_metrics\' decision (always-valid analysis) says ship for that variant (variant defaults to the decision\'s), and the error lists the blockers. Undo a ship with revert_ship.',
    "The policy may ask a human to confirm (a form with elicitation; else pass confirmation {reason}); when it wants a person's approval, nothing is applied and the result carries approval {approvalId} (get_approval). Reason, confirmation and a ship's decision record are audited and shown in get_experiment's conclusion.",
    'version is optional so an emergency stop never waits on a read; pass it to stop only what you reviewed.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "crash-rate up 30% in treatment"'),
    outcome: z
      .enum(['stopped', 'rolled_back', 'shipped'])
      .default('stopped')
      .describe('"rolled_back" when the change was harmful, "shipped" when the decision is to ship'),
    variant: z.string().optional().describe('With outcome "shipped": the variant to ship, e.g. "focus" (default: the one the decision names)'),
    version: z.number().int().positive().optional().describe('Version you reviewed, to refuse if it changed since, e.g. 3'),
    confirmation: ConfirmationArgSchema.optional(),
  }),
  outputSchema: z.object({ experiment: ExperimentSummarySchema, conclusion: ConclusionSchema, approval: PendingApprovalSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    const { confirmation, ...rest } = args;
    const status = await ctx.app.stops.stopConfirmation(rest, ctx.write().actor);
    let given: GivenConfirmation | undefined;
    if (status.required) {
      const step = ctx.confirm(status.summary, confirmation, status.mode);
      if (step.kind === 'ask') return step.ask;
      if (step.kind === 'approval') {
        const held = await holdForApproval(ctx, { step: 'stop', args: rest }, step.note);
        const experiment = await ctx.app.experiments.get(args.experimentId);
        return {
          structured: { experiment: summaryOf(ctx.app, experiment), conclusion: null, approval: held.approval },
          links: [experimentLink(experiment)],
          text: held.text,
        };
      }
      given = step.confirmation;
    }
    const experiment = await ctx.app.deployments.stop({ ...rest, ...(given ? { confirmation: given } : {}) }, ctx.write(args.reason));
    const conclusion = await ctx.app.deps.store.experiments.conclusion(experiment.id);
    const seen = conclusion?.variant ? `Every user now sees '${conclusion.variant}' as the default layout.` : 'Users see the default layout.';
    return {
      structured: { experiment: summaryOf(ctx.app, experiment), conclusion },
      links: [experimentLink(experiment)],
      text: `Stopped '${experiment.key}' (${experiment.outcome}); status ${experiment.status}, v${experiment.version}. ${seen}${given ? ` Confirmed via ${given.via}.` : ''}${conclusionText(conclusion)}`,
    };
  },
});
