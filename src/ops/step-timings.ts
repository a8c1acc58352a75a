import { toAppError } from '../errors.js';
import type { SqlOperationStepRepo } from '../store/sql/operation-step-repo.js';
import { countingRetries } from '../systems/call-retries.js';

const outcomeOf = (err: unknown) => toAppError(err).code;

/**
 * Times one saga step's call to a downstream system and records it with its retries and outcome;
 * the call's answer or error passes through unchanged.
 */
export async function timedCall<T>(
  timings: SqlOperationStepRepo,
  opId: string,
  step: { name: string; system: string },
  startedAt: string,
  call: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const r = await countingRetries(call);
  const outcome = 'err' in r ? outcomeOf(r.err) : 'ok';
  await timings.record({
    opId,
    step: step.name,
    phase: 'call',
    system: step.system,
    startedAt,
    durationMs: performance.now() - t0,
    retries: r.retries,
    outcome,
  });
  if ('err' in r) throw r.err;
  return r.out;
}

/** Times the local record's commit, the saga's last step. */
export async function timedCommit<T>(timings: SqlOperationStepRepo, opId: string, startedAt: string, commit: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const record = (outcome: string) =>
    timings.record({ opId, step: 'commit', phase: 'commit', system: null, startedAt, durationMs: performance.now() - t0, retries: 0, outcome });
  try {
    const out = await commit();
    await record('ok');
    return out;
  } catch (err) {
    await record(outcomeOf(err));
    throw err;
  }
}

/** Records how long an operation waited between being logged and its first step (long for one resumed by recovery). */
export async function recordQueued(timings: SqlOperationStepRepo, op: { id: string; createdAt: string }, now: Date): Promise<void> {
  const ms = Math.max(0, now.getTime() - Date.parse(op.createdAt));
  await timings.record({ opId: op.id, step: 'queued', phase: 'queued', system: null, startedAt: op.createdAt, durationMs: ms, retries: 0, outcome: 'ok' });
}
