import type { GivenConfirmation } from '../src/app/experiments/experiment-types.js';
import { z } from 'zod';
import { ConfirmationArgSchema, defineTool } from '../src/mcp/define-tool.js';
import { experimentLink } from '../src/mcp/experiment-summary.js';
import { ConclusionSchema } from './get-experiment.js';
import { holdForApproval, PendingApprovalSchema } from './get-approval.js';

export const revertShip = defineTool({
  name: 'revert_ship',
  title: 'Revert a ship',
  description: [
    "Undoes a ship: the shipped variant's layout stops being the surface's default, so every user sees the layout as it was without it (earlier ships and catalog defaults). It goes through the backend and content delivery like a ship, is audited, and is recorded on the experiment's conclusion (who, when, why).",
    'Only for an experiment concluded with outcome "shipped" (stop_experiment) and not yet reverted; get_experiment shows its conclusion. The policy may ask a human to confirm (as for a stop): clients with elicitation get a short form; others pass confirmation {reason}.',
    'To replace a shipped layout with a better one, run and ship a new experiment instead: a later ship wins the slots it changes.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"'),
    reason: z.string().min(3).max(1000).describe('Why, e.g. "retention dropped after the ship"'),
    confirmation: ConfirmationArgSchema.optional(),
  }),
  outputSchema: z.object({
    experimentId: z.string(),
    key: z.string(),
    surfaceId: z.string(),
    conclusion: ConclusionSchema,
    approval: PendingApprovalSchema,
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  toolset: 'operator',
  handler: async (args, ctx) => {
    const { confirmation, ...rest } = args;
    const status = await ctx.app.stops.revertConfirmation(rest, ctx.write().actor);
    let given: GivenConfirmation | undefined;
    if (status.required) {
      const step = ctx.confirm(status.summary, confirmation, status.mode);
      if (step.kind === 'ask') return step.ask;
      if (step.kind === 'approval') {
        const held = await holdForApproval(ctx, { step: 'revert_ship', args: rest }, step.note);
        const e = status.exp;
        return {
          structured: { experimentId: e.id, key: e.key, surfaceId: e.surfaceId, conclusion: status.conclusion, approval: held.approval },
          text: held.text,
        };
      }
      given = step.confirmation;
    }
    const { experiment: e, conclusion } = await ctx.app.deployments.revertShip({ ...rest, ...(given ? { confirmation: given } : {}) }, ctx.write(args.reason));
    return {
      structured: { experimentId: e.id, key: e.key, surfaceId: e.surfaceId, conclusion },
      links: [experimentLink(e)],
      text: `Reverted the ship of '${e.key}' (variant '${conclusion.variant}') on ${e.surfaceId}: its layout is no longer the default.${given ? ` Confirmed via ${given.via}.` : ''}`,
    };
  },
});
