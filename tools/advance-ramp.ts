import type { GivenConfirmation } from '../src/app/experiments/experiment-types.js';
import { z } from 'zod';
import { AppError } from '../src/errors.js';
import { ConfirmationArgSchema, defineTool } from '../src/mcp/define-tool.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';
import { ConfirmationStatusSchema, DeployPlanSchema } from './deploy-to-surface.js';
import { RampSummarySchema, rampSummary, rampText } from './get-ramp-status.js';
import { holdForApproval, PendingApprovalSchema } from './get-approval.js';

export const advanceRamp = defineTool({
  name: 'advance_ramp',
  title: 'Advance ramp to the next stage',
  description: [
    "Moves a running experiment to the next stage of its ramp plan now, by hand, instead of waiting for the server's ramp scheduler. It is a deploy_to_surface of the next rampPlan stage: the same plan-hash check, re-judgement at deploy time (collisions, freeze windows), bucket allocation, allocation approvals and audit.",
    'Call get_ramp_status first: it gives the version, the planHash to cite and the gate with its numbers. A human must confirm when the policy asks for it for this ramp, and always when the gate does not hold (short form with elicitation; otherwise pass confirmation {reason}). A decline changes nothing.',
    'Refused at the last stage. Not for starting or resuming (deploy_to_surface), pausing automatic ramps (hold_ramp) or stopping (stop_experiment, the kill switch).',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key, e.g. "home-focus-shelf"'),
    version: z.number().int().positive().describe('The version get_ramp_status showed, e.g. 3'),
    planHash: z.string().min(16).max(128).describe('planHash from get_ramp_status (or the last deploy), e.g. "3f9a…"'),
    confirmation: ConfirmationArgSchema.optional(),
  }),
  outputSchema: z.object({
    applied: z.boolean(),
    planHash: z.string().describe('Plan hash of the config now in force'),
    plan: DeployPlanSchema,
    confirmation: ConfirmationStatusSchema,
    experiment: ExperimentSummarySchema,
    ramp: RampSummarySchema.describe('The ramp after the advance'),
    approval: PendingApprovalSchema,
  }),
  toolset: 'operator',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    const before = await ctx.app.ramps.status(args.experimentId);
    if (before.status !== 'running' || before.nextPercent === null) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `experiment '${before.key}' is ${before.status} at ${before.allocationPercent}%, ${before.nextPercent === null ? 'the last stage of its plan' : 'not running'}; there is no stage to advance to`,
        before.status === 'running'
          ? 'Call get_metrics to decide, then stop_experiment (shipped, rolled_back or stopped).'
          : 'Resume it with deploy_to_surface first.',
      );
    }
    const input = { experimentId: before.experimentId, version: args.version, planHash: args.planHash, allocationPercent: before.nextPercent };
    const preview = await ctx.app.deploys.deploy({ ...input, dryRun: true }, ctx.write());
    let given: GivenConfirmation | undefined;
    if (preview.confirmation.required || !before.gate.holds) {
      const gate = before.gate.holds
        ? 'the ramp gate holds'
        : `the ramp gate does NOT hold (${before.gate.checks
            .filter((c) => !c.pass)
            .map((c) => c.detail)
            .join('; ')})`;
      const step = ctx.confirm(
        `${preview.confirmation.summary}; ${gate}`,
        args.confirmation,
        preview.confirmation.required ? preview.confirmation.mode : 'confirm',
      );
      if (step.kind === 'ask') return step.ask;
      if (step.kind === 'approval') {
        const held = await holdForApproval(ctx, { step: 'deploy', args: input }, step.note);
        const { replayed: _replayed, ...out } = preview;
        return {
          structured: {
            ...out,
            experiment: { ...summaryOf(ctx.app, preview.experiment), planHash: preview.planHash },
            ramp: rampSummary(before),
            approval: held.approval,
          },
          links: [experimentLink(preview.experiment)],
          text: held.text,
        };
      }
      given = step.confirmation;
    }
    const r = await ctx.app.deployments.deploy({ ...input, ...(given ? { confirmation: given } : {}) }, ctx.write());
    const ramp = await ctx.app.ramps.status(r.experiment.id);
    return {
      structured: {
        applied: r.applied,
        planHash: r.planHash,
        plan: r.plan,
        confirmation: r.confirmation,
        experiment: { ...summaryOf(ctx.app, r.experiment), planHash: r.planHash },
        ramp: rampSummary(ramp),
      },
      links: [experimentLink(r.experiment)],
      text: `Advanced '${r.experiment.key}' ${r.plan.fromPercent}% → ${r.plan.toPercent}% (${r.plan.bucketsAfter} buckets), v${r.experiment.version}.${given ? ` Confirmed via ${given.via}.` : ''}\n${rampText(ramp)}`,
    };
  },
});
