import { prepared, type Db } from './db.js';
import { OperationStepRepo } from './operation-step-repo.js';

export type OperationStatus = 'pending' | 'completed' | 'compensating' | 'compensated';

export interface Operation<P = unknown> {
  id: string;
  kind: string;
  idempotencyKey: string | null;
  requestHash: string;
  experimentId: string;
  status: OperationStatus;
  /** Steps applied so far, in order. */
  steps: string[];
  payload: P;
  outcome: unknown;
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  /** The gateway process running it (see DeploySaga.owner), and until when its claim holds. */
  owner: string | null;
  leaseUntil: string | null;
  /** The step sent and not yet confirmed, if any. */
  attempting: string | null;
}

export interface OperationRow {
  id: string;
  kind: string;
  idempotency_key: string | null;
  request_hash: string;
  experiment_id: string;
  status: OperationStatus;
  steps: string;
  payload: string;
  outcome: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  owner: string | null;
  lease_until: string | null;
  attempting: string | null;
}

export const toOp = (r: OperationRow): Operation => ({
  id: r.id,
  kind: r.kind,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  experimentId: r.experiment_id,
  status: r.status,
  steps: JSON.parse(r.steps) as string[],
  payload: JSON.parse(r.payload),
  outcome: r.outcome ? JSON.parse(r.outcome) : null,
  error: r.error ? JSON.parse(r.error) : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  owner: r.owner,
  leaseUntil: r.lease_until,
  attempting: r.attempting,
});

/** The saga operation log: each cross-system write, its steps, and how it ended (the outbox that recovery reads). */
export class OperationRepo {
  /** Per-step timings of these operations (diagnosis). */
  readonly timings: OperationStepRepo;
  constructor(private readonly db: Db) {
    this.timings = new OperationStepRepo(db);
  }

  start(
    op: {
      id: string;
      kind: string;
      idempotencyKey: string | null;
      requestHash: string;
      experimentId: string;
      payload: unknown;
      steps?: string[];
      status?: OperationStatus;
      owner?: string;
      leaseUntil?: string;
    },
    now: string,
  ): void {
    prepared(
      this.db,
      'INSERT INTO operations (id, kind, idempotency_key, request_hash, experiment_id, status, steps, payload, created_at, updated_at, owner, lease_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
    ).run(
      op.id,
      op.kind,
      op.idempotencyKey,
      op.requestHash,
      op.experimentId,
      op.status ?? 'pending',
      JSON.stringify(op.steps ?? []),
      JSON.stringify(op.payload),
      now,
      now,
      op.owner ?? null,
      op.leaseUntil ?? null,
    );
  }

  /**
   * Extends the owner's claim on an unfinished operation; false when it is finished or another
   * process took it over (the caller must stop touching the systems for it).
   */
  renew(id: string, owner: string, until: string): boolean {
    return (
      prepared(this.db, "UPDATE operations SET lease_until = ? WHERE id = ? AND owner = ? AND status IN ('pending', 'compensating')").run(until, id, owner)
        .changes === 1
    );
  }

  /** Claims an unfinished operation for recovery if its owner's claim has lapsed (or the owner is known dead); atomic. */
  takeOver(id: string, owner: string, now: string, until: string, ownerDead: boolean): boolean {
    return (
      prepared(
        this.db,
        "UPDATE operations SET owner = ?, lease_until = ? WHERE id = ? AND status IN ('pending', 'compensating') AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ? OR ?)",
      ).run(owner, until, id, owner, now, ownerDead ? 1 : 0).changes === 1
    );
  }

  get(id: string): Operation | undefined {
    const r = prepared(this.db, 'SELECT * FROM operations WHERE id = ?').get(id) as OperationRow | undefined;
    return r ? toOp(r) : undefined;
  }

  /** The latest operation under an idempotency key. */
  byKey(kind: string, key: string): Operation | undefined {
    const r = prepared(this.db, 'SELECT * FROM operations WHERE kind = ? AND idempotency_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(
      kind,
      key,
    ) as OperationRow | undefined;
    return r ? toOp(r) : undefined;
  }

  /** Operations a crash or an unreachable system left unfinished. */
  unfinished(): Operation[] {
    return (prepared(this.db, "SELECT * FROM operations WHERE status IN ('pending', 'compensating') ORDER BY created_at, rowid").all() as OperationRow[]).map(
      toOp,
    );
  }

  list(experimentId?: string): Operation[] {
    const rows = experimentId
      ? prepared(this.db, 'SELECT * FROM operations WHERE experiment_id = ? ORDER BY created_at, rowid').all(experimentId)
      : prepared(this.db, 'SELECT * FROM operations ORDER BY created_at, rowid').all();
    return (rows as OperationRow[]).map(toOp);
  }

  /** Logged before a step is sent: if the answer never comes, the step may still have landed. */
  attempt(id: string, step: string | null, now: string): void {
    prepared(this.db, 'UPDATE operations SET attempting = ?, updated_at = ? WHERE id = ?').run(step, now, id);
  }

  stepDone(id: string, step: string, now: string): void {
    prepared(this.db, "UPDATE operations SET steps = json_insert(steps, '$[#]', ?), attempting = NULL, updated_at = ? WHERE id = ?").run(step, now, id);
  }

  setStatus(id: string, status: OperationStatus, now: string, end: { outcome?: unknown; error?: { code: string; message: string } } = {}): void {
    prepared(this.db, 'UPDATE operations SET status = ?, outcome = COALESCE(?, outcome), error = COALESCE(?, error), updated_at = ? WHERE id = ?').run(
      status,
      end.outcome !== undefined ? JSON.stringify(end.outcome) : null,
      end.error ? JSON.stringify(end.error) : null,
      now,
      id,
    );
  }
}
