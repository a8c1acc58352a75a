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
