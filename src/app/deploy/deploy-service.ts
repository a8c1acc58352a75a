import type { ExperimentConfig } from '../../domain/schemas.js';
import { hashOf } from '../../domain/canonical.js';
import { confirmationMode, confirmationReason, surfacePolicyHash } from '../../domain/policy.js';
import { configOf } from '../../store/experiment-repo.js';
import { AppError } from '../../errors.js';
import type { AppDeps, WriteContext } from '../context.js';
import { requireConfirmation } from '../experiments/config-edits.js';
import { requireVersion, type ExperimentService } from '../experiments/experiment-service.js';
import type { ConfirmationStatus } from '../experiments/experiment-types.js';
import { deploySummary, planBuckets, type DeployPlan } from './deploy-plan.js';
import { deployRequestHash, requireApproval, requireCurrentPlan, requirePassing, revalidateHint } from './deploy-checks.js';
import type { AdvanceInput, DeployInput, DeployOutcome, PreparedDeploy } from './deploy-types.js';
import type { Experiment } from '../../domain/schemas.js';
import { bumpRevision } from '../../store/pg/revision.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';

/**
 * Deploy in one place: the checks (replay, version, status, plan hash or the system's verdict),
 * the plan (judged again, buckets, approvals, confirmation) and the local record's writes. The
 * saga (deploy-saga.ts) carries a prepared deploy to the systems and commits it here.
 */
