import { ExperimentConfigSchema, type Experiment, type ExperimentConfig, type Ranges } from '../domain/schemas.js';
import { validateExperimentConfig, type ValidationResult } from '../domain/validation.js';
import { bucketsForPercent, collides, freeRanges, rangesSize, resizeAllocation } from '../domain/assignment.js';
import { canTransition, HOLDS_BUCKETS } from '../domain/lifecycle.js';
import { hashOf } from '../domain/canonical.js';
import { configOf } from '../store/experiment-repo.js';
import { AppError, notFound } from '../errors.js';
import { systemWrite, type AppDeps, type WriteContext } from './context.js';

export interface ValidateOutcome extends ValidationResult {
  experimentId: string | null;
  version: number | null;
  configHash: string | null;
  recorded: boolean;
}

export interface DeployPlan {
  action: 'start' | 'resize' | 'resume' | 'noop';
  fromPercent: number;
  toPercent: number;
  bucketsBefore: number;
  bucketsAfter: number;
  collidingWith: string[];
}

const NOT_FOUND_HINT = 'Call list_experiments to find the experiment id.';

/** The experiment lifecycle: create, validate, deploy, stop. One use case, one place; MCP and REST both call it. */
export class ExperimentService {
  constructor(private readonly d: AppDeps) {}

  get(id: string): Experiment {
    return this.d.experiments.get(id) ?? this.d.experiments.byKey(id) ?? (() => { throw notFound('experiment', id, NOT_FOUND_HINT); })();
  }

  list(filter: { surfaceId?: string; status?: Experiment['status'][] } = {}): Experiment[] {
    return this.d.experiments.list(filter);
  }

