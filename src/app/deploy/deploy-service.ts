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
  deploy(input: DeployInput, ctx: WriteContext): DeployOutcome {
    return this.d.db
      .transaction(() => {
        const p = this.prepareDeploy(input, ctx);
        return 'applied' in p ? p : this.commitDeploy(p, input, ctx);
      })
      .immediate();
  }

  /** deploy's checks (replay, version, status, plan hash) and plan, nothing written. Runs inside the caller's transaction. */
  prepareDeploy(input: DeployInput, ctx: WriteContext): DeployOutcome | PreparedDeploy {
    const replay = this.replayedDeploy(input);
    if (replay) return replay;
    const exp = this.experiments.get(input.experimentId);
    requireVersion(exp, input.version);
    if (!['draft', 'running', 'paused'].includes(exp.status)) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `experiment '${exp.key}' is ${exp.status}; only draft, running or paused experiments can be deployed`,
        'Create a new experiment (create_experiment) to run this idea again.',
      );
    }
    requireCurrentPlan(this.d, exp, input.planHash, this.experiments.planHashOf(exp));
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
    return this.d.db
      .transaction(() => {
        const p = this.prepareAdvance(input, ctx);
        return 'applied' in p ? p : this.commitDeploy(p, { allocationPercent: input.toPercent }, ctx);
      })
      .immediate();
  }

  /** advanceBySystem's checks and plan, nothing written. Runs inside the caller's transaction. */
  prepareAdvance(input: AdvanceInput, ctx: WriteContext): DeployOutcome | PreparedDeploy {
    if (ctx.interface !== 'system') throw new Error('advanceBySystem is reserved to the server itself');
    const exp = this.experiments.get(input.experimentId);
    requireVersion(exp, input.version);
    const next = exp.rampPlan.stages.find((x) => x > exp.allocationPercent);
    if (exp.status !== 'running' || next !== input.toPercent) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `experiment '${exp.key}' is ${exp.status} at ${exp.allocationPercent}%; ${input.toPercent}% is not its next stage`,
        'Call get_ramp_status to see the stage and the next action.',
      );
    }
    const verdict = this.d.validations.byPlanHash(exp.id, this.experiments.planHashOf(exp));
    if (!verdict?.valid) {
      throw new AppError(
        'PRECONDITION_FAILED',
        `the config of '${exp.key}' has no passing verdict under the policy in force ('${this.d.policy.version}')`,
        revalidateHint(exp),
        { reason: verdict ? 'failed_validation' : 'not_validated' },
      );
    }
    return this.planDeploy(exp, { allocationPercent: input.toPercent }, ctx, true);
  }

  /**
   * Deploy's checks and target, nothing written: an outcome when there is nothing to do (dry run,
   * no-op), otherwise what the saga carries to the systems. Runs inside the caller's transaction.
   */
  planDeploy(exp: Experiment, input: Partial<DeployInput>, ctx: WriteContext, system = false): DeployOutcome | PreparedDeploy {
    const toPercent = input.allocationPercent ?? exp.allocationPercent;
    const config: ExperimentConfig = { ...configOf(exp), allocationPercent: toPercent };
    requirePassing(exp, config, this.experiments.judge(config, exp));
    const policy = this.experiments.policyFor(exp.surfaceId);
    const { plan, buckets } = planBuckets(this.d, exp, toPercent);
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
  commitDeploy(p: PreparedDeploy, input: Partial<DeployInput>, ctx: WriteContext, mirror = true): DeployOutcome {
    const { exp, plan, buckets, config } = p;
    const given = p.confirmation.given;
    const now = this.now();
    const next = this.d.experiments.update(exp.id, exp.version, { status: 'running', config, buckets, startedAt: exp.startedAt ?? now }, now);
    if (plan.action === 'start' || plan.action === 'resize') this.d.experiments.setStageStartedAt(exp.id, now);
    const planHash = this.experiments.planHashOf(next);
    if (config.allocationPercent !== exp.allocationPercent) {
      // The resized config was judged in planDeploy, inside this transaction: it carries a passing verdict of its own.
      this.d.validations.record({
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
    this.d.audit.record({ ...ctx, ...(given ? { confirmation: given, rationale: ctx.rationale ?? given.reason } : {}) }, 'experiment', exp.id, exp, next, now);
    const out: DeployOutcome = { experiment: next, plan, applied: true, replayed: false, planHash, confirmation: p.confirmation };
    if (input.idempotencyKey && input.planHash)
      this.d.idempotency.save(
        'deploy_to_surface',
        input.idempotencyKey,
        deployRequestHash(input as DeployInput),
        { plan, applied: true, experimentId: exp.id, planHash, confirmation: out.confirmation },
        now,
      );
    if (mirror) this.d.commits.onCommitted?.('deploy', exp, next, input.idempotencyKey ?? null);
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return out;
  }

  private replayedDeploy(input: DeployInput): DeployOutcome | null {
    if (!input.idempotencyKey) return null;
    const prior = this.d.idempotency.find('deploy_to_surface', input.idempotencyKey);
    if (!prior) return null;
    const r = prior.response as { plan: DeployPlan; applied: boolean; experimentId: string; planHash: string; confirmation: ConfirmationStatus };
    if (prior.requestHash !== deployRequestHash(input))
      throw new AppError(
        'CONFLICT',
        `idempotency key '${input.idempotencyKey}' was used for a different deploy`,
        'Use a fresh idempotency key for a different request.',
      );
    return {
      experiment: this.experiments.get(r.experimentId),
      plan: r.plan,
      applied: r.applied,
      replayed: true,
      planHash: r.planHash,
      confirmation: r.confirmation,
    };
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
