import { z } from 'zod';
import type { PendingApproval, StepCall } from '../src/app/approvals/approval-service.js';
import type { ApprovalRequest } from '../src/store/approval-repo.js';
import { defineTool, type ToolContext } from '../src/mcp/define-tool.js';

/** What deploy_to_surface, advance_ramp, stop_experiment and revert_ship add when the policy held the step for a person's approval. */
export const PendingApprovalSchema = z
  .object({
    status: z.literal('pending_approval'),
    approvalId: z.string(),
    summary: z.string(),
    expiresAt: z.string(),
    how: z.string().describe('Who decides and how'),
  })
  .optional()
  .describe('Set when nothing was applied: the step waits for an approval (get_approval)');

/** Holds a step as an approval request (the tool's step.kind was 'approval'); returns what the tool adds to its result. */
export async function holdForApproval(ctx: ToolContext, call: StepCall, note?: string): Promise<{ approval: PendingApproval; text: string }> {
  const approval = ctx.app.approvals.pending(await ctx.app.approvals.request(call, ctx.write(), note));
  return {
    approval,
    text: `Not applied: the policy wants a person's approval. Approval request ${approval.approvalId} is pending until ${approval.expiresAt}: ${approval.how}. Do not retry; tell your user.`,
  };
}

const ApprovalView = z.object({
  id: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'applied', 'failed']),
  step: z.string(),
  experimentId: z.string(),
  summary: z.string(),
  requester: z.string(),
  expiresAt: z.string(),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  error: z.string().nullable(),
});

/** The compact view agents read (the full record is sealab://approval/{id}). */
export const approvalView = (a: ApprovalRequest): z.infer<typeof ApprovalView> => ({
  id: a.id,
  status: a.status,
  step: a.step,
  experimentId: a.experimentId,
  summary: a.summary,
  requester: a.requester,
  expiresAt: a.expiresAt,
  decidedBy: a.decidedBy,
  decisionReason: a.decisionReason,
  error: a.error ? `${a.error.code}: ${a.error.message}` : null,
});

export const getApproval = defineTool({
  name: 'get_approval',
  title: 'Get approval request',
  description:
    'Reads an approval request a confirmable step returned (approvalId): pending, approved, applied, rejected, expired or failed, who decided and why. Only a person with the approve scope decides (CLI or REST); agents cannot. Once applied, read the experiment with get_experiment; if rejected, expired or failed, tell your user and do not retry unasked.',
  inputSchema: z.object({ approvalId: z.string().describe('e.g. "apr_ab12cd34ef56ab78"') }),
  outputSchema: ApprovalView,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (args, ctx) => {
    const a = approvalView(await ctx.app.approvals.get(args.approvalId));
    return {
      structured: a,
      text: `Approval ${a.id}: ${a.status}${a.decidedBy ? ` by ${a.decidedBy}` : ''}. ${a.summary}${a.error ? ` Error: ${a.error}` : ''}`,
    };
  },
});
