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
