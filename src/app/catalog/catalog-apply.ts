import { z } from 'zod';
import { AppError } from '../../errors.js';
import { bumpRevision } from '../../store/pg/revision.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';
import type { AppDeps, WriteContext } from '../context.js';
import { checkCatalog, type CatalogSource } from './catalog-check.js';
import { CatalogRemovalSchema, issueText, type Catalog, type CatalogIssue, type CatalogRemoval } from './catalog-document.js';
import { readCatalogDir } from './catalog-files.js';
import { CatalogPlanSchema, planCatalog, type CatalogPlan, type EntityChange } from './catalog-plan.js';
import { catalogUsage, refsText, type ExperimentRef } from './catalog-usage.js';

/** A catalog change from a tool or REST: the complete catalog (replace) or entities to upsert and ids to remove (merge). */
export interface CatalogChangeInput {
  mode: 'replace' | 'merge';
  catalog: unknown;
  remove?: CatalogRemoval;
}

export const CatalogApplyResultSchema = z.object({
  applied: z.boolean().describe('true when this call wrote a new catalog version; false for a dry run or when nothing changed'),
  dryRun: z.boolean(),
  version: z.number().int().describe('The catalog version in force after the call'),
  plan: CatalogPlanSchema,
});
export type CatalogApplyResult = z.infer<typeof CatalogApplyResultSchema>;

/**
 * Catalog as code (ADR 0014): validate a directory or a document, plan it against the store, apply
 * it in one transaction. The one place the CLI, the admin tools, REST and startup go through.
 */
export class CatalogChanges {
  constructor(
    private readonly d: AppDeps,
    /** false when content comes from a remote content delivery: catalogs may not carry content. */
    readonly contentManaged: boolean,
  ) {}

  /** What the store holds now (inside a transaction: through its repositories). */
  async current(r: ConfigRepos = this.d.store): Promise<Catalog> {
    return { surfaces: await r.catalog.surfaces(), content: await r.catalog.contentItems(), metrics: await r.catalog.metrics() };
  }

  /** Every issue of a directory's files, alone and across files (nothing is read from the store but synced content). */
  async validateDir(dir: string, opts: { contentManaged?: boolean } = {}): Promise<{ issues: CatalogIssue[]; catalog: Catalog; files: number }> {
    const read = readCatalogDir(dir);
    const checked = await this.check(this.d.store, read.sources, opts.contentManaged);
    return { issues: [...read.issues, ...checked.issues], catalog: checked.catalog, files: read.sources.length + new Set(read.issues.map((i) => i.file)).size };
  }

  async planDir(dir: string, opts: { contentManaged?: boolean } = {}): Promise<CatalogPlan> {
    const v = await this.validateDir(dir, opts);
    return this.plan(this.d.store, this.valid(v.issues, v.catalog), v.issues, opts.contentManaged);
  }

  async planInput(input: CatalogChangeInput): Promise<CatalogPlan> {
    const { catalog, issues } = await this.desiredFrom(this.d.store, input);
    return this.plan(this.d.store, catalog, issues);
  }

  /** Applies a directory: refuses invalid or unsafe catalogs with nothing written. */
  async applyDir(dir: string, ctx: WriteContext, opts: { contentManaged?: boolean } = {}): Promise<CatalogApplyResult> {
    const v = await this.validateDir(dir, opts);
    const desired = this.valid(v.issues, v.catalog);
    return this.apply(async () => ({ catalog: desired, issues: v.issues }), ctx, opts.contentManaged);
  }

  /** Applies a catalog already read and validated (the demo bootstrap reads its directory once per process). */
  applyCatalog(desired: Catalog, ctx: WriteContext, opts: { contentManaged?: boolean } = {}): Promise<CatalogApplyResult> {
    return this.apply(async () => ({ catalog: desired, issues: [] }), ctx, opts.contentManaged);
  }

  /** A directory read and validated on its own: the catalog, or INVALID_CONFIG with every issue. */
  async loadDir(dir: string, opts: { contentManaged?: boolean } = {}): Promise<Catalog> {
    const v = await this.validateDir(dir, opts);
    return this.valid(v.issues, v.catalog);
  }