export class DeployService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
  ) {}

  /**
   * Starts, resumes or resizes an experiment on its surface. It must cite the current plan hash
   * (validate_config's, for this config under this policy); the plan is judged again inside the
   * transaction, so a collision, a freeze window or an off-plan ramp that appeared since is refused.
   */
  async deploy(input: DeployInput, ctx: WriteContext): Promise<DeployOutcome> {
    // Reads the surface's other experiments, decides buckets and writes: SERIALIZABLE on PostgreSQL (ADR 0020).
    const out = await this.d.sql.tx(
      async (tx) => {
        const r = configRepos(tx);
        const p = await this.prepareDeploy(r, input, ctx);
        return 'applied' in p ? p : this.commitDeploy(r, p, input, ctx);
      },
      { isolation: 'serializable' },
    );
    if (out.applied && !out.replayed) this.emitted(out.experiment);
    return out;
  }

  /** Announces a committed write (serving recompiles, subscribers hear it). */
  emitted(exp: Experiment): void {
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
  }

  /** deploy's checks (replay, version, status, plan hash) and plan, nothing written. Runs inside the caller's transaction. */
  async prepareDeploy(r: ConfigRepos, input: DeployInput, ctx: WriteContext): Promise<DeployOutcome | PreparedDeploy> {
    const replay = await this.replayedDeploy(r, input);
    if (replay) return replay;
    const exp = await this.experiments.load(input.experimentId, r);
    requireVersion(exp, input.version);
    if (!['draft', 'running', 'paused'].includes(exp.status)) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `experiment '${exp.key}' is ${exp.status}; only draft, running or paused experiments can be deployed`,
        'Create a new experiment (create_experiment) to run this idea again.',
      );
    }
    await requireCurrentPlan(r, this.d.policy, exp, input.planHash, this.experiments.planHashOf(exp));
    return this.planDeploy(r, exp, input, ctx, false);
  }

  /**
   * The ramp scheduler's step to the next planned stage. Instead of an agent's plan hash it needs a
   * passing verdict on the config in force under the policy in force; instead of a human's
   * confirmation it is audited as the system with its reasons. Everything else is deploy's path:
   * re-judged in this IMMEDIATE transaction (collisions, freeze windows, off-plan), the same bucket
   * allocation and the same allocation approvals by actor.
   */
  async advanceBySystem(input: AdvanceInput, ctx: WriteContext): Promise<DeployOutcome> {
    const out = await this.d.sql.tx(
      async (tx) => {
        const r = configRepos(tx);
        const p = await this.prepareAdvance(r, input, ctx);
        return 'applied' in p ? p : this.commitDeploy(r, p, { allocationPercent: input.toPercent }, ctx);
      },
      { isolation: 'serializable' },
    );
    if (out.applied) this.emitted(out.experiment);
    return out;
  }

  /** advanceBySystem's checks and plan, nothing written. Runs inside the caller's transaction. */
  async prepareAdvance(r: ConfigRepos, input: AdvanceInput, ctx: WriteContext): Promise<DeployOutcome | PreparedDeploy> {
    if (ctx.interface !== 'system') throw new Error('advanceBySystem is reserved to the server itself');
    const exp = await this.experiments.load(input.experimentId, r);
    requireVersion(exp, input.version);
    const next = exp.rampPlan.stages.find((x) => x > exp.allocationPercent);
    if (exp.status !== 'running' || next !== input.toPercent) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `experiment '${exp.key}' is ${exp.status} at ${exp.allocationPercent}%; ${input.toPercent}% is not its next stage`,
        'Call get_ramp_status to see the stage and the next action.',
      );
    }
    const verdict = await r.validations.byPlanHash(exp.id, this.experiments.planHashOf(exp));
    if (!verdict?.valid) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `the config of '${exp.key}' has no passing verdict under the policy in force ('${this.d.policy.version}')`,
        revalidateHint(exp),
        { reason: verdict ? 'failed_validation' : 'not_validated' },
      );
    }
    return this.planDeploy(r, exp, { allocationPercent: input.toPercent }, ctx, true);
  }

  /**
   * Deploy's checks and target, nothing written: an outcome when there is nothing to do (dry run,
   * no-op), otherwise what the saga carries to the systems. Runs inside the caller's transaction.
   */
  async planDeploy(r: ConfigRepos, exp: Experiment, input: Partial<DeployInput>, ctx: WriteContext, system = false): Promise<DeployOutcome | PreparedDeploy> {
    const toPercent = input.allocationPercent ?? exp.allocationPercent;
    const config: ExperimentConfig = { ...configOf(exp), allocationPercent: toPercent };
    requirePassing(exp, config, await this.experiments.judge(config, exp, r));
    const policy = this.experiments.policyFor(exp.surfaceId);
    const { plan, buckets } = await planBuckets(r, exp, toPercent);
    const action = { kind: plan.action, fromPercent: plan.fromPercent, toPercent };
    const slo = system ? null : (this.d.slo?.approvalReason(policy.firstStageCapPercent, plan.fromPercent, toPercent) ?? null);
    const need = system ? null : (slo ?? confirmationReason(policy, action));
    const mode = system ? 'none' : slo ? 'approval' : confirmationMode(policy, action);
    const summary = deploySummary(exp, plan);
    const confirmation: ConfirmationStatus = { required: need !== null, mode, reason: need, summary, given: null };
    if (plan.action !== 'noop' && toPercent > plan.fromPercent) requireApproval(policy, ctx.actor, toPercent);
    if (input.dryRun || plan.action === 'noop')
      return { experiment: exp, plan, applied: false, replayed: false, planHash: this.experiments.planHashOf(exp), confirmation };
    const given = input.confirmation ? { action: summary, ...input.confirmation } : null;
    requireConfirmation(need, mode, given, 'deploy_to_surface');
    return { exp, plan, buckets, config, confirmation: { ...confirmation, given } };
  }

  /** Deploy's writes for a plan made by planDeploy on the same experiment version. Runs inside the caller's transaction. */
  async commitDeploy(r: ConfigRepos, p: PreparedDeploy, input: Partial<DeployInput>, ctx: WriteContext, mirror = true): Promise<DeployOutcome> {
    const { exp, plan, buckets, config } = p;
    const given = p.confirmation.given;
    const now = this.now();
    const next = await r.experiments.update(exp.id, exp.version, { status: 'running', config, buckets, startedAt: exp.startedAt ?? now }, now);
    if (plan.action === 'start' || plan.action === 'resize') await r.experiments.setStageStartedAt(exp.id, now);
    const planHash = this.experiments.planHashOf(next);
    if (config.allocationPercent !== exp.allocationPercent) {
      // The resized config was judged in planDeploy, inside this transaction: it carries a passing verdict of its own.
      await r.validations.record({
        experimentId: next.id,
        version: next.version,
        configHash: hashOf(configOf(next)),
        planHash,
        policyHash: surfacePolicyHash(this.d.policy, next.surfaceId),
        valid: true,
        findings: [],
        createdAt: now,
      });
    }
    await r.audit.record({ ...ctx, ...(given ? { confirmation: given, rationale: ctx.rationale ?? given.reason } : {}) }, 'experiment', exp.id, exp, next, now);
    const out: DeployOutcome = { experiment: next, plan, applied: true, replayed: false, planHash, confirmation: p.confirmation };
    if (input.idempotencyKey && input.planHash)
      await r.idempotency.save(
        'deploy_to_surface',
        input.idempotencyKey,
        deployRequestHash(input as DeployInput),
        { plan, applied: true, experimentId: exp.id, planHash, confirmation: out.confirmation },
        now,
      );
    if (mirror) await this.d.commits.onCommitted?.(r, 'deploy', exp, next, input.idempotencyKey ?? null);
    await bumpRevision(r.sql);
    return out;
  }

  private async replayedDeploy(r: ConfigRepos, input: DeployInput): Promise<DeployOutcome | null> {
    const key = input.idempotencyKey;
    if (!key) return null;
    const prior = (await r.idempotency.replay(
      'deploy_to_surface',
      key,
      deployRequestHash(input),
      () => new AppError('CONFLICT', `idempotency key '${key}' was used for a different deploy`, 'Use a fresh idempotency key for a different request.'),
    )) as { plan: DeployPlan; applied: boolean; experimentId: string; planHash: string; confirmation: ConfirmationStatus } | undefined;
    if (!prior) return null;
    return {
      experiment: await this.experiments.load(prior.experimentId, r),
      plan: prior.plan,
      applied: prior.applied,
      replayed: true,
      planHash: prior.planHash,
      confirmation: prior.confirmation,
    };
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
