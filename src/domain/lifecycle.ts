import type { ExperimentStatus } from './schemas.js';

/** Legal lifecycle moves: draft → running ⇄ paused → concluded → archived. */
const TRANSITIONS: Record<ExperimentStatus, ExperimentStatus[]> = {
  draft: ['running', 'archived'],
  running: ['paused', 'concluded', 'running'],
  paused: ['running', 'concluded'],
  concluded: ['archived'],
  archived: [],
};

export function canTransition(from: ExperimentStatus, to: ExperimentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses in which an experiment holds buckets and serves variants (paused holds but does not serve). */
export const HOLDS_BUCKETS: ExperimentStatus[] = ['running', 'paused'];