  /** A tool's or REST change; a dry run returns the plan and writes nothing. */
  async applyInput(input: CatalogChangeInput, ctx: WriteContext, dryRun: boolean): Promise<CatalogApplyResult> {
    if (dryRun) {
      const r = this.d.store;
      return { applied: false, dryRun: true, version: (await r.catalog.version())?.version ?? 0, plan: await this.planInput(input) };
    }
    // Merge mode reads the store: inside the transaction, so a concurrent change cannot slip in between.
    return this.apply((r) => this.desiredFrom(r, input), ctx);
  }

  /**
   * One transaction: read the store, plan against it, refuse or write every change, the next catalog version and its
   * audit rows. SERIALIZABLE on PostgreSQL (ADR 0020): the plan compares the target with what is stored and with the
   * experiments using it, so a concurrent apply or experiment write that changes either retries this one (or fails as
   * CONFLICT), and two concurrent applies get one version each. Announced after the commit.
   */
  private async apply(
    desired: (r: ConfigRepos) => Promise<{ catalog: Catalog; issues: CatalogIssue[] }>,
    ctx: WriteContext,
    contentManaged = this.contentManaged,
  ): Promise<CatalogApplyResult> {
    const result = await this.d.sql.tx(
      async (tx): Promise<CatalogApplyResult> => {
        const r = configRepos(tx);
        const { catalog: target, issues } = await desired(r);
        const plan = await this.plan(r, target, issues, contentManaged);
        const version = (await r.catalog.version())?.version ?? 0;
        if (!plan.safe) throw unsafe(plan);
        if (!plan.changes.length) return { applied: false, dryRun: false, version, plan };
        await this.write(r, plan.changes, target, ctx);
        const summary = { added: plan.counts.added, changed: plan.counts.changed, removed: plan.counts.removed, changes: plan.changes.map(changeLine) };
        const at = this.d.clock.now().toISOString();
        const next = await r.catalog.addVersion({ appliedAt: at, actor: ctx.actor, digest: plan.digest, summary });
        await r.audit.record(ctx, 'catalog', `v${next}`, { version }, { version: next, digest: plan.digest, ...summary }, at);
        await bumpRevision(tx);
        return { applied: true, dryRun: false, version: next, plan };
      },
      { isolation: 'serializable' },
    );
    if (result.applied) {
      this.d.logger.info({ version: result.version, actor: ctx.actor, ...result.plan.counts }, 'catalog change applied');
      this.d.emit({ kind: 'catalog', version: result.version });
    }
    return result;
  }

  /** Content and metrics before the surfaces that name them; surfaces removed before what they named. */
  private async write(r: ConfigRepos, changes: EntityChange[], target: Catalog, ctx: WriteContext): Promise<void> {
    const at = this.d.clock.now().toISOString();
    const find = <T extends { id: string }>(list: T[], id: string) => list.find((x) => x.id === id) as T;
    const before = await this.current(r);
    const order = ['content', 'metric', 'surface'] as const;
    for (const entity of order)
      for (const c of changes.filter((x) => x.entity === entity && x.action !== 'remove')) {
        const was = entity === 'surface' ? find(before.surfaces, c.id) : entity === 'content' ? find(before.content, c.id) : find(before.metrics, c.id);
        if (entity === 'surface') await r.catalog.upsertSurface(find(target.surfaces, c.id));
        else if (entity === 'content') await r.catalog.upsertContent(find(target.content, c.id));
        else await r.catalog.upsertMetric(find(target.metrics, c.id));
        await r.audit.record(
          ctx,
          entity,
          c.id,
          was ?? null,
          entity === 'surface' ? find(target.surfaces, c.id) : entity === 'content' ? find(target.content, c.id) : find(target.metrics, c.id),
          at,
        );
      }
    for (const entity of [...order].reverse())
      for (const c of changes.filter((x) => x.entity === entity && x.action === 'remove')) {
        const table = entity === 'surface' ? 'surfaces' : entity === 'content' ? 'content_items' : 'metrics';
        const was = entity === 'surface' ? find(before.surfaces, c.id) : entity === 'content' ? find(before.content, c.id) : find(before.metrics, c.id);
        await r.catalog.remove(table, c.id);
        await r.audit.record(ctx, entity, c.id, was, null, at);
      }
  }

