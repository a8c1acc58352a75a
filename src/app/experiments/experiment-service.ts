import { ExperimentConfigSchema, type Experiment, type ExperimentConfig, type JsonPatchOperation } from '../../domain/schemas.js';
import { withCompiledLayouts } from '../../domain/layout.js';
import { CatalogService } from '../catalog/catalog-service.js';
import { combinedPatch, validateExperimentConfig, type ValidationResult } from '../../domain/rules/index.js';
import { rangesSize } from '../../domain/assignment.js';
import { canTransition, HOLDS_BUCKETS } from '../../domain/lifecycle.js';
import { hashOf } from '../../domain/canonical.js';
import { planHashOf, resolveSurfacePolicy, surfacePolicyHash, type SurfacePolicy } from '../../domain/policy.js';
import { configOf } from '../../store/experiment-repo.js';
import { bumpRevision } from '../../store/pg/revision.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';
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

  /** The experiment by id or key, through the async store (NOT_FOUND with the nearest ids otherwise). */
  get(id: string): Promise<Experiment> {
    return this.load(id);
  }

  /** get() through the async store: inside a transaction pass its repositories, so the read is part of it. */
  async load(id: string, r: ConfigRepos = this.d.store): Promise<Experiment> {
    const found = (await r.experiments.get(id)) ?? (await r.experiments.byKey(id));
    if (found) return found;
    throw notFound(
      'experiment',
      id,
      NOT_FOUND_HINT,
      (await r.experiments.list()).flatMap((e) => [e.key, e.id]),
    );
  }

  list(filter: { surfaceId?: string; status?: Experiment['status'][] } = {}): Promise<Experiment[]> {
    return this.d.store.experiments.list(filter);
  }

  /** The resolved policy a surface is judged by. */
  policyFor(surfaceId: string): SurfacePolicy {
    return resolveSurfacePolicy(this.d.policy, surfaceId);
  }

  async create(input: { config: unknown; idempotencyKey?: string }, ctx: WriteContext): Promise<{ experiment: Experiment; replayed: boolean }> {
    const config = parseConfig(input.config);
    const requestHash = hashOf(config);
    const key = input.idempotencyKey;
    // find-then-save on the idempotency key and the free experiment key: SERIALIZABLE on PostgreSQL (ADR 0020).
    const out = await this.d.sql.tx(
      async (tx) => {
        const r = configRepos(tx);
        if (key) {
          const prior = await r.idempotency.replay(
            'create_experiment',
            key,
            requestHash,
            () =>
              new AppError(
                'CONFLICT',
                `idempotency key '${key}' was already used with a different config`,
                'Use a new idempotency key for a different experiment, or resend the original config.',
              ),
          );
          if (prior) return { experiment: await this.load((prior as { id: string }).id, r), replayed: true };
        }
        await this.requireSurface(r, config.surfaceId);
        await this.requireFreeKey(r, config.key);
        const now = this.now();
        const experiment = await r.experiments.insert(this.d.newId('exp'), await this.compileLayouts(config, r), now);
        await r.audit.record(ctx, 'experiment', experiment.id, null, experiment, now);
        if (key) await r.idempotency.save('create_experiment', key, requestHash, { id: experiment.id }, now);
        await bumpRevision(tx);
        return { experiment, replayed: false };
      },
      { isolation: 'serializable' },
    );
    if (!out.replayed) this.d.emit({ kind: 'experiment', id: out.experiment.id, surfaceId: out.experiment.surfaceId });
    return out;
  }

  /** Edits a draft: a JSON Patch (RFC 6902) against its stored config, or a whole new config. Needs the version read. */
  async update(
    input: { experimentId: string; version: number; patch?: JsonPatchOperation[]; config?: unknown },
    ctx: WriteContext,
  ): Promise<{ experiment: Experiment; changed: boolean }> {
    if ((input.patch === undefined) === (input.config === undefined)) {
      throw new AppError(
        'INVALID_INPUT',
        'give exactly one of patch or config',
        "Pass patch (JSON Patch operations, e.g. a finding's patch from validate_config) or config (the whole new config).",
      );
    }
    const out = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const exp = await this.load(input.experimentId, r);
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
      if (edited.surfaceId !== exp.surfaceId) await this.requireSurface(r, edited.surfaceId);
      const config = await this.compileLayouts(edited, r);
      if (hashOf(config) === hashOf(before)) return { experiment: exp, changed: false };
      if (config.key !== exp.key) await this.requireFreeKey(r, config.key);
      const now = this.now();
      const next = await r.experiments.update(exp.id, exp.version, { config }, now);
      await r.audit.record(ctx, 'experiment', exp.id, exp, next, now);
      await bumpRevision(tx);
      return { experiment: next, changed: true };
    });
    if (out.changed) this.d.emit({ kind: 'experiment', id: out.experiment.id, surfaceId: out.experiment.surfaceId });
    return out;
  }

  /** Validates a stored experiment (recording the verdict and its plan hash) or an inline config. */
  async validate(input: { experimentId?: string; config?: unknown }, ctx: WriteContext = systemWrite('validate')): Promise<ValidateOutcome> {
    if (!input.experimentId && input.config === undefined) {
      throw new AppError(
        'INVALID_INPUT',
        'give either experimentId or config',
        'Pass experimentId for a stored experiment, or config to check a plan before creating it.',
      );
    }
    const stored = input.experimentId ? await this.load(input.experimentId) : undefined;
    const result = await this.judge(stored ? configOf(stored) : input.config, stored);
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
    await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      await r.validations.record({
        experimentId: stored.id,
        version: stored.version,
        configHash,
        planHash,
        policyHash,
        valid: result.valid,
        findings: result.findings,
        createdAt: now,
      });
      await r.audit.record(
        ctx,
        'experiment',
        stored.id,
        null,
        { validation: { version: stored.version, configHash, planHash, policyVersion, valid: result.valid, codes: result.findings.map((f) => f.code) } },
        now,
      );
    });
    return { ...result, experimentId: stored.id, version: stored.version, configHash, planHash, policyVersion, recorded: true, fixPatch };
  }

  /** Pauses a running experiment: it keeps its buckets (so nobody else takes them) but serves nothing. */
  pause(input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Promise<Experiment> {
    return this.d.sql.tx((tx) => this.pauseIn(configRepos(tx), input, ctx)).then((next) => this.emitted(next));
  }

  /** pause's writes inside the caller's transaction (the saga's commit); the caller emits once it commits. */
  pauseIn(r: ConfigRepos, input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Promise<Experiment> {
    return this.moveIn(r, input, 'paused', ctx, PAUSE_RULE);
  }

  /** pause's preconditions, nothing written. */
  planPause(input: { experimentId: string; version: number }, r: ConfigRepos = this.d.store): Promise<Experiment> {
    return this.checkMove(r, input, 'paused', PAUSE_RULE);
  }

  /** Archives a concluded experiment or an abandoned draft: read-only from then on. */
  archive(input: { experimentId: string; version: number; reason: string }, ctx: WriteContext): Promise<Experiment> {
    const rule = {
      from: ['draft' as const, 'concluded' as const],
      hint: 'Stop it first (stop_experiment); only drafts and concluded experiments can be archived.',
    };
    return this.d.sql.tx((tx) => this.moveIn(configRepos(tx), input, 'archived', ctx, rule)).then((next) => this.emitted(next));
  }

  private emitted(exp: Experiment): Experiment {
    this.d.emit({ kind: 'experiment', id: exp.id, surfaceId: exp.surfaceId });
    return exp;
  }

  private async moveIn(
    r: ConfigRepos,
    input: { experimentId: string; version: number; reason: string },
    to: Experiment['status'],
    ctx: WriteContext,
    rule: { from: Experiment['status'][]; hint: string },
  ): Promise<Experiment> {
    const exp = await this.checkMove(r, input, to, rule);
    const now = this.now();
    const next = await r.experiments.update(exp.id, exp.version, { status: to }, now);
    await r.audit.record({ ...ctx, rationale: input.reason }, 'experiment', exp.id, exp, next, now);
    if (to === 'paused') await this.d.commits.onCommitted?.(r, 'pause', exp, next, null);
    await bumpRevision(r.sql);
    return next;
  }

  private async checkMove(
    r: ConfigRepos,
    input: { experimentId: string; version: number },
    to: Experiment['status'],
    rule: { from: Experiment['status'][]; hint: string },
  ): Promise<Experiment> {
    const exp = await this.load(input.experimentId, r);
    requireVersion(exp, input.version);
    if (!rule.from.includes(exp.status) || !canTransition(exp.status, to)) {
      throw new AppError('PRECONDITION_FAILED', `experiment '${exp.key}' is ${exp.status}; it cannot become ${to}`, rule.hint);
    }
    return exp;
  }

  /** The rules catalog's verdict on a config as of now, against the surface, the catalog and the experiments holding buckets. */
  async judge(config: unknown, self?: Experiment, r: ConfigRepos = this.d.store): Promise<ValidationResult> {
    const surfaceId = (config as { surfaceId?: unknown } | null)?.surfaceId;
    const surface = typeof surfaceId === 'string' ? await r.catalog.surface(surfaceId) : undefined;
    const active = surface ? (await r.experiments.list({ surfaceId: surface.id, status: HOLDS_BUCKETS })).filter((e) => e.id !== self?.id) : [];
    const deployed = self && HOLDS_BUCKETS.includes(self.status) ? { status: self.status, allocationPercent: self.allocationPercent } : undefined;
    // An inline config is judged as create_experiment would store it (layouts compiled); a stored one exactly as stored.
    const parsed = !self && surface ? ExperimentConfigSchema.safeParse(config) : undefined;
    const judged = parsed?.success ? await this.compileLayouts(parsed.data, r) : config;
    return validateExperimentConfig(judged, {
      surface,
      surfaceIds: surface ? [] : await r.catalog.ids('surfaces'),
      content: new Map((await r.catalog.contentItems()).map((c) => [c.id, c])),
      ...(this.d.contentSync ? { missingUpstream: this.d.contentSync.missingUpstream() } : {}),
      metrics: new Map((await r.catalog.metrics()).map((m) => [m.id, m])),
      active,
      ownedBuckets: self ? rangesSize(self.buckets) : 0,
      policy: this.policyFor(typeof surfaceId === 'string' ? surfaceId : ''),
      now: this.d.clock.now(),
      ...(surface ? { baseLayout: await this.catalog.defaultLayoutIn(r, surface.id) } : {}),
      ...(deployed ? { deployed } : {}),
    });
  }

  /** The plan hash of the config in force under the policy in force (what a ramp cites). */
  planHashOf(exp: Experiment): string {
    return planHashOf(configOf(exp), surfacePolicyHash(this.d.policy, exp.surfaceId));
  }

  /** Each variant's layout changes compiled into overrides against the surface's current default layout (problems stay for validation to report). */
  async compileLayouts(config: ExperimentConfig, r: ConfigRepos = this.d.store): Promise<ExperimentConfig> {
    const surface = await r.catalog.surface(config.surfaceId);
    if (!surface) return config;
    const content = new Map((await r.catalog.contentItems()).map((c) => [c.id, c]));
    return withCompiledLayouts(config, surface, await this.catalog.defaultLayoutIn(r, surface.id), content);
  }

  private async requireSurface(r: ConfigRepos, surfaceId: string): Promise<void> {
    if (!(await r.catalog.surface(surfaceId)))
      throw notFound('surface', surfaceId, 'Call list_surfaces and use one of its ids.', await r.catalog.ids('surfaces'));
  }

  private async requireFreeKey(r: ConfigRepos, key: string): Promise<void> {
    const existing = await r.experiments.byKey(key);
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
