import {
  APPROVAL_COLUMNS,
  type ApprovalRequest,
  type ApprovalRow,
  type ApprovalStatus,
  type ApprovalStep,
  type NewApproval,
  toRequest,
} from '../approval-repo.js';
import type { Param, Sql } from './sql.js';

/**
 * approval_requests over the async seam: insert, read with derived expiry, and decisions that only move a request
 * out of one expected status — a single conditional UPDATE, so of two deciders racing exactly one wins on either
 * engine (the other reads changes = 0 and says who won).
 */
export class SqlApprovalRepo {
  constructor(private readonly sql: Sql) {}

  async insert(a: NewApproval): Promise<void> {
    await this.sql.run(`INSERT INTO approval_requests (${APPROVAL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'pending',?,?)`, [
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
    ]);
  }

  async get(id: string, now: string): Promise<ApprovalRequest | undefined> {
    const row = await this.sql.get<ApprovalRow>('SELECT * FROM approval_requests WHERE id = ?', [id]);
    return row ? toRequest(row, now) : undefined;
  }

  /** Newest first; `status` filters on the effective status (a pending request past its expiry reads "expired"). */
  async list(now: string, opts: { status?: ApprovalStatus; experimentId?: string; limit?: number } = {}): Promise<ApprovalRequest[]> {
    const where: string[] = [];
    const params: Param[] = [];
    if (opts.experimentId) {
      where.push('experiment_id = ?');
      params.push(opts.experimentId);
    }
    if (opts.status === 'pending') {
      where.push("status = 'pending' AND expires_at > ?");
      params.push(now);
    } else if (opts.status === 'expired') {
      where.push("(status = 'expired' OR (status = 'pending' AND expires_at <= ?))");
      params.push(now);
    } else if (opts.status) {
      where.push('status = ?');
      params.push(opts.status);
    }
    const rows = await this.sql.all<ApprovalRow>(
      `SELECT * FROM approval_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
      [...params, opts.limit ?? 100],
    );
    return rows.map((r) => toRequest(r, now));
  }

  /** A pending, unexpired request for the same step with the same arguments by the same requester: asking again returns it. */
  async findOpen(experimentId: string, step: ApprovalStep, argsHash: string, requesterPrincipal: string, now: string): Promise<ApprovalRequest | undefined> {
    const row = await this.sql.get<ApprovalRow>(
      "SELECT * FROM approval_requests WHERE experiment_id = ? AND step = ? AND args_hash = ? AND requester_principal = ? AND status = 'pending' AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
      [experimentId, step, argsHash, requesterPrincipal, now],
    );
    return row ? toRequest(row, now) : undefined;
  }

  /** Moves a request from `from` to `to` with the decision; false when it was no longer in `from` (another decider won). */
  async decide(
    id: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    d: { decidedBy?: string; reason?: string | null; at: string; result?: unknown; error?: { code: string; message: string } },
  ): Promise<boolean> {
    const { changes } = await this.sql.run(
      `UPDATE approval_requests SET status = ?, decided_by = COALESCE(?, decided_by), decision_reason = COALESCE(?, decision_reason),
         decided_at = COALESCE(decided_at, ?), result = ?, error = ? WHERE id = ? AND status = ?`,
      [
        to,
        d.decidedBy ?? null,
        d.reason ?? null,
        d.at,
        d.result === undefined ? null : JSON.stringify(d.result),
        d.error ? JSON.stringify(d.error) : null,
        id,
        from,
      ],
    );
    return changes === 1;
  }
}