  create(input: { config: unknown; idempotencyKey?: string }, ctx: WriteContext): { experiment: Experiment; replayed: boolean } {
    const parsed = ExperimentConfigSchema.safeParse(input.config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new AppError('INVALID_CONFIG', `the experiment config is invalid: ${issues.slice(0, 5).join('; ')}`, 'Fix the listed fields; validate_config with the inline config shows every finding at once.', { issues });
    }
    const config = parsed.data;
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
      if (!this.d.catalog.surface(config.surfaceId)) throw notFound('surface', config.surfaceId, 'Call list_surfaces and use one of its ids.');
      const existing = this.d.experiments.byKey(config.key);
      if (existing) throw new AppError('CONFLICT', `an experiment with key '${config.key}' already exists (${existing.id})`, 'Choose another key, or call get_experiment on the existing one.', { existingId: existing.id });
      const now = this.now();
      const experiment = this.d.experiments.insert(this.d.newId('exp'), config, now);
      this.d.audit.record(ctx, 'experiment', experiment.id, null, experiment, now);
      if (input.idempotencyKey) this.d.idempotency.save('create_experiment', input.idempotencyKey, requestHash, { id: experiment.id }, now);
      this.d.emit({ kind: 'experiment', id: experiment.id, surfaceId: experiment.surfaceId });
      return { experiment, replayed: false };
    }).immediate();
  }

  /** Validates a stored experiment (and records the verdict against its version) or an inline config. */
  validate(input: { experimentId?: string; config?: unknown }, ctx: WriteContext = systemWrite('validate')): ValidateOutcome {
    if (!input.experimentId && input.config === undefined) {
      throw new AppError('INVALID_INPUT', 'give either experimentId or config', 'Pass experimentId for a stored experiment, or config to check a plan before creating it.');
    }
    const stored = input.experimentId ? this.get(input.experimentId) : undefined;
    const config = stored ? configOf(stored) : input.config;
    const result = this.judge(config, stored);
    if (!stored) return { ...result, experimentId: null, version: null, configHash: result.config ? hashOf(result.config) : null, recorded: false };
    const configHash = hashOf(configOf(stored));
    const now = this.now();
    this.d.db.transaction(() => {
      this.d.validations.record({ experimentId: stored.id, version: stored.version, configHash, valid: result.valid, findings: result.findings, createdAt: now });
      this.d.audit.record(ctx, 'experiment', stored.id, null, { validation: { version: stored.version, configHash, valid: result.valid, codes: result.findings.map((f) => f.code) } }, now);
    })();
    return { ...result, experimentId: stored.id, version: stored.version, configHash, recorded: true };
  }

  /** Starts, resumes or resizes a validated experiment on its surface; refuses anything unvalidated or colliding. */
  deploy(input: { experimentId: string; version: number; allocationPercent?: number; dryRun?: boolean; idempotencyKey?: string }, ctx: WriteContext): { experiment: Experiment; plan: DeployPlan; applied: boolean; replayed: boolean } {
    const run = () => {
      if (input.idempotencyKey && !input.dryRun) {
        const prior = this.d.idempotency.find('deploy_to_surface', input.idempotencyKey);
        if (prior) {
          const r = prior.response as { plan: DeployPlan; applied: boolean; experimentId: string; requestHash: string };
          if (r.requestHash !== hashOf(input)) throw new AppError('CONFLICT', `idempotency key '${input.idempotencyKey}' was used for a different deploy`, 'Use a fresh idempotency key for a different request.');
          return { experiment: this.get(r.experimentId), plan: r.plan, applied: r.applied, replayed: true };
        }
      }
      const exp = this.get(input.experimentId);
      this.checkVersion(exp, input.version);
      if (!['draft', 'running', 'paused'].includes(exp.status)) {
        throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; only draft, running or paused experiments can be deployed`, 'Create a new experiment (create_experiment) to run this idea again.');
      }
      this.requirePassingValidation(exp);
      const toPercent = input.allocationPercent ?? exp.allocationPercent;
      const config: ExperimentConfig = { ...configOf(exp), allocationPercent: toPercent };
      if (toPercent !== exp.allocationPercent) {
        const again = this.judge(config, exp);
        if (!again.valid) {
          throw new AppError('PRECONDITION_FAILED', `allocation ${toPercent}% fails validation: ${again.findings.filter((x) => x.severity === 'error').map((x) => x.code).join(', ')}`, 'Call validate_config with the new allocation to see the findings and fixes.', { findings: again.findings });
        }
      }
      const { plan, buckets } = this.planBuckets(exp, toPercent);
      if (input.dryRun || plan.action === 'noop') return { experiment: exp, plan, applied: false, replayed: false };
      const now = this.now();
      const next = this.d.experiments.update(exp.id, exp.version, { status: 'running', config, buckets, startedAt: exp.startedAt ?? now }, now);
      if (toPercent !== exp.allocationPercent) {
        // The deploy re-validated the resized config, so that exact config carries a passing verdict.
        this.d.validations.record({ experimentId: next.id, version: next.version, configHash: hashOf(configOf(next)), valid: true, findings: [], createdAt: now });
      }
      this.d.audit.record(ctx, 'experiment', exp.id, exp, next, now);
      if (input.idempotencyKey) this.d.idempotency.save('deploy_to_surface', input.idempotencyKey, hashOf(input), { plan, applied: true, experimentId: exp.id, requestHash: hashOf(input) }, now);
      this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
      return { experiment: next, plan, applied: true, replayed: false };
    };
    return this.d.db.transaction(run).immediate();
  }

  /** Kill switch: ends a running or paused experiment at once and frees its buckets. */
  stop(input: { experimentId: string; version?: number; reason: string; outcome?: 'stopped' | 'rolled_back' }, ctx: WriteContext): Experiment {
    return this.d.db.transaction(() => {
      const exp = this.get(input.experimentId);
      if (input.version !== undefined) this.checkVersion(exp, input.version);
      if (!canTransition(exp.status, 'concluded') || !HOLDS_BUCKETS.includes(exp.status)) {
        throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; only running or paused experiments can be stopped`, exp.status === 'draft' ? 'A draft serves nothing; there is nothing to stop.' : 'It is already over; get_metrics shows its final results.');
      }
      const now = this.now();
      const next = this.d.experiments.update(exp.id, exp.version, { status: 'concluded', outcome: input.outcome ?? 'stopped', buckets: [], endedAt: now }, now);
      this.d.audit.record({ ...ctx, rationale: input.reason }, 'experiment', exp.id, exp, next, now);
      this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
      return next;
    }).immediate();
  }

  /** Pauses a running experiment: it keeps its buckets (so nobody else takes them) but serves nothing. */
  pause(input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Experiment {
    return this.move(input, 'paused', ctx, { from: ['running'], hint: 'Only a running experiment can be paused; deploy_to_surface resumes a paused one.' });
  }

  /** Archives a concluded experiment or an abandoned draft: read-only from then on. */
  archive(input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Experiment {
    return this.move(input, 'archived', ctx, { from: ['draft', 'concluded'], hint: 'Stop it first (stop_experiment); only drafts and concluded experiments can be archived.' });
  }

  private move(input: { experimentId: string; version: number; reason: string }, to: Experiment['status'], ctx: WriteContext, rule: { from: Experiment['status'][]; hint: string }): Experiment {
    return this.d.db.transaction(() => {
      const exp = this.get(input.experimentId);
      this.checkVersion(exp, input.version);
      if (!rule.from.includes(exp.status) || !canTransition(exp.status, to)) {
        throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; it cannot become ${to}`, rule.hint);
      }
      const now = this.now();
      const next = this.d.experiments.update(exp.id, exp.version, { status: to }, now);
      this.d.audit.record({ ...ctx, rationale: input.reason }, 'experiment', exp.id, exp, next, now);
      this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
      return next;
    }).immediate();
  }

  private judge(config: unknown, self?: Experiment): ValidationResult {
    const surfaceId = (config as { surfaceId?: unknown } | null)?.surfaceId;
    const surface = typeof surfaceId === 'string' ? this.d.catalog.surface(surfaceId) : undefined;
    const active = surface ? this.d.experiments.list({ surfaceId: surface.id, status: HOLDS_BUCKETS }).filter((e) => e.id !== self?.id) : [];
    return validateExperimentConfig(config, {
      surface,
      content: new Map(this.d.catalog.contentItems().map((c) => [c.id, c])),
      metrics: new Map(this.d.catalog.metrics().map((m) => [m.id, m])),
      active,
      ownedBuckets: self ? rangesSize(self.buckets) : 0,
      policy: this.d.policy,
    });
  }

  private planBuckets(exp: Experiment, toPercent: number): { plan: DeployPlan; buckets: Ranges } {
    const surface = this.d.catalog.surface(exp.surfaceId)!;
    const colliding = this.d.experiments.list({ surfaceId: exp.surfaceId, status: HOLDS_BUCKETS }).filter((e) => e.id !== exp.id && collides(e, exp));
    const free = freeRanges(surface.bucketCount, [...colliding.flatMap((e) => e.buckets), ...exp.buckets]);
    const target = bucketsForPercent(surface.bucketCount, toPercent);
    const buckets = resizeAllocation(exp.buckets, free, target);
    if (!buckets) {
      throw new AppError('CONFLICT', `only ${rangesSize(free) + rangesSize(exp.buckets)} of the ${target} buckets needed are free of colliding experiments (${colliding.map((e) => e.key).join(', ')})`, 'Call validate_config to see the collision finding, then lower the allocation or use other slots.', { collidingWith: colliding.map((e) => e.id) });
    }
    const before = rangesSize(exp.buckets);
    const action: DeployPlan['action'] =
      exp.status === 'draft' ? 'start' : exp.status === 'paused' ? 'resume' : before === target && toPercent === exp.allocationPercent ? 'noop' : 'resize';
    return {
      plan: { action, fromPercent: exp.status === 'draft' ? 0 : exp.allocationPercent, toPercent, bucketsBefore: before, bucketsAfter: target, collidingWith: colliding.map((e) => e.key) },
      buckets,
    };
  }

  private requirePassingValidation(exp: Experiment): void {
    const v = this.d.validations.latestForConfig(exp.id, hashOf(configOf(exp)));
    if (!v || !v.valid) {
      throw new AppError('PRECONDITION_FAILED', v ? `the current config of '${exp.key}' (v${exp.version}) failed validation` : `the current config of '${exp.key}' (v${exp.version}) has not been validated`, `Call validate_config with experimentId '${exp.id}' and fix every error finding, then deploy again.`);
    }
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
