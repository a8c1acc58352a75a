import { confirmationReason } from '../../domain/policy.js';
import type { Experiment } from '../../domain/schemas.js';
import type { Confirmation } from '../../store/audit-repo.js';
import type { AppDeps, WriteContext } from '../context.js';
import { confirmationRequired } from '../experiments/config-edits.js';
import { requireStoppable, requireVersion, type ExperimentService } from '../experiments/experiment-service.js';
import type { ConfirmationStatus } from '../experiments/experiment-types.js';
import type { StopInput } from './deploy-types.js';

/** Ending an experiment: stop_experiment (kill switch, ship, roll back) and the circuit breaker's roll back. */
export class StopService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
  ) {}

  /** What stopping would need: the policy's confirmation for this outcome, after the precondition checks. */
  stopConfirmation(input: Omit<StopInput, 'confirmation'>): ConfirmationStatus {
    const exp = this.experiments.get(input.experimentId);
    if (input.version !== undefined) requireVersion(exp, input.version);
    requireStoppable(exp);
    const outcome = input.outcome ?? 'stopped';
    const need = confirmationReason(this.experiments.policyFor(exp.surfaceId), { kind: outcome === 'shipped' ? 'ship' : 'stop' });
    return {
      required: need !== null,
      reason: need,
      summary: `${outcome === 'shipped' ? 'conclude and ship' : outcome === 'rolled_back' ? 'roll back' : 'stop'} '${exp.key}' on ${exp.surfaceId} (${exp.allocationPercent}% of traffic goes back to the default layout)`,
      given: null,
    };
  }

  /** Kill switch: ends a running or paused experiment at once, frees its buckets; "shipped" records a ship decision. */
  stop(input: StopInput, ctx: WriteContext): Experiment {
    return this.d.db.transaction(() => this.commitStop(this.planStop(input), input, ctx)).immediate();
  }

  /** Stop's checks (confirmation included), nothing written. Runs inside the caller's transaction. */
  planStop(input: StopInput): { exp: Experiment; given: Confirmation | null } {
    const status = this.stopConfirmation(input);
    const given = input.confirmation ? { action: status.summary, ...input.confirmation } : null;
    if (status.reason && !given) throw confirmationRequired(status.reason, 'stop_experiment');
    return { exp: this.experiments.get(input.experimentId), given };
  }

  /** Stop's writes for a plan made by planStop on the same experiment version. */
  commitStop(p: { exp: Experiment; given: Confirmation | null }, input: StopInput, ctx: WriteContext, mirror = true): Experiment {
    const { exp, given } = p;
    const now = this.now();
    const next = this.d.experiments.update(exp.id, exp.version, { status: 'concluded', outcome: input.outcome ?? 'stopped', buckets: [], endedAt: now }, now);
    this.d.audit.record({ ...ctx, rationale: input.reason, ...(given ? { confirmation: given } : {}) }, 'experiment', exp.id, exp, next, now);
    if (mirror) this.d.commits.onCommitted?.('stop', exp, next, null);
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return next;
  }

  /**
   * The circuit breaker's roll back: like stop_experiment with outcome rolled_back, without a human's
   * confirmation (the server acts at once), audited as the system with the numbers that tripped it.
   */
  /** rollBackBySystem's precondition, nothing written. */
  planRollBack(experimentId: string): Experiment {
    const exp = this.experiments.get(experimentId);
    requireStoppable(exp);
    return exp;
  }

  rollBackBySystem(input: { experimentId: string; reason: string; details: Record<string, unknown> }, ctx: WriteContext): Experiment {
    if (ctx.interface !== 'system') throw new Error('rollBackBySystem is reserved to the server itself');
    return this.d.db
      .transaction(() => {
        const exp = this.experiments.get(input.experimentId);
        requireStoppable(exp);
        const now = this.now();
        const next = this.d.experiments.update(exp.id, exp.version, { status: 'concluded', outcome: 'rolled_back', buckets: [], endedAt: now }, now);
        const audited = { ...ctx, rationale: input.reason };
        this.d.audit.record(audited, 'experiment', exp.id, exp, next, now);
        this.d.audit.record(audited, 'experiment', exp.id, null, { circuitBreaker: input.details }, now);
        this.d.commits.onCommitted?.('stop', exp, next, null);
        this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
        return next;
      })
      .immediate();
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
