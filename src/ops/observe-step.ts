import type { Metrics } from './metrics.js';
import type { SqlOperationStepRepo } from '../store/sql/operation-step-repo.js';
import { timeStep } from './metric-hooks.js';
import { timedCall, timedCommit } from './step-timings.js';
import { traceSagaStep } from './tracing.js';

/** Where a saga step's observations go: Prometheus (optional) and the operation-step log that diagnosis reads. */
export interface StepObservers {
  metrics: Metrics | undefined;
  timings: SqlOperationStepRepo;
}

/**
 * One saga step's call to a downstream system, observed three ways at once: a trace span, the
 * step-duration histogram, and a timed row (retries, outcome) in the operation-step log.
 */
export function observeSystemCall<T>(
  o: StepObservers,
  op: { id: string; kind: string },
  step: { name: string; system: string },
  startedAt: string,
  call: () => Promise<T>,
): Promise<T> {
  return traceSagaStep(step.name, step.system, () => timeStep(o.metrics, op.kind, step.name, () => timedCall(o.timings, op.id, step, startedAt, call)));
}

/** The saga's last step, the local record's commit, observed as a histogram sample and a timed row. */
export function observeCommit<T>(o: StepObservers, op: { id: string; kind: string }, startedAt: string, commit: () => Promise<T>): Promise<T> {
  return timeStep(o.metrics, op.kind, 'commit', () => timedCommit(o.timings, op.id, startedAt, commit));
}
