import { prepared, type Db } from './db.js';

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
}

interface Row {
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
}

const toOp = (r: Row): Operation => ({
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
});

/** The saga operation log: each cross-system write, its steps, and how it ended (the outbox that recovery reads). */
export class OperationRepo {
  constructor(private readonly db: Db) {}

  start(op: { id: string; kind: string; idempotencyKey: string | null; requestHash: string; experimentId: string; payload: unknown; steps?: string[]; status?: OperationStatus }, now: string): void {
    prepared(this.db, 'INSERT INTO operations (id, kind, idempotency_key, request_hash, experiment_id, status, steps, payload, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)')
      .run(op.id, op.kind, op.idempotencyKey, op.requestHash, op.experimentId, op.status ?? 'pending', JSON.stringify(op.steps ?? []), JSON.stringify(op.payload), now, now);
  }

  get(id: string): Operation | undefined {
    const r = prepared(this.db, 'SELECT * FROM operations WHERE id = ?').get(id) as Row | undefined;
    return r ? toOp(r) : undefined;
  }

  /** The latest operation under an idempotency key. */
  byKey(kind: string, key: string): Operation | undefined {
    const r = prepared(this.db, 'SELECT * FROM operations WHERE kind = ? AND idempotency_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(kind, key) as Row | undefined;
    return r ? toOp(r) : undefined;
  }

  /** Operations a crash or an unreachable system left unfinished. */
  unfinished(): Operation[] {
    return (prepared(this.db, "SELECT * FROM operations WHERE status IN ('pending', 'compensating') ORDER BY created_at, rowid").all() as Row[]).map(toOp);
  }

  list(experimentId?: string): Operation[] {
    const rows = experimentId ? prepared(this.db, 'SELECT * FROM operations WHERE experiment_id = ? ORDER BY created_at, rowid').all(experimentId) : prepared(this.db, 'SELECT * FROM operations ORDER BY created_at, rowid').all();
    return (rows as Row[]).map(toOp);
  }

  stepDone(id: string, step: string, now: string): void {
    prepared(this.db, "UPDATE operations SET steps = json_insert(steps, '$[#]', ?), updated_at = ? WHERE id = ?").run(step, now, id);
  }

  setStatus(id: string, status: OperationStatus, now: string, end: { outcome?: unknown; error?: { code: string; message: string } } = {}): void {
    prepared(this.db, 'UPDATE operations SET status = ?, outcome = COALESCE(?, outcome), error = COALESCE(?, error), updated_at = ? WHERE id = ?')
      .run(status, end.outcome !== undefined ? JSON.stringify(end.outcome) : null, end.error ? JSON.stringify(end.error) : null, now, id);
  }
}
