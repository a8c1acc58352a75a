import { type OperationStepRow, type StepRow, type StepTiming, toStepRow } from '../operation-step-repo.js';
import type { Sql } from './sql.js';

/** Per-step timings of saga operations: one cheap append per step, read by diagnosis (migration 14). */
export class SqlOperationStepRepo {
  constructor(private readonly sql: Sql) {}

  async record(t: StepTiming): Promise<void> {
    await this.sql.run('INSERT INTO operation_steps (op_id, step, phase, system, started_at, duration_ms, retries, outcome) VALUES (?,?,?,?,?,?,?,?)', [
      t.opId,
      t.step,
      t.phase,
      t.system,
      t.startedAt,
      t.durationMs,
      t.retries,
      t.outcome,
    ]);
  }

  /**
   * Steps of operations started at or after `since` (ISO), with their operation's kind, experiment and status. Ties
   * on the start time keep insertion order on SQLite (rowid); PostgreSQL's table has no insertion key, so ties there
   * fall back to the operation id and step name (diagnosis groups by operation; the order within a tick is cosmetic).
   */
  async since(since: string): Promise<OperationStepRow[]> {
    const tie = this.sql.dialect === 'sqlite' ? 's.rowid' : 's.op_id, s.step, s.phase';
    const rows = await this.sql.all<StepRow>(
      `SELECT s.*, o.kind, o.experiment_id, o.status FROM operation_steps s JOIN operations o ON o.id = s.op_id
       WHERE o.created_at >= ? ORDER BY s.started_at, ${tie}`,
      [since],
    );
    return rows.map(toStepRow);
  }
}
