import { prepared, type Db } from './db.js';

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

/** approval_requests (migration 13): insert, read with derived expiry, and decisions that only move a request out of one expected status. */
export class ApprovalRepo {
  constructor(private readonly db: Db) {}

  insert(a: NewApproval): void {
    prepared(this.db, `INSERT INTO approval_requests (${APPROVAL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'pending',?,?)`).run(
      a.id,
      a.experimentId,
      a.step,
      JSON.stringify(a.args),
      a.argsHash,
      a.experimentVersion,
      a.planHash,
      a.summary,
      a.policyReason,
      a.note,
      a.requester,
      a.requesterPrincipal,
      a.createdAt,
      a.expiresAt,
    );
  }

  get(id: string, now: string): ApprovalRequest | undefined {
    const row = prepared(this.db, 'SELECT * FROM approval_requests WHERE id = ?').get(id) as ApprovalRow | undefined;
    return row ? toRequest(row, now) : undefined;
  }

  /** Newest first; `status` filters on the effective status. */
  list(now: string, opts: { status?: ApprovalStatus; experimentId?: string; limit?: number } = {}): ApprovalRequest[] {
    const rows = prepared(
      this.db,
      `SELECT * FROM approval_requests
        WHERE (@experimentId IS NULL OR experiment_id = @experimentId)
          AND (@status IS NULL
            OR (@status = 'pending' AND status = 'pending' AND expires_at > @now)
            OR (@status = 'expired' AND (status = 'expired' OR (status = 'pending' AND expires_at <= @now)))
            OR (@status NOT IN ('pending', 'expired') AND status = @status))
        ORDER BY created_at DESC, id DESC LIMIT @limit`,
    ).all({ experimentId: opts.experimentId ?? null, status: opts.status ?? null, now, limit: opts.limit ?? 100 }) as ApprovalRow[];
    return rows.map((r) => toRequest(r, now));
  }

  /** A pending, unexpired request for the same step with the same arguments by the same requester: asking again returns it. */
  findOpen(experimentId: string, step: ApprovalStep, argsHash: string, requesterPrincipal: string, now: string): ApprovalRequest | undefined {
    const row = prepared(
      this.db,
      "SELECT * FROM approval_requests WHERE experiment_id = ? AND step = ? AND args_hash = ? AND requester_principal = ? AND status = 'pending' AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
    ).get(experimentId, step, argsHash, requesterPrincipal, now) as ApprovalRow | undefined;
    return row ? toRequest(row, now) : undefined;
  }

  /** Moves a request from `from` to `to` with the decision; false when it was no longer in `from` (another decider won). */
  decide(
    id: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    d: { decidedBy?: string; reason?: string | null; at: string; result?: unknown; error?: { code: string; message: string } },
  ): boolean {
    return (
      prepared(
        this.db,
        `UPDATE approval_requests SET status = @to, decided_by = COALESCE(@decidedBy, decided_by), decision_reason = COALESCE(@reason, decision_reason),
           decided_at = COALESCE(decided_at, @at), result = @result, error = @error WHERE id = @id AND status = @from`,
      ).run({
        id,
        from,
        to,
        decidedBy: d.decidedBy ?? null,
        reason: d.reason ?? null,
        at: d.at,
        result: d.result === undefined ? null : JSON.stringify(d.result),
        error: d.error ? JSON.stringify(d.error) : null,
      }).changes === 1
    );
  }
}

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
