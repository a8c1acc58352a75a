import { prepared, type Db } from './db.js';

/** What a timed step was: waiting to start, a call to a downstream system, or the local record's commit. */
export type StepPhase = 'queued' | 'call' | 'commit';

export interface StepTiming {
  opId: string;
  step: string;
  phase: StepPhase;
  system: string | null;
  startedAt: string;
  durationMs: number;
  /** Retries the HTTP client made inside this call (0 for the first attempt answering). */
  retries: number;
  /** ok, or the error code the step ended with. */
  outcome: string;
}

/** A timed step with the operation it belongs to, as diagnosis reads it. */
export interface OperationStepRow extends StepTiming {
  kind: string;
  experimentId: string;
  status: string;
}

export interface StepRow {
  op_id: string;
  step: string;
  phase: StepPhase;
  system: string | null;
  started_at: string;
  duration_ms: number;
  retries: number;
  outcome: string;
  kind: string;
  experiment_id: string;
  status: string;
}

/** Per-step timings of saga operations (migration 14): one cheap append per step, read by diagnosis. */
export class OperationStepRepo {
  constructor(private readonly db: Db) {}

  record(t: StepTiming): void {
    prepared(this.db, 'INSERT INTO operation_steps (op_id, step, phase, system, started_at, duration_ms, retries, outcome) VALUES (?,?,?,?,?,?,?,?)').run(
      t.opId,
      t.step,
      t.phase,
      t.system,
      t.startedAt,
      t.durationMs,
      t.retries,
      t.outcome,
    );
  }

  /** Steps of operations started at or after `since` (ISO), with their operation's kind, experiment and status. */
  since(since: string): OperationStepRow[] {
    const rows = prepared(
      this.db,
      `SELECT s.*, o.kind, o.experiment_id, o.status FROM operation_steps s JOIN operations o ON o.id = s.op_id
       WHERE o.created_at >= ? ORDER BY s.started_at, s.rowid`,
    ).all(since) as StepRow[];
    return rows.map(toStepRow);
  }
}

export const toStepRow = (r: StepRow): OperationStepRow => ({
  opId: r.op_id,
  step: r.step,
  phase: r.phase,
  system: r.system,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  retries: r.retries,
  outcome: r.outcome,
  kind: r.kind,
  experimentId: r.experiment_id,
  status: r.status,
});
