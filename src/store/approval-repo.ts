export const APPROVAL_STEPS = ['deploy', 'stop', 'revert_ship'] as const;
export type ApprovalStep = (typeof APPROVAL_STEPS)[number];
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'applied', 'failed'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** One approval request as stored; `status` is already the effective one (a pending request past expiresAt reads "expired"). */
export interface ApprovalRequest {
  id: string;
  experimentId: string;
  step: ApprovalStep;
  /** The step's arguments: the service call that runs on approval. */
  args: Record<string, unknown>;
  argsHash: string;
  experimentVersion: number;
  planHash: string;
  summary: string;
  /** Why the policy holds the step for an approval. */
  policyReason: string | null;
  /** The requester's own words (a confirmation argument it passed), if any. */
  note: string | null;
  requester: string;
  requesterPrincipal: string;
  status: ApprovalStatus;
  decidedBy: string | null;
  decisionReason: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

export type NewApproval = Omit<ApprovalRequest, 'status' | 'decidedBy' | 'decisionReason' | 'decidedAt' | 'result' | 'error'>;

export const APPROVAL_COLUMNS =
  'id, experiment_id, step, args, args_hash, experiment_version, plan_hash, summary, policy_reason, note, requester, requester_principal, status, created_at, expires_at';

export type ApprovalRow = Record<string, string | number | null>;

export function toRequest(r: ApprovalRow, now: string): ApprovalRequest {
  const stored = r.status as ApprovalStatus;
  return {
    id: r.id as string,
    experimentId: r.experiment_id as string,
    step: r.step as ApprovalStep,
    args: JSON.parse(r.args as string),
    argsHash: r.args_hash as string,
    experimentVersion: r.experiment_version as number,
    planHash: r.plan_hash as string,
    summary: r.summary as string,
    policyReason: (r.policy_reason as string | null) ?? null,
    note: (r.note as string | null) ?? null,
    requester: r.requester as string,
    requesterPrincipal: r.requester_principal as string,
    status: stored === 'pending' && (r.expires_at as string) <= now ? 'expired' : stored,
    decidedBy: (r.decided_by as string | null) ?? null,
    decisionReason: (r.decision_reason as string | null) ?? null,
    createdAt: r.created_at as string,
    expiresAt: r.expires_at as string,
    decidedAt: (r.decided_at as string | null) ?? null,
    result: r.result ? JSON.parse(r.result as string) : null,
    error: r.error ? JSON.parse(r.error as string) : null,
  };
}
