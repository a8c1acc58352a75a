import type { Experiment } from '../../domain/schemas.js';
import { hashOf } from '../../domain/canonical.js';
import { AppError, toAppError } from '../../errors.js';
import type { Operation } from '../../store/operation-repo.js';
import type { SqlOperationRepo } from '../../store/sql/operation-repo.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';
import type { BackendWrite, ContentWrite } from '../../systems/contracts.js';
import type { AppDeps, WriteContext } from '../context.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import type { AdvanceInput, DeployInput, DeployOutcome, RevertShipInput, StopInput } from './deploy-types.js';
import type { DeployService } from './deploy-service.js';
import type { StopService } from './stop-service.js';
import type { Conclusion } from '../../store/experiment-repo.js';
import { recordQueued } from '../../ops/step-timings.js';
import { traceSaga } from '../../ops/tracing.js';
import type { Ship, Target } from '../../systems/desired-state.js';
import { timeStep } from '../../ops/metric-hooks.js';
import { observeCommit, observeSystemCall, type StepObservers } from '../../ops/observe-step.js';
import {
  forwardSteps,
  restoreSteps,
  type Commit,
  type Kind,
  type PauseInput,
  type Payload,
  type RollBackInput,
  type Step,
  type Systems,
} from './saga-steps.js';
import { inProgress, isTakenOver, OPERATION_LEASE_MS, ownerIsGone, processOwner, takenOver } from './saga-ownership.js';

export type { Systems } from './saga-steps.js';
export { OPERATION_LEASE_MS } from './saga-ownership.js';

/**
 * Deploy and stop as persisted sagas over the experimentation backend and content delivery.
 * Embedded systems: every step, the operation log row and the local record in one transaction.
 * Remote systems: the operation is logged first, each step is logged as it lands, the local record
 * is written last; a failure compensates the steps done, and an operation a crash left unfinished
 * is finished (all steps done) or compensated by recover() at the next start.
 */
