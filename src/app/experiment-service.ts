import type { Experiment, ExperimentConfig, JsonPatchOperation } from '../domain/schemas.js';
import { combinedPatch, validateExperimentConfig, type ValidationResult } from '../domain/rules/index.js';
import { rangesSize } from '../domain/assignment.js';
import { canTransition, HOLDS_BUCKETS } from '../domain/lifecycle.js';
import { hashOf } from '../domain/canonical.js';
import { confirmationReason, planHashOf, resolveSurfacePolicy, surfacePolicyHash, type SurfacePolicy } from '../domain/policy.js';
import { configOf } from '../store/experiment-repo.js';
import { AppError, notFound } from '../errors.js';
import { systemWrite, type AppDeps, type WriteContext } from './context.js';
import type { Confirmation } from '../store/audit-repo.js';
import { applyPatch, confirmationRequired, parseConfig } from './config-edits.js';
import { deploySummary, planBuckets, type DeployPlan } from './deploy-plan.js';
import { deployRequestHash, requireApproval, requireCurrentPlan, requirePassing, revalidateHint } from './deploy-checks.js';

export type { DeployPlan } from './deploy-plan.js';
export type { AdvanceInput, ConfirmationStatus, DeployInput, DeployOutcome, GivenConfirmation, PreparedDeploy, StopInput, ValidateOutcome } from './experiment-types.js';
import type { AdvanceInput, ConfirmationStatus, DeployInput, DeployOutcome, PreparedDeploy, StopInput, ValidateOutcome } from './experiment-types.js';

const PAUSE_RULE = { from: ['running' as const], hint: 'Only a running experiment can be paused; deploy_to_surface resumes a paused one.' };
const NOT_FOUND_HINT = 'Call list_experiments to find the experiment id.';

/** The experiment lifecycle: create, edit, validate, deploy, stop. One use case, one place; MCP and REST both call it. */
export class ExperimentService {
  /**
   * Called inside the transaction of every status write (deploy, stop, pause) when the systems are
   * embedded: the saga records the operation and the systems' state in that same transaction.
   */
  onCommitted?: (kind: 'deploy' | 'stop' | 'pause', before: Experiment, after: Experiment, idempotencyKey: string | null) => void;

  constructor(private readonly d: AppDeps) {}

  get(id: string): Experiment {
    return this.d.experiments.get(id) ?? this.d.experiments.byKey(id) ?? (() => { throw notFound('experiment', id, NOT_FOUND_HINT); })();
  }

  list(filter: { surfaceId?: string; status?: Experiment['status'][] } = {}): Experiment[] {
    return this.d.experiments.list(filter);
  }

  /** The resolved policy a surface is judged by. */
  policyFor(surfaceId: string): SurfacePolicy {
    return resolveSurfacePolicy(this.d.policy, surfaceId);
  }

  create(input: { config: unknown; idempotencyKey?: string }, ctx: WriteContext): { experiment: Experiment; replayed: boolean } {
    const config = parseConfig(input.config);
    const requestHash = hashOf(config);
    return this.d.db.transaction(() => {
      if (input.idempotencyKey) {
        const prior = this.d.idempotency.find('create_experiment', input.idempotencyKey);
        if (prior) {
          if (prior.requestHash !== requestHash) {
            throw new AppError('CONFLICT', `idempotency key '${input.idempotencyKey}' was already used with a different config`, 'Use a new idempotency key for a different experiment, or resend the original config.');
          }
          return { experiment: this.get((prior.response as { id: string }).id), replayed: true };
        }
      }
      this.requireSurface(config.surfaceId);
      this.requireFreeKey(config.key);
      const now = this.now();
      const experiment = this.d.experiments.insert(this.d.newId('exp'), config, now);
      this.d.audit.record(ctx, 'experiment', experiment.id, null, experiment, now);
      if (input.idempotencyKey) this.d.idempotency.save('create_experiment', input.idempotencyKey, requestHash, { id: experiment.id }, now);
      this.d.emit({ kind: 'experiment', id: experiment.id, surfaceId: experiment.surfaceId });
      return { experiment, replayed: false };
    }).immediate();
  }

