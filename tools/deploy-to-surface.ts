import type { GivenConfirmation } from '../src/app/experiments/experiment-types.js';
import { z } from 'zod';
import { CONFIRMATION_MODES } from '../src/domain/policy.js';
import { ConfirmationArgSchema, defineTool } from '../src/mcp/define-tool.js';
import { listedAs } from '../src/mcp/listed-schema.js';
import { ExperimentSummarySchema, experimentLink, summaryOf } from '../src/mcp/experiment-summary.js';
import { holdForApproval, PendingApprovalSchema } from './get-approval.js';

export const ConfirmationStatusSchema = listedAs(
  z.object({
    required: z.boolean().describe('Whether the policy asked a human to confirm this step'),
    mode: z.enum(CONFIRMATION_MODES).optional(),
    reason: z.string().nullable(),
    summary: z.string().describe('What was (or would be) confirmed'),
    given: z
      .object({
        action: z.string(),
        via: z.enum(['elicitation', 'argument', 'approval']),
        reason: z.string(),
        approvalId: z.string().optional(),
        approvedBy: z.string().optional(),
      })
      .nullable(),
  }),
  {
    type: 'object',
    description: 'required (by the policy), mode (confirm | elicit | approval), reason, summary, given {action, via, reason, approvalId?, approvedBy?} or null',
  },
);

/** What a deploy (or a ramp step, which is one) changes. */
export const DeployPlanSchema = z.object({
  action: z.enum(['start', 'resize', 'resume', 'noop']),
  fromPercent: z.number(),
  toPercent: z.number(),
  bucketsBefore: z.number().int(),
  bucketsAfter: z.number().int(),
  collidingWith: z.array(z.string()),
});

export const deployToSurface = defineTool({
  name: 'deploy_to_surface',
  title: 'Deploy experiment to its surface',
  description: [
    'Starts a validated experiment on its surface (allocating buckets so users get variants), resumes a paused one, or ramps a running one to its next planned stage (allocationPercent).',
    'Requires planHash from validate_config and the version you read; a stale plan hash (edited config, changed policy) is PRECONDITION_FAILED: validate again. A collision that appeared since is a CONFLICT with the COLLISION finding.',
    "Starting, resuming and ramps past the policy threshold need a human's confirmation (a form with elicitation; else pass confirmation {reason} once a human approved). When the policy wants a person's approval, nothing is applied and the result carries approval {approvalId} (get_approval).",
    'Use dryRun: true first to see the change (buckets, collisions, whether a confirmation is needed).',
    'Idempotent: deploying the same allocation again changes nothing; an idempotencyKey makes retries return the first outcome. To end an experiment use stop_experiment.',
  ].join('\n'),
  inputSchema: z.object({
    experimentId: z.string().describe('Experiment id or key, e.g. "exp_ab12cd34ef56ab78"'),
    version: z.number().int().positive().describe('The version you read and validated, e.g. 1'),
    planHash: z.string().min(16).max(128).describe('planHash from validate_config (or from the previous deploy), e.g. "3f9a…"'),
    allocationPercent: z.number().gt(0).max(100).optional().describe('Ramp to the next rampPlan stage, e.g. 25; omit to start or resume'),
    dryRun: z.boolean().default(false).describe('Show the change without making it'),
    idempotencyKey: z.string().min(8).max(128).optional().describe('Client-chosen key for safe retries, e.g. a UUID'),
    confirmation: ConfirmationArgSchema.optional(),
  }),
  outputSchema: z.object({
    applied: z.boolean(),
    replayed: z.boolean(),
    planHash: z.string().describe('Plan hash of the config now in force: cite it for the next ramp or resume'),
    plan: DeployPlanSchema,
    confirmation: ConfirmationStatusSchema,
    experiment: ExperimentSummarySchema,
    approval: PendingApprovalSchema,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const { confirmation, ...rest } = args;
    const preview = await ctx.app.deploys.deploy({ ...rest, dryRun: true }, ctx.write());
    let given: GivenConfirmation | undefined;
    if (!args.dryRun && !preview.replayed && preview.confirmation.required) {
      const step = ctx.confirm(preview.confirmation.summary, confirmation, preview.confirmation.mode);
      if (step.kind === 'ask') return step.ask;
      if (step.kind === 'approval') {
        const { dryRun: _dryRun, ...args } = rest;
        const held = await holdForApproval(ctx, { step: 'deploy', args }, step.note);
        return {
          structured: { ...preview, experiment: { ...summaryOf(ctx.app, preview.experiment), planHash: preview.planHash }, approval: held.approval },
          links: [experimentLink(preview.experiment)],
          text: held.text,
        };
      }
      given = step.confirmation;
    }
    const r = args.dryRun ? preview : await ctx.app.deployments.deploy({ ...rest, ...(given ? { confirmation: given } : {}) }, ctx.write());
    const p = r.plan;
    const what = args.dryRun ? 'Dry run: would' : r.applied ? 'Done:' : 'No change:';
    const confirm = r.confirmation.given
      ? ` Confirmed via ${r.confirmation.given.via}.`
      : args.dryRun && r.confirmation.required
        ? ` Needs a confirmation (${r.confirmation.reason}).`
        : '';
    return {
      structured: {
        applied: r.applied,
        replayed: r.replayed,
        planHash: r.planHash,
        plan: r.plan,
        confirmation: r.confirmation,
        experiment: { ...summaryOf(ctx.app, r.experiment), planHash: r.planHash },
      },
      links: [experimentLink(r.experiment)],
      text: `${what} ${p.action} '${r.experiment.key}' ${p.fromPercent}% → ${p.toPercent}% (${p.bucketsAfter} buckets). Status ${r.experiment.status}, v${r.experiment.version}, planHash ${r.planHash}.${confirm}${r.applied ? ' Next: send traffic, then get_metrics.' : ''}`,
    };
  },
});
