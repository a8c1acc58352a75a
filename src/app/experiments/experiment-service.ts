import { ExperimentConfigSchema, type Experiment, type ExperimentConfig, type JsonPatchOperation } from '../../domain/schemas.js';
import { withCompiledLayouts } from '../../domain/layout.js';
import { CatalogService } from '../catalog/catalog-service.js';
import { combinedPatch, validateExperimentConfig, type ValidationResult } from '../../domain/rules/index.js';
import { rangesSize } from '../../domain/assignment.js';
import { canTransition, HOLDS_BUCKETS } from '../../domain/lifecycle.js';
import { hashOf } from '../../domain/canonical.js';
import { planHashOf, resolveSurfacePolicy, surfacePolicyHash, type SurfacePolicy } from '../../domain/policy.js';
import { configOf } from '../../store/experiment-repo.js';
import { AppError, notFound } from '../../errors.js';
import { systemWrite, type AppDeps, type WriteContext } from '../context.js';
import { applyPatch, parseConfig } from './config-edits.js';
import type { ValidateOutcome } from './experiment-types.js';

export type { ConfirmationStatus, GivenConfirmation, ValidateOutcome } from './experiment-types.js';

const PAUSE_RULE = { from: ['running' as const], hint: 'Only a running experiment can be paused; deploy_to_surface resumes a paused one.' };
const NOT_FOUND_HINT = 'Call list_experiments to find the experiment id.';

/**
 * The experiment record's lifecycle: create, edit, validate, pause, archive. Deploy, ramp and stop
 * (cross-system writes) live in app/deploy and build on this. MCP and REST both call it.
 */
export class ExperimentService {
  private readonly catalog: CatalogService;

  constructor(private readonly d: AppDeps) {
    this.catalog = new CatalogService(d);
  }

  get(id: string): Experiment {
    return (
      this.d.experiments.get(id) ??
      this.d.experiments.byKey(id) ??
      (() => {
        throw notFound(
          'experiment',
          id,
          NOT_FOUND_HINT,
          this.d.experiments.list().flatMap((e) => [e.key, e.id]),
        );
      })()
    );
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
    return this.d.db
      .transaction(() => {
        if (input.idempotencyKey) {
          const prior = this.d.idempotency.find('create_experiment', input.idempotencyKey);
          if (prior) {
            if (prior.requestHash !== requestHash) {
              throw new AppError(
                'CONFLICT',
                `idempotency key '${input.idempotencyKey}' was already used with a different config`,
                'Use a new idempotency key for a different experiment, or resend the original config.',
              );
            }
            return { experiment: this.get((prior.response as { id: string }).id), replayed: true };
          }
        }
        this.requireSurface(config.surfaceId);
        this.requireFreeKey(config.key);
        const now = this.now();
        const experiment = this.d.experiments.insert(this.d.newId('exp'), this.compileLayouts(config), now);
        this.d.audit.record(ctx, 'experiment', experiment.id, null, experiment, now);
        if (input.idempotencyKey) this.d.idempotency.save('create_experiment', input.idempotencyKey, requestHash, { id: experiment.id }, now);
        this.d.emit({ kind: 'experiment', id: experiment.id, surfaceId: experiment.surfaceId });
        return { experiment, replayed: false };
      })
      .immediate();
  }

