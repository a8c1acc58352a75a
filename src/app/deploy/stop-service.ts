import { confirmationMode, confirmationReason, principalOf } from '../../domain/policy.js';
import type { Experiment } from '../../domain/schemas.js';
import type { Confirmation } from '../../store/audit-repo.js';
import type { AppDeps, WriteContext } from '../context.js';
import { requireConfirmation } from '../experiments/config-edits.js';
import { requireStoppable, requireVersion, type ExperimentService } from '../experiments/experiment-service.js';
import type { ConfirmationStatus } from '../experiments/experiment-types.js';
import type { Conclusion } from '../../store/experiment-repo.js';
import { AppError } from '../../errors.js';
import type { MetricsReport } from '../results/metrics-service.js';
import type { RevertShipInput, StopInput } from './deploy-types.js';
import { planShip, type ShipPlan } from './ship-decision.js';
import { bumpRevision } from '../../store/pg/revision.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';

/** A stop checked and planned but not yet written; a ship carries its decision record. */
export interface StopPlan {
  exp: Experiment;
  given: Confirmation | null;
  ship?: ShipPlan;
}

/** A revert of a ship checked and planned. */
export interface RevertPlan {
  exp: Experiment;
  given: Confirmation | null;
  conclusion: Conclusion;
}

/** Ending an experiment: stop_experiment (kill switch, ship, roll back) and the circuit breaker's roll back. */
export class StopService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
    /** The always-valid analysis a ship must rest on (get_metrics' report read continuously). */
    private readonly report: (experimentId: string, r: ConfigRepos) => Promise<MetricsReport> = () => {
      throw new Error('StopService was built without an analysis: it cannot ship');
    },
    /** Folds what is acknowledged and writes what is served (MetricsService.settleData), without blocking the event loop. */
    private readonly settleData: () => Promise<unknown> = async () => undefined,
  ) {}

  /**
   * Before a ship's transaction opens: the data its analysis reads is folded now. Inside a transaction on the shared
   * SQLite connection the fold cannot run (it would join the transaction, ADR 0020), so the report would read stale data.
   */
  async settleForShip(input: { outcome?: string }): Promise<void> {
    if (input.outcome === 'shipped') await this.settleData();
  }

  /**
   * What stopping would need: the policy's confirmation for this outcome, after the precondition
   * checks; `actor` (the caller) decides whether `stopOthers` applies. Without it, only the step's own key.
   */
  async stopConfirmation(input: Omit<StopInput, 'confirmation'>, actor?: string, r: ConfigRepos = this.d.store): Promise<ConfirmationStatus> {
    const exp = await this.experiments.load(input.experimentId, r);
    if (input.version !== undefined) requireVersion(exp, input.version);
    requireStoppable(exp);
    const outcome = input.outcome ?? 'stopped';
    // A ship the analysis does not support is refused before anyone is asked to confirm it.
    if (outcome === 'shipped') planShip(exp, await this.report(exp.id, r), input.variant, this.now());
    const action = { kind: outcome === 'shipped' ? ('ship' as const) : ('stop' as const), othersExperiment: await this.othersExperiment(r, exp, actor) };
    const policy = this.experiments.policyFor(exp.surfaceId);
    const need = confirmationReason(policy, action);
    return {
      required: need !== null,
      mode: confirmationMode(policy, action),
      reason: need,
      summary:
        outcome === 'shipped'
          ? `ship '${exp.key}' on ${exp.surfaceId}${input.variant ? ` (variant '${input.variant}')` : ''}: its layout becomes the default for every user`
          : `${outcome === 'rolled_back' ? 'roll back' : 'stop'} '${exp.key}' on ${exp.surfaceId} (${exp.allocationPercent}% of traffic goes back to the default layout)`,
      given: null,
    };
  }

  /** Kill switch: ends a running or paused experiment at once, frees its buckets; "shipped" records a ship decision. */
  async stop(input: StopInput, ctx: WriteContext): Promise<Experiment> {
    await this.settleForShip(input);
    const next = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      return this.commitStop(r, await this.planStop(r, input, ctx.actor), input, ctx);
    });
    return this.emitted(next);
  }

  /** Announces a committed write (serving recompiles, subscribers hear it). */
  emitted(exp: Experiment): Experiment {
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return exp;
  }

  /** Stop's checks (confirmation included), nothing written. Runs inside the caller's transaction. */
  async planStop(r: ConfigRepos, input: StopInput, actor?: string): Promise<StopPlan> {
    const status = await this.stopConfirmation(input, actor, r);
    const exp = await this.experiments.load(input.experimentId, r);
    if (input.variant && input.outcome !== 'shipped')
      throw new AppError('INVALID_INPUT', 'variant is only for outcome "shipped"', 'Leave variant out, or pass outcome "shipped".');
    const ship = input.outcome === 'shipped' ? planShip(exp, await this.report(exp.id, r), input.variant, this.now()) : undefined;
    const given = input.confirmation ? { action: status.summary, ...input.confirmation } : null;
    requireConfirmation(status.reason, status.mode, given, 'stop_experiment');
    return { exp, given, ...(ship ? { ship } : {}) };
  }

  /** Stop's writes for a plan made by planStop on the same experiment version. */
  async commitStop(r: ConfigRepos, p: StopPlan, input: StopInput, ctx: WriteContext, mirror = true): Promise<Experiment> {
    const { exp, given, ship } = p;
    const now = this.now();
    const outcome = input.outcome ?? 'stopped';
    const next = await r.experiments.update(exp.id, exp.version, { status: 'concluded', outcome, buckets: [], endedAt: ship?.at ?? now }, now);
    const conclusion: Conclusion = {
      outcome,
      variant: ship?.variant ?? null,
      decidedAt: now,
      actor: ctx.actor,
      reason: input.reason,
      decision: ship?.decision ?? null,
      revert: null,
    };
    await r.experiments.setConclusion(exp.id, conclusion);
    const audited = { ...ctx, rationale: input.reason, ...(given ? { confirmation: given } : {}) };
    await r.audit.record(audited, 'experiment', exp.id, exp, next, now);
    if (ship)
      await r.audit.record(audited, 'experiment', exp.id, null, { shipped: { variant: ship.variant, surfaceId: exp.surfaceId, decision: ship.decision } }, now);
    if (mirror) await this.d.commits.onCommitted?.(r, ship ? 'ship' : 'stop', exp, next, null, ship ? { variant: ship.variant, at: ship.at } : null);
    await bumpRevision(r.sql);
    return next;
  }

  /** What reverting a ship needs: a concluded ship not yet reverted, and the policy's stop confirmation. Nothing written. */
  async revertConfirmation(
    input: Omit<RevertShipInput, 'confirmation'>,
    actor?: string,
    r: ConfigRepos = this.d.store,
  ): Promise<ConfirmationStatus & { conclusion: Conclusion; exp: Experiment }> {
    const exp = await this.experiments.load(input.experimentId, r);
    const conclusion = await r.experiments.conclusion(exp.id);
    if (exp.outcome !== 'shipped' || !conclusion?.variant || conclusion.revert) {
      throw new AppError(
        'PRECONDITION_FAILED',
        conclusion?.revert
          ? `the ship of '${exp.key}' was already reverted at ${conclusion.revert.at} by ${conclusion.revert.actor}`
          : `experiment '${exp.key}' is ${exp.status}${exp.outcome ? ` (${exp.outcome})` : ''}; only a shipped experiment's layout can be reverted`,
        'Call get_experiment to see its conclusion; to change the default layout again, run and ship a new experiment.',
      );
    }
    const policy = this.experiments.policyFor(exp.surfaceId);
    const action = { kind: 'stop' as const, othersExperiment: await this.othersExperiment(r, exp, actor) };
    const need = confirmationReason(policy, action);
    const mode = confirmationMode(policy, action);
    const summary = `revert the ship of '${exp.key}' (variant '${conclusion.variant}') on ${exp.surfaceId}: its layout stops being the default for every user`;
    return { required: need !== null, mode, reason: need, summary, given: null, conclusion, exp };
  }

  /** revert's checks (confirmation included), nothing written. */
  async planRevert(r: ConfigRepos, input: RevertShipInput, actor?: string): Promise<RevertPlan> {
    const status = await this.revertConfirmation(input, actor, r);
    const given = input.confirmation ? { action: status.summary, ...input.confirmation } : null;
    requireConfirmation(status.reason, status.mode, given, 'revert_ship');
    return { exp: status.exp, given, conclusion: status.conclusion };
  }

  /** Embedded systems: revert a ship in one transaction (content delivery stops shipping the variant). */
  async revert(input: RevertShipInput, ctx: WriteContext): Promise<{ experiment: Experiment; conclusion: Conclusion }> {
    const out = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      return this.commitRevert(r, await this.planRevert(r, input, ctx.actor), input, ctx);
    });
    this.emitted(out.experiment);
    return out;
  }

  /** The revert's local record: the conclusion notes who reverted, when and why; audited. The experiment's version is unchanged. */
  async commitRevert(
    r: ConfigRepos,
    p: RevertPlan,
    input: RevertShipInput,
    ctx: WriteContext,
    mirror = true,
  ): Promise<{ experiment: Experiment; conclusion: Conclusion }> {
    const now = this.now();
    const conclusion: Conclusion = { ...p.conclusion, revert: { at: now, actor: ctx.actor, reason: input.reason } };
    await r.experiments.setConclusion(p.exp.id, conclusion);
    await r.audit.record(
      { ...ctx, rationale: input.reason, ...(p.given ? { confirmation: p.given } : {}) },
      'experiment',
      p.exp.id,
      { shipped: { variant: p.conclusion.variant, surfaceId: p.exp.surfaceId } },
      { shipReverted: conclusion.revert },
      now,
    );
    if (mirror) await this.d.commits.onCommitted?.(r, 'revert', p.exp, p.exp, null, null);
    await bumpRevision(r.sql);
    return { experiment: p.exp, conclusion };
  }

  /**
   * The circuit breaker's roll back: like stop_experiment with outcome rolled_back, without a human's
   * confirmation (the server acts at once), audited as the system with the numbers that tripped it.
   */
  /** rollBackBySystem's precondition, nothing written. */
  async planRollBack(experimentId: string, r: ConfigRepos = this.d.store): Promise<Experiment> {
    const exp = await this.experiments.load(experimentId, r);
    requireStoppable(exp);
    return exp;
  }

  async rollBackBySystem(input: { experimentId: string; reason: string; details: Record<string, unknown> }, ctx: WriteContext): Promise<Experiment> {
    return this.emitted(await this.d.sql.tx((tx) => this.rollBackIn(configRepos(tx), input, ctx)));
  }

  /** rollBackBySystem's writes inside the caller's transaction (the saga's commit); the caller emits once it commits. */
  async rollBackIn(r: ConfigRepos, input: { experimentId: string; reason: string; details: Record<string, unknown> }, ctx: WriteContext): Promise<Experiment> {
    if (ctx.interface !== 'system') throw new Error('rollBackBySystem is reserved to the server itself');
    const exp = await this.planRollBack(input.experimentId, r);
    const now = this.now();
    const next = await r.experiments.update(exp.id, exp.version, { status: 'concluded', outcome: 'rolled_back', buckets: [], endedAt: now }, now);
    const audited = { ...ctx, rationale: input.reason };
    await r.audit.record(audited, 'experiment', exp.id, exp, next, now);
    await r.audit.record(audited, 'experiment', exp.id, null, { circuitBreaker: input.details }, now);
    await this.d.commits.onCommitted?.(r, 'stop', exp, next, null);
    await bumpRevision(r.sql);
    return next;
  }

  /** Whether `actor` is not the principal who created the experiment (its first audit row): the policy's `stopOthers`. */
  private async othersExperiment(r: ConfigRepos, exp: Experiment, actor: string | undefined): Promise<boolean> {
    if (actor === undefined) return false;
    const creator = await r.audit.firstActor('experiment', exp.id);
    return creator !== null && principalOf(creator) !== principalOf(actor);
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
