/** What each cross-system write sends to which system, in which order, and what undoes it: data, no I/O. */
import type { Experiment } from '../../domain/schemas.js';
import type { BackendWrite, ContentDelivery, ContentWrite, ExperimentBackend } from '../../systems/contracts.js';
import type { EmbeddedBackend, EmbeddedContent } from '../../systems/embedded.js';
import { backendStatusOf, backendWrite, contentWrite, type Ship, type Target } from '../../systems/desired-state.js';
import type { WriteContext } from '../context.js';
import type { DeployInput, PreparedDeploy, RevertShipInput, StopInput } from './deploy-types.js';
import type { RevertPlan, StopPlan } from './stop-service.js';

/** The two downstream systems; embedded ones share this process's SQLite file. */
export type Systems =
  | { embedded: true; backend: EmbeddedBackend; content: EmbeddedContent }
  | { embedded: false; backend: ExperimentBackend; content: ContentDelivery };

export type Kind = 'deploy' | 'stop' | 'pause' | 'ship' | 'revert';
export interface Step {
  name: string;
  system: 'backend' | 'content';
  write: Omit<BackendWrite, 'opId' | 'step'> | Omit<ContentWrite, 'opId' | 'step'>;
}

/** The local record's write that ends the operation, with what it needs (kept in the log for recovery). */
export type Commit =
  | { method: 'deploy'; prepared: PreparedDeploy; input: Partial<DeployInput> }
  | { method: 'stop'; plan: StopPlan; input: StopInput }
  | { method: 'revert'; plan: RevertPlan; input: RevertShipInput }
  | { method: 'pause'; input: PauseInput }
  | { method: 'rollBack'; input: RollBackInput };

export type PauseInput = { experimentId: string; version: number; reason: string };
export type RollBackInput = { experimentId: string; reason: string; details: Record<string, unknown> };

export interface Payload {
  kind: Kind;
  /** The experiment as the local record had it when the operation was planned: what compensation restores. */
  before: Experiment;
  forward: Step[];
  /** The variant content delivery shipped to everyone before the operation (a revert's compensation restores it). */
  beforeShip?: Ship | null;
  commit?: Commit;
  ctx?: WriteContext;
}

/**
 * The steps of each cross-system write. Deploy: reserve the buckets (not yet assigning), make the
 * surface able to render the variants, then start assigning. Stop and pause: stop assigning, then
 * stop rendering. So a surface never renders a variant the backend assigns nobody to for long, and
 * never the reverse once the operation has ended.
 */
export function forwardSteps(kind: Kind, before: Experiment, target: Target, ship: Ship | null = null): Step[] {
  // A revert touches content delivery only: the backend released the experiment when it shipped.
  if (kind === 'revert') return [{ name: 'content.unship', system: 'content', write: contentWrite(before, false, null) }];
  if (kind === 'deploy') {
    return [
      { name: 'backend.allocate', system: 'backend', write: backendWrite(before, before.status === 'running' ? 'running' : 'allocated', target) },
      { name: 'content.apply', system: 'content', write: contentWrite(before, true) },
      { name: 'backend.activate', system: 'backend', write: backendWrite(before, 'running', target) },
    ];
  }
  return [
    {
      name: kind === 'pause' ? 'backend.pause' : 'backend.release',
      system: 'backend',
      write: backendWrite(before, kind === 'pause' ? 'paused' : 'released', target),
    },
    // A ship stops rendering the experiment's arms and makes the shipped variant's layout everyone's default, in one write.
    kind === 'ship'
      ? { name: 'content.ship', system: 'content', write: contentWrite(before, false, ship) }
      : { name: 'content.remove', system: 'content', write: contentWrite(before, false) },
  ];
}

/** What compensation writes: each touched system back to the state the local record had before the operation. */
export function restoreSteps(before: Experiment, done: string[], attempting: string | null, beforeShip: Ship | null): Step[] {
  // A step sent without an answer (a timeout, a crash) may have landed: its system is restored too.
  const touched = (system: string) => [...done, ...(attempting ? [attempting] : [])].some((s) => s.startsWith(`${system}.`));
  const out: Step[] = [];
  if (touched('content')) out.push({ name: 'compensate.content', system: 'content', write: contentWrite(before, before.status === 'running', beforeShip) });
  if (touched('backend')) out.push({ name: 'compensate.backend', system: 'backend', write: backendWrite(before, backendStatusOf(before), before) });
  return out;
}