  /** Edits a draft: a JSON Patch (RFC 6902) against its stored config, or a whole new config. Needs the version read. */
  update(
    input: { experimentId: string; version: number; patch?: JsonPatchOperation[]; config?: unknown },
    ctx: WriteContext,
  ): { experiment: Experiment; changed: boolean } {
    if ((input.patch === undefined) === (input.config === undefined)) {
      throw new AppError(
        'INVALID_INPUT',
        'give exactly one of patch or config',
        "Pass patch (JSON Patch operations, e.g. a finding's patch from validate_config) or config (the whole new config).",
      );
    }
    return this.d.db
      .transaction(() => {
        const exp = this.get(input.experimentId);
        requireVersion(exp, input.version);
        if (exp.status !== 'draft') {
          throw new AppError(
            'PRECONDITION_FAILED',
            `experiment '${exp.key}' is ${exp.status}; only drafts can be edited`,
            exp.status === 'running' || exp.status === 'paused'
              ? 'Ramp with deploy_to_surface, or stop_experiment and create_experiment with the change.'
              : 'Create a new experiment (create_experiment) with the change.',
          );
        }
        const before = configOf(exp);
        const edited = parseConfig(input.patch ? applyPatch(before, input.patch) : input.config);
        if (edited.surfaceId !== exp.surfaceId) this.requireSurface(edited.surfaceId);
        const config = this.compileLayouts(edited);
        if (hashOf(config) === hashOf(before)) return { experiment: exp, changed: false };
        if (config.key !== exp.key) this.requireFreeKey(config.key);
        const now = this.now();
        const next = this.d.experiments.update(exp.id, exp.version, { config }, now);
        this.d.audit.record(ctx, 'experiment', exp.id, exp, next, now);
        this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: next.surfaceId });
        return { experiment: next, changed: true };
      })
      .immediate();
  }

  /** Validates a stored experiment (recording the verdict and its plan hash) or an inline config. */
  validate(input: { experimentId?: string; config?: unknown }, ctx: WriteContext = systemWrite('validate')): ValidateOutcome {
    if (!input.experimentId && input.config === undefined) {
      throw new AppError(
        'INVALID_INPUT',
        'give either experimentId or config',
        'Pass experimentId for a stored experiment, or config to check a plan before creating it.',
      );
    }
    const stored = input.experimentId ? this.get(input.experimentId) : undefined;
    const result = this.judge(stored ? configOf(stored) : input.config, stored);
    const policyVersion = this.d.policy.version;
    const fixPatch = combinedPatch(result.findings);
    if (!stored)
      return {
        ...result,
        experimentId: null,
        version: null,
        configHash: result.config ? hashOf(result.config) : null,
        planHash: null,
        policyVersion,
        recorded: false,
        fixPatch,
      };
    const config = configOf(stored);
    const configHash = hashOf(config);
    const policyHash = surfacePolicyHash(this.d.policy, stored.surfaceId);
    const planHash = planHashOf(config, policyHash);
    const now = this.now();
    this.d.db.transaction(() => {
      this.d.validations.record({
        experimentId: stored.id,
        version: stored.version,
        configHash,
        planHash,
        policyHash,
        valid: result.valid,
        findings: result.findings,
        createdAt: now,
      });
      this.d.audit.record(
        ctx,
        'experiment',
        stored.id,
        null,
        { validation: { version: stored.version, configHash, planHash, policyVersion, valid: result.valid, codes: result.findings.map((f) => f.code) } },
        now,
      );
    })();
    return { ...result, experimentId: stored.id, version: stored.version, configHash, planHash, policyVersion, recorded: true, fixPatch };
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
    return this.move(input, 'archived', ctx, {
      from: ['draft', 'concluded'],
      hint: 'Stop it first (stop_experiment); only drafts and concluded experiments can be archived.',
    });
  }

  private move(
    input: { experimentId: string; version: number; reason: string },
    to: Experiment['status'],
    ctx: WriteContext,
    rule: { from: Experiment['status'][]; hint: string },
  ): Experiment {
    return this.d.db
      .transaction(() => {
        const exp = this.checkMove(input, to, rule);
        const now = this.now();
        const next = this.d.experiments.update(exp.id, exp.version, { status: to }, now);
        this.d.audit.record({ ...ctx, rationale: input.reason }, 'experiment', exp.id, exp, next, now);
        if (to === 'paused') this.d.commits.onCommitted?.('pause', exp, next, null);
        this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
        return next;
      })
      .immediate();
  }

  private checkMove(
    input: { experimentId: string; version: number },
    to: Experiment['status'],
    rule: { from: Experiment['status'][]; hint: string },
  ): Experiment {
    const exp = this.get(input.experimentId);
    requireVersion(exp, input.version);
    if (!rule.from.includes(exp.status) || !canTransition(exp.status, to)) {
      throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; it cannot become ${to}`, rule.hint);
    }
    return exp;
  }

  /** The rules catalog's verdict on a config as of now, against the surface, the catalog and the experiments holding buckets. */
  judge(config: unknown, self?: Experiment): ValidationResult {
    const surfaceId = (config as { surfaceId?: unknown } | null)?.surfaceId;
    const surface = typeof surfaceId === 'string' ? this.d.catalog.surface(surfaceId) : undefined;
    const active = surface ? this.d.experiments.list({ surfaceId: surface.id, status: HOLDS_BUCKETS }).filter((e) => e.id !== self?.id) : [];
    const deployed = self && HOLDS_BUCKETS.includes(self.status) ? { status: self.status, allocationPercent: self.allocationPercent } : undefined;
    // An inline config is judged as create_experiment would store it (layouts compiled); a stored one exactly as stored.
    const parsed = !self && surface ? ExperimentConfigSchema.safeParse(config) : undefined;
    const judged = parsed?.success ? this.compileLayouts(parsed.data) : config;
    return validateExperimentConfig(judged, {
      surface,
      surfaceIds: surface ? [] : this.d.catalog.ids('surfaces'),
      content: new Map(this.d.catalog.contentItems().map((c) => [c.id, c])),
      ...(this.d.contentSync ? { missingUpstream: this.d.contentSync.missingUpstream() } : {}),
      metrics: new Map(this.d.catalog.metrics().map((m) => [m.id, m])),
      active,
      ownedBuckets: self ? rangesSize(self.buckets) : 0,
      policy: this.policyFor(typeof surfaceId === 'string' ? surfaceId : ''),
      now: this.d.clock.now(),
      ...(surface ? { baseLayout: this.catalog.defaultLayout(surface.id) } : {}),
      ...(deployed ? { deployed } : {}),
    });
  }

  /** The plan hash of the config in force under the policy in force (what a ramp cites). */
  planHashOf(exp: Experiment): string {
    return planHashOf(configOf(exp), surfacePolicyHash(this.d.policy, exp.surfaceId));
  }

  /** Each variant's layout changes compiled into overrides against the surface's current default layout (problems stay for validation to report). */
  compileLayouts(config: ExperimentConfig): ExperimentConfig {
    const surface = this.d.catalog.surface(config.surfaceId);
    if (!surface) return config;
    const content = new Map(this.d.catalog.contentItems().map((c) => [c.id, c]));
    return withCompiledLayouts(config, surface, this.catalog.defaultLayout(surface.id), content);
  }

  private requireSurface(surfaceId: string): void {
    if (!this.d.catalog.surface(surfaceId)) throw notFound('surface', surfaceId, 'Call list_surfaces and use one of its ids.', this.d.catalog.ids('surfaces'));
  }

  private requireFreeKey(key: string): void {
    const existing = this.d.experiments.byKey(key);
    if (existing)
      throw new AppError(
        'CONFLICT',
        `an experiment with key '${key}' already exists (${existing.id})`,
        'Choose another key, or call get_experiment on the existing one.',
        { existingId: existing.id },
      );
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}

/** Optimistic concurrency: a write names the version it read; a stale one is a CONFLICT with the current version. */
export function requireVersion(exp: Experiment, version: number): void {
  if (exp.version !== version) {
    throw new AppError(
      'CONFLICT',
      `experiment '${exp.key}' is at version ${exp.version}, not ${version}`,
      'Call get_experiment to read the current version, review what changed, and retry with it.',
      { currentVersion: exp.version },
    );
  }
}

/** Only a running or paused experiment can be stopped (or shipped, or rolled back). */
export function requireStoppable(exp: Experiment): void {
  if (!canTransition(exp.status, 'concluded') || !HOLDS_BUCKETS.includes(exp.status)) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `experiment '${exp.key}' is ${exp.status}; only running or paused experiments can be stopped`,
      exp.status === 'draft' ? 'A draft serves nothing; there is nothing to stop.' : 'It is already over; get_metrics shows its final results.',
    );
  }
}