  private async plan(r: ConfigRepos, desired: Catalog, warnings: CatalogIssue[], contentManaged = this.contentManaged): Promise<CatalogPlan> {
    const current = await this.current(r);
    const usage = await catalogUsage(r.experiments, current.metrics);
    const target = contentManaged ? desired : { ...desired, content: current.content };
    const plan = planCatalog(current, target, usage, { version: (await r.catalog.version())?.version ?? 0, contentManaged });
    return { ...plan, warnings: warnings.filter((i) => i.severity === 'warning') };
  }

  private async check(r: ConfigRepos, sources: CatalogSource[], contentManaged = this.contentManaged, base?: Catalog) {
    return checkCatalog(sources, { contentManaged, storeContent: await r.catalog.contentItems(), ...(base ? { base } : {}) });
  }

  private async desiredFrom(r: ConfigRepos, input: CatalogChangeInput): Promise<{ catalog: Catalog; issues: CatalogIssue[] }> {
    const source: CatalogSource = { file: '(input)', value: input.catalog, prefix: 'catalog' };
    if (input.mode === 'replace') {
      const checked = await this.check(r, [source]);
      return { catalog: this.valid(checked.issues, checked.catalog), issues: checked.issues };
    }
    const remove = CatalogRemovalSchema.parse(input.remove ?? {});
    const cur = await this.current(r);
    const base: Catalog = {
      surfaces: cur.surfaces.filter((s) => !remove.surfaces?.includes(s.id)),
      content: cur.content.filter((c) => !remove.content?.includes(c.id)),
      metrics: cur.metrics.filter((m) => !remove.metrics?.includes(m.id)),
    };
    const unknown = (['surfaces', 'content', 'metrics'] as const).flatMap((k) =>
      (remove[k] ?? []).filter((id) => !cur[k].some((x) => x.id === id)).map((id) => `${k}: ${id}`),
    );
    if (unknown.length)
      throw new AppError(
        'NOT_FOUND',
        `remove names ids the catalog does not have: ${unknown.join(', ')}`,
        'Read sealab://surfaces, sealab://content and sealab://metrics for the ids, then call again.',
      );
    const checked = await this.check(r, [source], this.contentManaged, base);
    return { catalog: this.valid(checked.issues, checked.catalog), issues: checked.issues };
  }

  /** The catalog, or INVALID_CONFIG listing every error with its file, path, line and fix. */
  private valid(issues: CatalogIssue[], catalog: Catalog): Catalog {
    const errors = issues.filter((i) => i.severity === 'error');
    if (!errors.length) return catalog;
    throw new AppError(
      'INVALID_CONFIG',
      `the catalog has ${errors.length} error${errors.length > 1 ? 's' : ''}:\n${errors.map(issueText).join('\n')}`,
      'Fix each listed problem (file, path, line, fix) and run the plan again; nothing was applied.',
      { issues: errors },
    );
  }
}

const changeLine = (c: EntityChange) => `${c.action} ${c.entity} ${c.id}${c.fields.length ? ` (${c.fields.map((f) => f.path).join(', ')})` : ''}`;

/** CATALOG_CHANGE_UNSAFE: every breaking change with the experiments by key and id; the database is unchanged. */
function unsafe(plan: CatalogPlan): AppError {
  const unsafeChanges = plan.changes
    .filter((c) => c.safety === 'breaking')
    .flatMap((c): { entity: string; id: string; path: string | null; reason: string; experiments: ExperimentRef[] }[] =>
      c.action === 'remove'
        ? [{ entity: c.entity, id: c.id, path: null, reason: c.reason ?? 'in use', experiments: c.experiments }]
        : c.fields
            .filter((f) => f.safety === 'breaking')
            .map((f) => ({ entity: c.entity, id: c.id, path: f.path, reason: f.reason ?? '', experiments: f.experiments })),
    );
  const lines = unsafeChanges.map((u) => `${u.entity} ${u.id}${u.path ? ` ${u.path}` : ' removal'}: ${u.reason}; used by ${refsText(u.experiments)}`);
  return new AppError(
    'CATALOG_CHANGE_UNSAFE',
    `${lines.length} catalog change${lines.length > 1 ? 's' : ''} would break experiments in use; nothing was applied:\n${lines.join('\n')}`,
    'Keep those fields as they are. For a breaking change add a new entity that new experiments use (a surface "home-v2" with a new salt, a new metric id) and remove the old one once no experiment uses it (docs/adr/0014-catalog-as-code.md).',
    { unsafe: unsafeChanges },
  );
}