  /** Edits a draft: a JSON Patch (RFC 6902) against its stored config, or a whole new config. Needs the version read. */
  update(input: { experimentId: string; version: number; patch?: JsonPatchOperation[]; config?: unknown }, ctx: WriteContext): { experiment: Experiment; changed: boolean } {
    if ((input.patch === undefined) === (input.config === undefined)) {
      throw new AppError('INVALID_INPUT', 'give exactly one of patch or config', 'Pass patch (JSON Patch operations, e.g. a finding\'s patch from validate_config) or config (the whole new config).');
    }
    return this.d.db.transaction(() => {
      const exp = this.get(input.experimentId);
      this.checkVersion(exp, input.version);
      if (exp.status !== 'draft') {
        throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; only drafts can be edited`, exp.status === 'running' || exp.status === 'paused' ? 'Ramp with deploy_to_surface, or stop_experiment and create_experiment with the change.' : 'Create a new experiment (create_experiment) with the change.');
      }
      const before = configOf(exp);
      const config = parseConfig(input.patch ? applyPatch(before, input.patch) : input.config);
      if (hashOf(config) === hashOf(before)) return { experiment: exp, changed: false };
      if (config.surfaceId !== exp.surfaceId) this.requireSurface(config.surfaceId);
      if (config.key !== exp.key) this.requireFreeKey(config.key);
      const now = this.now();
      const next = this.d.experiments.update(exp.id, exp.version, { config }, now);
      this.d.audit.record(ctx, 'experiment', exp.id, exp, next, now);
      this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: next.surfaceId });
      return { experiment: next, changed: true };
    }).immediate();
  }

  /** Validates a stored experiment (recording the verdict and its plan hash) or an inline config. */
  validate(input: { experimentId?: string; config?: unknown }, ctx: WriteContext = systemWrite('validate')): ValidateOutcome {
    if (!input.experimentId && input.config === undefined) {
      throw new AppError('INVALID_INPUT', 'give either experimentId or config', 'Pass experimentId for a stored experiment, or config to check a plan before creating it.');
    }
    const stored = input.experimentId ? this.get(input.experimentId) : undefined;
    const result = this.judge(stored ? configOf(stored) : input.config, stored);
    const policyVersion = this.d.policy.version;
    const fixPatch = combinedPatch(result.findings);
    if (!stored) return { ...result, experimentId: null, version: null, configHash: result.config ? hashOf(result.config) : null, planHash: null, policyVersion, recorded: false, fixPatch };
    const config = configOf(stored);
    const configHash = hashOf(config);
    const policyHash = surfacePolicyHash(this.d.policy, stored.surfaceId);
    const planHash = planHashOf(config, policyHash);
    const now = this.now();
    this.d.db.transaction(() => {
      this.d.validations.record({ experimentId: stored.id, version: stored.version, configHash, planHash, policyHash, valid: result.valid, findings: result.findings, createdAt: now });
      this.d.audit.record(ctx, 'experiment', stored.id, null, { validation: { version: stored.version, configHash, planHash, policyVersion, valid: result.valid, codes: result.findings.map((f) => f.code) } }, now);
    })();
    return { ...result, experimentId: stored.id, version: stored.version, configHash, planHash, policyVersion, recorded: true, fixPatch };
  }

  /**
   * Starts, resumes or resizes an experiment on its surface. It must cite the current plan hash
   * (validate_config's, for this config under this policy); the plan is judged again inside the
   * transaction, so a collision, a freeze window or an off-plan ramp that appeared since is refused.
   */
  deploy(input: DeployInput, ctx: WriteContext): DeployOutcome {
    return this.d.db.transaction(() => {
      const p = this.prepareDeploy(input, ctx);
      return 'applied' in p ? p : this.commitDeploy(p, input, ctx);
    }).immediate();
  }

  /** deploy's checks (replay, version, status, plan hash) and plan, nothing written. Runs inside the caller's transaction. */
  prepareDeploy(input: DeployInput, ctx: WriteContext): DeployOutcome | PreparedDeploy {
    const replay = this.replayedDeploy(input);
    if (replay) return replay;
    const exp = this.get(input.experimentId);
    this.checkVersion(exp, input.version);
    if (!['draft', 'running', 'paused'].includes(exp.status)) {
      throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; only draft, running or paused experiments can be deployed`, 'Create a new experiment (create_experiment) to run this idea again.');
    }
    requireCurrentPlan(this.d, exp, input.planHash, this.planHash(exp));
    return this.planDeploy(exp, input, ctx, false);
  }

  /**
   * The ramp scheduler's step to the next planned stage. Instead of an agent's plan hash it needs a
   * passing verdict on the config in force under the policy in force; instead of a human's
   * confirmation it is audited as the system with its reasons. Everything else is deploy's path:
   * re-judged in this IMMEDIATE transaction (collisions, freeze windows, off-plan), the same bucket
   * allocation and the same allocation approvals by actor.
   */
  advanceBySystem(input: AdvanceInput, ctx: WriteContext): DeployOutcome {
    return this.d.db.transaction(() => {
      const p = this.prepareAdvance(input, ctx);
      return 'applied' in p ? p : this.commitDeploy(p, { allocationPercent: input.toPercent }, ctx);
    }).immediate();
  }

  /** advanceBySystem's checks and plan, nothing written. Runs inside the caller's transaction. */
  prepareAdvance(input: AdvanceInput, ctx: WriteContext): DeployOutcome | PreparedDeploy {
    if (ctx.interface !== 'system') throw new Error('advanceBySystem is reserved to the server itself');
    const exp = this.get(input.experimentId);
    this.checkVersion(exp, input.version);
    const next = exp.rampPlan.stages.find((x) => x > exp.allocationPercent);
    if (exp.status !== 'running' || next !== input.toPercent) {
      throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status} at ${exp.allocationPercent}%; ${input.toPercent}% is not its next stage`, 'Call get_ramp_status to see the stage and the next action.');
    }
    const verdict = this.d.validations.byPlanHash(exp.id, this.planHash(exp));
    if (!verdict?.valid) {
      throw new AppError('PRECONDITION_FAILED', `the config of '${exp.key}' has no passing verdict under the policy in force ('${this.d.policy.version}')`, revalidateHint(exp), { reason: verdict ? 'failed_validation' : 'not_validated' });
    }
    return this.planDeploy(exp, { allocationPercent: input.toPercent }, ctx, true);
  }

  /** Deploy after the caller's checks (plan hash, or the system's verdict): judge again, allocate, audit. Runs inside the caller's transaction. */
  private applyDeploy(exp: Experiment, input: Partial<DeployInput>, ctx: WriteContext, system: boolean): DeployOutcome {
    const p = this.planDeploy(exp, input, ctx, system);
    return 'applied' in p ? p : this.commitDeploy(p, input, ctx);
  }

  /**
   * Deploy's checks and target, nothing written: an outcome when there is nothing to do (dry run,
   * no-op), otherwise what the saga carries to the systems. Runs inside the caller's transaction.
   */
  planDeploy(exp: Experiment, input: Partial<DeployInput>, ctx: WriteContext, system = false): DeployOutcome | PreparedDeploy {
    const toPercent = input.allocationPercent ?? exp.allocationPercent;
    const config: ExperimentConfig = { ...configOf(exp), allocationPercent: toPercent };
    requirePassing(exp, config, this.judge(config, exp));
    const policy = this.policyFor(exp.surfaceId);
    const { plan, buckets } = planBuckets(this.d, exp, toPercent);
    const need = system ? null : confirmationReason(policy, { kind: plan.action, fromPercent: plan.fromPercent, toPercent });
    const summary = deploySummary(exp, plan);
    const confirmation: ConfirmationStatus = { required: need !== null, reason: need, summary, given: null };
    if (plan.action !== 'noop' && toPercent > plan.fromPercent) requireApproval(policy, ctx.actor, toPercent);
    if (input.dryRun || plan.action === 'noop') return { experiment: exp, plan, applied: false, replayed: false, planHash: this.planHash(exp), confirmation };
    const given = input.confirmation ? { action: summary, ...input.confirmation } : null;
    if (need && !given) throw confirmationRequired(need, 'deploy_to_surface');
    return { exp, plan, buckets, config, confirmation: { ...confirmation, given } };
  }

  /** Deploy's writes for a plan made by planDeploy on the same experiment version. Runs inside the caller's transaction. */
  commitDeploy(p: PreparedDeploy, input: Partial<DeployInput>, ctx: WriteContext, mirror = true): DeployOutcome {
    const { exp, plan, buckets, config } = p;
    const given = p.confirmation.given;
    const now = this.now();
    const next = this.d.experiments.update(exp.id, exp.version, { status: 'running', config, buckets, startedAt: exp.startedAt ?? now }, now);
    if (plan.action === 'start' || plan.action === 'resize') this.d.experiments.setStageStartedAt(exp.id, now);
    const planHash = this.planHash(next);
    if (config.allocationPercent !== exp.allocationPercent) {
      // The resized config was judged in planDeploy, inside this transaction: it carries a passing verdict of its own.
      this.d.validations.record({ experimentId: next.id, version: next.version, configHash: hashOf(configOf(next)), planHash, policyHash: surfacePolicyHash(this.d.policy, next.surfaceId), valid: true, findings: [], createdAt: now });
    }
    this.d.audit.record({ ...ctx, ...(given ? { confirmation: given, rationale: ctx.rationale ?? given.reason } : {}) }, 'experiment', exp.id, exp, next, now);
    const out: DeployOutcome = { experiment: next, plan, applied: true, replayed: false, planHash, confirmation: p.confirmation };
    if (input.idempotencyKey && input.planHash) this.d.idempotency.save('deploy_to_surface', input.idempotencyKey, deployRequestHash(input as DeployInput), { plan, applied: true, experimentId: exp.id, planHash, confirmation: out.confirmation }, now);
    if (mirror) this.onCommitted?.('deploy', exp, next, input.idempotencyKey ?? null);
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return out;
  }

  /** What stopping would need: the policy's confirmation for this outcome, after the precondition checks. */
  stopConfirmation(input: Omit<StopInput, 'confirmation'>): ConfirmationStatus {
    const exp = this.get(input.experimentId);
    if (input.version !== undefined) this.checkVersion(exp, input.version);
    this.requireStoppable(exp);
    const outcome = input.outcome ?? 'stopped';
    const need = confirmationReason(this.policyFor(exp.surfaceId), { kind: outcome === 'shipped' ? 'ship' : 'stop' });
    return { required: need !== null, reason: need, summary: `${outcome === 'shipped' ? 'conclude and ship' : outcome === 'rolled_back' ? 'roll back' : 'stop'} '${exp.key}' on ${exp.surfaceId} (${exp.allocationPercent}% of traffic goes back to the default layout)`, given: null };
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
    return { exp: this.get(input.experimentId), given };
  }

  /** Stop's writes for a plan made by planStop on the same experiment version. */
  commitStop(p: { exp: Experiment; given: Confirmation | null }, input: StopInput, ctx: WriteContext, mirror = true): Experiment {
    const { exp, given } = p;
    const now = this.now();
    const next = this.d.experiments.update(exp.id, exp.version, { status: 'concluded', outcome: input.outcome ?? 'stopped', buckets: [], endedAt: now }, now);
    this.d.audit.record({ ...ctx, rationale: input.reason, ...(given ? { confirmation: given } : {}) }, 'experiment', exp.id, exp, next, now);
    if (mirror) this.onCommitted?.('stop', exp, next, null);
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return next;
  }

  /**
   * The circuit breaker's roll back: like stop_experiment with outcome rolled_back, without a human's
   * confirmation (the server acts at once), audited as the system with the numbers that tripped it.
   */
  /** rollBackBySystem's precondition, nothing written. */
  planRollBack(experimentId: string): Experiment {
    const exp = this.get(experimentId);
    this.requireStoppable(exp);
    return exp;
  }

  rollBackBySystem(input: { experimentId: string; reason: string; details: Record<string, unknown> }, ctx: WriteContext): Experiment {
    if (ctx.interface !== 'system') throw new Error('rollBackBySystem is reserved to the server itself');
    return this.d.db.transaction(() => {
      const exp = this.get(input.experimentId);
      this.requireStoppable(exp);
      const now = this.now();
      const next = this.d.experiments.update(exp.id, exp.version, { status: 'concluded', outcome: 'rolled_back', buckets: [], endedAt: now }, now);
      const audited = { ...ctx, rationale: input.reason };
      this.d.audit.record(audited, 'experiment', exp.id, exp, next, now);
      this.d.audit.record(audited, 'experiment', exp.id, null, { circuitBreaker: input.details }, now);
      this.onCommitted?.('stop', exp, next, null);
      this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
      return next;
    }).immediate();
  }

  /** Pauses a running experiment: it keeps its buckets (so nobody else takes them) but serves nothing. */
  pause(input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Experiment {
    return this.move(input, 'paused', ctx, PAUSE_RULE);
  }

  /** pause's preconditions, nothing written. */
  planPause(input: { experimentId: string; version: number }): Experiment {
    return this.checkMove(input, 'paused', PAUSE_RULE);
  }

  /** Archives a concluded experiment or an abandoned draft: read-only from then on. */
  archive(input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Experiment {
    return this.move(input, 'archived', ctx, { from: ['draft', 'concluded'], hint: 'Stop it first (stop_experiment); only drafts and concluded experiments can be archived.' });
  }

  private move(input: { experimentId: string; version: number; reason: string }, to: Experiment['status'], ctx: WriteContext, rule: { from: Experiment['status'][]; hint: string }): Experiment {
    return this.d.db.transaction(() => {
      const exp = this.checkMove(input, to, rule);
      const now = this.now();
      const next = this.d.experiments.update(exp.id, exp.version, { status: to }, now);
      this.d.audit.record({ ...ctx, rationale: input.reason }, 'experiment', exp.id, exp, next, now);
      if (to === 'paused') this.onCommitted?.('pause', exp, next, null);
      this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
      return next;
    }).immediate();
  }

  private checkMove(input: { experimentId: string; version: number }, to: Experiment['status'], rule: { from: Experiment['status'][]; hint: string }): Experiment {
    const exp = this.get(input.experimentId);
    this.checkVersion(exp, input.version);
    if (!rule.from.includes(exp.status) || !canTransition(exp.status, to)) {
      throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; it cannot become ${to}`, rule.hint);
    }
    return exp;
  }

  private judge(config: unknown, self?: Experiment): ValidationResult {
    const surfaceId = (config as { surfaceId?: unknown } | null)?.surfaceId;
    const surface = typeof surfaceId === 'string' ? this.d.catalog.surface(surfaceId) : undefined;
    const active = surface ? this.d.experiments.list({ surfaceId: surface.id, status: HOLDS_BUCKETS }).filter((e) => e.id !== self?.id) : [];
    const deployed = self && HOLDS_BUCKETS.includes(self.status) ? { status: self.status, allocationPercent: self.allocationPercent } : undefined;
    return validateExperimentConfig(config, {
      surface,
      content: new Map(this.d.catalog.contentItems().map((c) => [c.id, c])),
      metrics: new Map(this.d.catalog.metrics().map((m) => [m.id, m])),
      active,
      ownedBuckets: self ? rangesSize(self.buckets) : 0,
      policy: this.policyFor(typeof surfaceId === 'string' ? surfaceId : ''),
      now: this.d.clock.now(),
      ...(deployed ? { deployed } : {}),
    });
  }

  /** The plan hash of the config in force under the policy in force (what a ramp cites). */
  planHashOf(exp: Experiment): string {
    return this.planHash(exp);
  }

  private planHash(exp: Experiment): string {
    return planHashOf(configOf(exp), surfacePolicyHash(this.d.policy, exp.surfaceId));
  }

  private replayedDeploy(input: DeployInput): DeployOutcome | null {
    if (!input.idempotencyKey) return null;
    const prior = this.d.idempotency.find('deploy_to_surface', input.idempotencyKey);
    if (!prior) return null;
    const r = prior.response as { plan: DeployPlan; applied: boolean; experimentId: string; planHash: string; confirmation: ConfirmationStatus };
    if (prior.requestHash !== deployRequestHash(input)) throw new AppError('CONFLICT', `idempotency key '${input.idempotencyKey}' was used for a different deploy`, 'Use a fresh idempotency key for a different request.');
    return { experiment: this.get(r.experimentId), plan: r.plan, applied: r.applied, replayed: true, planHash: r.planHash, confirmation: r.confirmation };
  }

  private requireStoppable(exp: Experiment): void {
    if (!canTransition(exp.status, 'concluded') || !HOLDS_BUCKETS.includes(exp.status)) {
      throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; only running or paused experiments can be stopped`, exp.status === 'draft' ? 'A draft serves nothing; there is nothing to stop.' : 'It is already over; get_metrics shows its final results.');
    }
  }

  private requireSurface(surfaceId: string): void {
    if (!this.d.catalog.surface(surfaceId)) throw notFound('surface', surfaceId, 'Call list_surfaces and use one of its ids.');
  }

  private requireFreeKey(key: string): void {
    const existing = this.d.experiments.byKey(key);
    if (existing) throw new AppError('CONFLICT', `an experiment with key '${key}' already exists (${existing.id})`, 'Choose another key, or call get_experiment on the existing one.', { existingId: existing.id });
  }

  private checkVersion(exp: Experiment, version: number): void {
    if (exp.version !== version) {
      throw new AppError('CONFLICT', `experiment '${exp.key}' is at version ${exp.version}, not ${version}`, 'Call get_experiment to read the current version, review what changed, and retry with it.', { currentVersion: exp.version });
    }
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