export class DeploySaga {
  /** Operations this process is running now: recovery leaves them alone. */
  private readonly inFlight = new Set<string>();
  /**
   * Who runs an operation: one process at a time, even when several sealab processes share the
   * database. Recovery takes over another process's operation only when that process is gone or
   * its claim has lapsed; a process that lost its claim stops touching the systems for it.
   */
  readonly owner = processOwner();

  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
    private readonly deploys: DeployService,
    private readonly stops: StopService,
    readonly systems: Systems,
    /** The operation log on the root Sql (reads and single-statement claims outside a transaction). */
    readonly ops: SqlOperationRepo,
    /** Called when an operation has ended, either way: serving re-reads the systems it wrote to. */
    private readonly onSettled: () => Promise<unknown> = async () => undefined,
  ) {
    const sys = systems;
    d.commits.onCommitted = sys.embedded
      ? (tx, kind, before, after, key, ship) => this.recordEmbedded(tx, sys, kind, before, after, key, ship ?? null)
      : undefined;
  }

  /** deploy_to_surface's write path: the same checks and outcome as ExperimentService.deploy, across the systems. */
  async deploy(input: DeployInput, ctx: WriteContext): Promise<DeployOutcome> {
    if (this.systems.embedded || input.dryRun) return this.deploys.deploy(input, ctx);
    // Deploy re-judges the plan: against a content catalog no older than one sync interval (usually a 304).
    await this.d.contentSync?.freshen();
    await this.settle((await this.experiments.load(input.experimentId)).id);
    const requestHash = hashOf({
      kind: 'deploy',
      experimentId: input.experimentId,
      version: input.version,
      planHash: input.planHash,
      allocationPercent: input.allocationPercent,
    });
    const started = await this.d.sql.tx(
      async (tx): Promise<DeployOutcome | string> => {
        const r = configRepos(tx);
        await this.requireFreshKey(r, 'deploy', input.idempotencyKey, requestHash);
        const p = await this.deploys.prepareDeploy(r, input, ctx);
        if ('applied' in p) return p;
        const target = { buckets: p.buckets, allocationPercent: p.config.allocationPercent };
        return this.startOp(r, 'deploy', p.exp, target, requestHash, input.idempotencyKey ?? null, { method: 'deploy', prepared: p, input }, ctx);
      },
      { isolation: 'serializable' },
    );
    if (typeof started !== 'string') return started;
    return (await this.run(started)) as DeployOutcome;
  }

  /** The ramp scheduler's step to the next stage, across the systems. */
  async advance(input: AdvanceInput, ctx: WriteContext): Promise<DeployOutcome> {
    if (this.systems.embedded) return this.deploys.advanceBySystem(input, ctx);
    await this.d.contentSync?.freshen();
    await this.settle(input.experimentId);
    const started = await this.d.sql.tx(
      async (tx): Promise<DeployOutcome | string> => {
        const r = configRepos(tx);
        const p = await this.deploys.prepareAdvance(r, input, ctx);
        if ('applied' in p) return p;
        return this.startOp(
          r,
          'deploy',
          p.exp,
          { buckets: p.buckets, allocationPercent: input.toPercent },
          hashOf({ kind: 'advance', ...input }),
          null,
          { method: 'deploy', prepared: p, input: { allocationPercent: input.toPercent } },
          ctx,
        );
      },
      { isolation: 'serializable' },
    );
    if (typeof started !== 'string') return started;
    return (await this.run(started)) as DeployOutcome;
  }

  /** pause_experiment across the systems: stop assigning, then stop rendering; the buckets stay reserved. */
  async pause(input: PauseInput, ctx: WriteContext): Promise<Experiment> {
    if (this.systems.embedded) return this.experiments.pause(input, ctx);
    const id = (await this.experiments.load(input.experimentId)).id;
    await this.settle(id);
    const opId = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const exp = await this.experiments.planPause(input, r);
      return this.startOp(r, 'pause', exp, exp, hashOf({ kind: 'pause', ...input }), null, { method: 'pause', input: { ...input, experimentId: id } }, ctx);
    });
    return (await this.run(opId)) as Experiment;
  }

  /** The circuit breaker's roll back across the systems (no confirmation: the server acts at once). */
  async rollBack(input: RollBackInput, ctx: WriteContext): Promise<Experiment> {
    if (this.systems.embedded) return this.stops.rollBackBySystem(input, ctx);
    await this.settle(input.experimentId);
    const opId = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const exp = await this.stops.planRollBack(input.experimentId, r);
      return this.startOp(
        r,
        'stop',
        exp,
        exp,
        hashOf({ kind: 'rollBack', experimentId: exp.id, version: exp.version }),
        null,
        { method: 'rollBack', input },
        ctx,
      );
    });
    return (await this.run(opId)) as Experiment;
  }

  /** stop_experiment's write path (and the kill switch), across the systems. */
  async stop(input: StopInput, ctx: WriteContext): Promise<Experiment> {
    if (this.systems.embedded) return this.stops.stop(input, ctx);
    await this.settle((await this.experiments.load(input.experimentId)).id);
    await this.stops.settleForShip(input);
    const requestHash = hashOf({ kind: 'stop', input: { ...input, confirmation: undefined } });
    const opId = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const plan = await this.stops.planStop(r, input, ctx.actor);
      const kind = plan.ship ? 'ship' : 'stop';
      const ship = plan.ship ? { variant: plan.ship.variant, at: plan.ship.at } : null;
      return this.startOp(r, kind, plan.exp, plan.exp, requestHash, null, { method: 'stop', plan, input }, ctx, ship);
    });
    return (await this.run(opId)) as Experiment;
  }

  /**
   * revert_ship across the systems: content delivery stops shipping the variant, so the surface's
   * default layout is again what it was without it; the conclusion records who, when and why.
   */
  async revertShip(input: RevertShipInput, ctx: WriteContext): Promise<{ experiment: Experiment; conclusion: Conclusion }> {
    if (this.systems.embedded) return this.stops.revert(input, ctx);
    await this.settle((await this.experiments.load(input.experimentId)).id);
    const opId = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const plan = await this.stops.planRevert(r, input, ctx.actor);
      const shipped = { variant: plan.conclusion.variant!, at: plan.exp.endedAt ?? plan.conclusion.decidedAt };
      const requestHash = hashOf({ kind: 'revert', experimentId: plan.exp.id, reason: input.reason });
      return this.startOp(r, 'revert', plan.exp, plan.exp, requestHash, null, { method: 'revert', plan, input }, ctx, null, shipped);
    });
    return (await this.run(opId)) as unknown as { experiment: Experiment; conclusion: Conclusion };
  }

  /**
   * Finishes or compensates every operation left unfinished (a crash, an unreachable system).
   * Returns what it did; an operation whose systems are still unreachable stays for the next call.
   */
  async recover(): Promise<{ completed: string[]; compensated: string[]; stuck: string[] }> {
    const report = { completed: [] as string[], compensated: [] as string[], stuck: [] as string[] };
    for (const candidate of (await this.ops.unfinished()).filter((o) => !this.inFlight.has(o.id))) {
      if (!(await this.ops.takeOver(candidate.id, this.owner, this.now(), this.leaseUntil(), ownerIsGone(candidate.owner)))) continue; // another live process runs it
      const op = (await this.ops.get(candidate.id))!;
      const p = op.payload as Payload;
      const resumable = op.status === 'pending' && p.forward.every((s) => op.steps.includes(s.name));
      this.inFlight.add(op.id);
      try {
        if (resumable) {
          await this.commitLocal(op);
          report.completed.push(op.id);
        } else {
          await this.compensate(op, { code: 'UPSTREAM_UNAVAILABLE', message: 'interrupted before all steps were applied; compensated at recovery' });
          report.compensated.push(op.id);
        }
      } catch (err) {
        if (resumable && err instanceof AppError && !isTakenOver(err)) {
          await this.compensate(op, { code: err.code, message: err.message }).then(
            () => report.compensated.push(op.id),
            () => report.stuck.push(op.id),
          );
        } else if (!isTakenOver(err)) report.stuck.push(op.id);
      } finally {
        this.inFlight.delete(op.id);
      }
    }
    if (report.completed.length + report.compensated.length) await this.onSettled();
    if (report.completed.length + report.compensated.length + report.stuck.length)
      this.d.logger[report.stuck.length ? 'warn' : 'info']({ ...report }, 'saga recovery');
    return report;
  }

  /** Unfinished operations on this experiment are settled before a new one starts; refuses while they cannot be. */
  private async settle(experimentId: string): Promise<void> {
    const open = (await this.ops.unfinished()).filter((o) => o.experimentId === experimentId);
    if (!open.length) return;
    if (open.some((o) => this.inFlight.has(o.id))) throw inProgress();
    await this.recover();
    const left = (await this.ops.unfinished()).filter((o) => o.experimentId === experimentId);
    if (left.some((o) => o.owner !== this.owner)) throw inProgress(); // another live process is running it
    if (left.length) {
      throw new AppError(
        'UPSTREAM_UNAVAILABLE',
        'an earlier operation on this experiment is still being rolled back and a downstream system is unreachable',
        'Retry in a moment; nothing is half-deployed meanwhile.',
      );
    }
  }

  private async requireFreshKey(r: ConfigRepos, kind: string, key: string | undefined, requestHash: string): Promise<void> {
    const prior = key ? await r.operations.byKey(kind, key) : undefined;
    if (prior && prior.requestHash !== requestHash)
      throw new AppError('CONFLICT', `idempotency key '${key}' was used for a different ${kind}`, 'Use a fresh idempotency key for a different request.');
  }

  private async startOp(
    r: ConfigRepos,
    kind: Kind,
    before: Experiment,
    target: Target,
    requestHash: string,
    key: string | null,
    commit: Commit,
    ctx: WriteContext,
    ship: Ship | null = null,
    beforeShip: Ship | null = null,
  ): Promise<string> {
    // Checked again inside the transaction that logs the operation: one operation per experiment at a time.
    if ((await r.operations.unfinished()).some((o) => o.experimentId === before.id)) throw inProgress();
    const id = this.d.newId('op');
    const payload: Payload = { kind, before, forward: forwardSteps(kind, before, target, ship), beforeShip, commit, ctx };
    await r.operations.start(
      { id, kind, idempotencyKey: key, requestHash, experimentId: before.id, payload, owner: this.owner, leaseUntil: this.leaseUntil() },
      this.now(),
    );
    return id;
  }

  /** Runs the remaining steps, then the local record; on any failure compensates and throws the failure. */
  private async run(opId: string): Promise<DeployOutcome | Experiment | { experiment: Experiment; conclusion: Conclusion }> {
    return traceSaga((await this.ops.get(opId))!, () => this.runSteps(opId));
  }

  private async runSteps(opId: string): Promise<DeployOutcome | Experiment | { experiment: Experiment; conclusion: Conclusion }> {
    const op = (await this.ops.get(opId))!;
    const p = op.payload as Payload;
    await recordQueued(this.ops.timings, op, this.d.clock.now());
    this.inFlight.add(opId);
    try {
      for (const step of p.forward.filter((s) => !op.steps.includes(s.name))) {
        await this.apply(op.id, step);
        await this.ops.stepDone(op.id, step.name, this.now());
      }
      const out = await observeCommit(this.observers(), { id: opId, kind: p.kind }, this.now(), async () => this.commitLocal((await this.ops.get(opId))!));
      this.d.opsMetrics?.sagaOperations.inc({ kind: p.kind, outcome: 'ok' });
      return out;
    } catch (err) {
      const e = toAppError(err);
      if (isTakenOver(e)) throw e; // not ours any more: the process that took it over finishes or compensates it
      if (e.details?.delivered === false) await this.ops.attempt(opId, null, this.now()); // certainly not applied: nothing to restore for it
      const outcome = await this.compensate((await this.ops.get(opId))!, { code: e.code, message: e.message }).then(
        () => 'compensated',
        (cerr: unknown) => (this.d.logger.warn({ opId, err: (cerr as Error).message }, 'compensation failed; recovery will retry it'), 'compensation_failed'),
      );
      this.d.opsMetrics?.sagaOperations.inc({ kind: p.kind, outcome });
      throw e;
    } finally {
      this.inFlight.delete(opId);
      await this.onSettled();
    }
  }

  /** Renews this process's claim before a step is sent; throws when another process took the operation over. */
  private async claim(opId: string): Promise<void> {
    if (!(await this.ops.renew(opId, this.owner, this.leaseUntil()))) throw takenOver(opId);
  }

  private leaseUntil(): string {
    return new Date(this.d.clock.now().getTime() + OPERATION_LEASE_MS).toISOString();
  }

  private async apply(opId: string, step: Step): Promise<void> {
    await this.claim(opId);
    // Compensation keeps the forward step in flight on record: a retried compensation must cover its system again.
    if (!step.name.startsWith('compensate.')) await this.ops.attempt(opId, step.name, this.now());
    const p = (await this.ops.get(opId))!.payload as Payload;
    const write = { ...step.write, opId, step: step.name };
    await observeSystemCall<unknown>(this.observers(), { id: opId, kind: p.kind }, step, this.now(), () =>
      step.system === 'backend' ? this.systems.backend.put(p.before.id, write as BackendWrite) : this.systems.content.put(p.before.id, write as ContentWrite),
    );
  }

  /** The last step: the local record, only if nobody changed the experiment since the plan. */
  private async commitLocal(op: Operation): Promise<DeployOutcome | Experiment | { experiment: Experiment; conclusion: Conclusion }> {
    const p = op.payload as Payload;
    const out = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const now = await r.operations.get(op.id);
      if (now?.status !== 'pending' || now.owner !== this.owner) throw takenOver(op.id);
      const cur = await this.experiments.load(p.before.id, r);
      if (cur.version !== p.before.version)
        throw new AppError(
          'CONFLICT',
          `experiment '${cur.key}' changed while the ${p.kind} was in flight (v${p.before.version} → v${cur.version})`,
          'Call get_experiment and retry with the current version.',
        );
      const c = p.commit!;
      const ctx = p.ctx!;
      const out =
        c.method === 'deploy'
          ? await this.deploys.commitDeploy(r, { ...c.prepared, exp: cur }, c.input, ctx, false)
          : c.method === 'stop'
            ? await this.stops.commitStop(r, { ...c.plan, exp: cur }, c.input, ctx, false)
            : c.method === 'revert'
              ? await this.stops.commitRevert(r, { ...c.plan, exp: cur }, c.input, ctx, false)
              : c.method === 'pause'
                ? await this.experiments.pauseIn(r, c.input, ctx)
                : await this.stops.rollBackIn(r, c.input, ctx);
      const exp = 'experiment' in out ? out.experiment : out;
      await r.operations.setStatus(op.id, 'completed', this.now(), { outcome: { experimentId: exp.id, version: exp.version, status: exp.status } });
      return out;
    });
    const exp = 'experiment' in out ? out.experiment : out;
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return out;
  }

  private async compensate(op: Operation, error: { code: string; message: string }): Promise<void> {
    await this.claim(op.id);
    const current = (await this.ops.get(op.id))!;
    await this.ops.setStatus(op.id, 'compensating', this.now(), { error });
    const p = op.payload as Payload;
    for (const step of restoreSteps(p.before, current.steps, current.attempting, p.beforeShip ?? null)) await this.apply(op.id, step);
    await this.ops.setStatus(op.id, 'compensated', this.now());
  }

  /** Embedded systems: the whole saga inside the caller's transaction (the local record is being written in it). */
  private async recordEmbedded(
    r: ConfigRepos,
    sys: Extract<Systems, { embedded: true }>,
    kind: Kind,
    before: Experiment,
    after: Experiment,
    key: string | null,
    ship: Ship | null = null,
  ): Promise<void> {
    const id = this.d.newId('op');
    const now = this.now();
    const steps = forwardSteps(kind, before, after, ship);
    await r.operations.start(
      {
        id,
        kind,
        idempotencyKey: key,
        requestHash: hashOf({ kind, experimentId: before.id, version: before.version }),
        experimentId: before.id,
        payload: { kind, before, forward: steps },
        steps: steps.map((s) => s.name),
        status: 'completed',
      },
      now,
    );
    for (const step of steps) {
      const write = { ...step.write, opId: id, step: step.name };
      await timeStep(this.d.opsMetrics, kind, step.name, () =>
        step.system === 'backend' ? sys.backend.putIn(r.sql, before.id, write as BackendWrite) : sys.content.putIn(r.sql, before.id, write as ContentWrite),
      );
    }
    await r.operations.setStatus(id, 'completed', now, { outcome: { experimentId: after.id, version: after.version, status: after.status } });
    this.d.opsMetrics?.sagaOperations.inc({ kind, outcome: 'ok' });
  }

  private observers(): StepObservers {
    return { metrics: this.d.opsMetrics, timings: this.ops.timings };
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
