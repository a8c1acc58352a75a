import { toAppError } from '../errors.js';
import type { OperationStepRepo } from '../store/operation-step-repo.js';
import { countingRetries } from '../systems/call-retries.js';

const outcomeOf = (err: unknown) => toAppError(err).code;

/**
 * Times one saga step's call to a downstream system and records it with its retries and outcome;
 * the call's answer or error passes through unchanged.
 */
export async function timedCall<T>(
  timings: OperationStepRepo,
  opId: string,
  step: { name: string; system: string },
  startedAt: string,
  call: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const r = await countingRetries(call);
  const outcome = 'err' in r ? outcomeOf(r.err) : 'ok';
  timings.record({ opId, step: step.name, phase: 'call', system: step.system, startedAt, durationMs: performance.now() - t0, retries: r.retries, outcome });
  if ('err' in r) throw r.err;
  return r.out;
}

/** Times the local record's commit, the saga's last step. */
export function timedCommit<T>(timings: OperationStepRepo, opId: string, startedAt: string, commit: () => T): T {
  const t0 = performance.now();
  const record = (outcome: string) =>
    timings.record({ opId, step: 'commit', phase: 'commit', system: null, startedAt, durationMs: performance.now() - t0, retries: 0, outcome });
  try {
    const out = commit();
    record('ok');
    return out;
  } catch (err) {
    record(outcomeOf(err));
    throw err;
  }
}

/** Records how long an operation waited between being logged and its first step (long for one resumed by recovery). */
export function recordQueued(timings: OperationStepRepo, op: { id: string; createdAt: string }, now: Date): void {
  const ms = Math.max(0, now.getTime() - Date.parse(op.createdAt));
  timings.record({ opId: op.id, step: 'queued', phase: 'queued', system: null, startedAt: op.createdAt, durationMs: ms, retries: 0, outcome: 'ok' });
}
