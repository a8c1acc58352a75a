import type { Operation, OperationRow, OperationStatus } from '../operation-repo.js';
import { toOp } from '../operation-repo.js';
import { SqlOperationStepRepo } from './operation-step-repo.js';
import type { Sql } from './sql.js';

/**
 * The saga operation log: each cross-system write, its steps, and how it ended (the outbox recovery reads). Claims (renew, takeOver) are single conditional
 * UPDATEs, so of two replicas racing for an operation exactly one gets changes = 1 on either engine.
 */
export class SqlOperationRepo {
  /** Per-step timings of these operations (diagnosis). */
  readonly timings: SqlOperationStepRepo;
  constructor(private readonly sql: Sql) {
    this.timings = new SqlOperationStepRepo(sql);
  }

  /** Insertion order among operations created in the same millisecond: SQLite's rowid; PostgreSQL has no insertion key, so the id. */
  private get tie(): string {
    return this.sql.dialect === 'sqlite' ? 'rowid' : 'id';
  }

  async start(
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
  ): Promise<void> {
    await this.sql.run(
      'INSERT INTO operations (id, kind, idempotency_key, request_hash, experiment_id, status, steps, payload, created_at, updated_at, owner, lease_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
      [
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
      ],
    );
  }

  /** Extends the owner's claim on an unfinished operation; false when it is finished or another process took it over. */
  async renew(id: string, owner: string, until: string): Promise<boolean> {
    const { changes } = await this.sql.run("UPDATE operations SET lease_until = ? WHERE id = ? AND owner = ? AND status IN ('pending', 'compensating')", [
      until,
      id,
      owner,
    ]);
    return changes === 1;
  }

  /** Claims an unfinished operation for recovery if its owner's claim has lapsed (or the owner is known dead); one statement. */
  async takeOver(id: string, owner: string, now: string, until: string, ownerDead: boolean): Promise<boolean> {
    const lapsed = ownerDead ? '' : ' AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)';
    const { changes } = await this.sql.run(
      `UPDATE operations SET owner = ?, lease_until = ? WHERE id = ? AND status IN ('pending', 'compensating')${lapsed}`,
      ownerDead ? [owner, until, id] : [owner, until, id, owner, now],
    );
    return changes === 1;
  }

  async get(id: string): Promise<Operation | undefined> {
    const r = await this.sql.get<OperationRow>('SELECT * FROM operations WHERE id = ?', [id]);
    return r ? toOp(r) : undefined;
  }

  /** The latest operation under an idempotency key. */
  async byKey(kind: string, key: string): Promise<Operation | undefined> {
    const r = await this.sql.get<OperationRow>(
      `SELECT * FROM operations WHERE kind = ? AND idempotency_key = ? ORDER BY created_at DESC, ${this.tie} DESC LIMIT 1`,
      [kind, key],
    );
    return r ? toOp(r) : undefined;
  }

  /** Operations a crash or an unreachable system left unfinished. */
  async unfinished(): Promise<Operation[]> {
    return (await this.sql.all<OperationRow>(`SELECT * FROM operations WHERE status IN ('pending', 'compensating') ORDER BY created_at, ${this.tie}`)).map(
      toOp,
    );
  }

  async list(experimentId?: string): Promise<Operation[]> {
    const rows = experimentId
      ? await this.sql.all<OperationRow>(`SELECT * FROM operations WHERE experiment_id = ? ORDER BY created_at, ${this.tie}`, [experimentId])
      : await this.sql.all<OperationRow>(`SELECT * FROM operations ORDER BY created_at, ${this.tie}`);
    return rows.map(toOp);
  }

  /** Logged before a step is sent: if the answer never comes, the step may still have landed. */
  async attempt(id: string, step: string | null, now: string): Promise<void> {
    await this.sql.run('UPDATE operations SET attempting = ?, updated_at = ? WHERE id = ?', [step, now, id]);
  }

  /**
   * Appends a step to the operation's list. SQLite's json_insert has no portable twin, so the list is read, appended
   * in JS and written back in one transaction (a savepoint inside the caller's), the row locked on PostgreSQL: the
   * stored text is the same JSON.stringify on both engines, and no concurrent append is lost.
   */
  async stepDone(id: string, step: string, now: string): Promise<void> {
    await this.sql.tx(async (tx) => {
      const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
      const row = await tx.get<{ steps: string }>(`SELECT steps FROM operations WHERE id = ?${lock}`, [id]);
      if (!row) return;
      const steps = [...(JSON.parse(row.steps) as string[]), step];
      await tx.run('UPDATE operations SET steps = ?, attempting = NULL, updated_at = ? WHERE id = ?', [JSON.stringify(steps), now, id]);
    });
  }

  async setStatus(id: string, status: OperationStatus, now: string, end: { outcome?: unknown; error?: { code: string; message: string } } = {}): Promise<void> {
    await this.sql.run('UPDATE operations SET status = ?, outcome = COALESCE(?, outcome), error = COALESCE(?, error), updated_at = ? WHERE id = ?', [
      status,
      end.outcome !== undefined ? JSON.stringify(end.outcome) : null,
      end.error ? JSON.stringify(end.error) : null,
      now,
      id,
    ]);
  }
}
