import { z } from 'zod';
import type { Metrics } from '../../ops/metrics.js';
import type { ContentDelivery } from '../../systems/contracts.js';
import { isEmptyChange, type ContentSyncState } from '../../store/content-sync-repo.js';
import { bumpRevision } from '../../store/pg/revision.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';
import { systemWrite, type AppDeps } from '../context.js';

/** Experiments in these statuses keep the content they use even when content delivery drops it. */
const USING = ['draft', 'running', 'paused'] as const;

/** How often past the interval the catalog counts as stale: one missed poll is not yet news. */
const STALE_AFTER_INTERVALS = 2;

export const ContentSyncStatusSchema = z.object({
  source: z.string().describe('The content delivery the catalog is synced from, e.g. "http://content:8789"'),
  syncedAt: z.string().nullable().describe('When content delivery last confirmed the catalog (ISO); null: never'),
  etag: z.string().nullable().describe('The ETag of the catalog held'),
  ageSeconds: z.number().nullable().describe('Seconds since syncedAt'),
  stale: z
    .boolean()
    .describe(`true when the last sync failed or is older than ${STALE_AFTER_INTERVALS} sync intervals: validation judges against the last good catalog`),
  lastError: z.string().nullable().describe('Why the last sync failed; null when it succeeded'),
  missingUpstream: z
    .array(z.object({ id: z.string(), since: z.string() }))
    .describe('Items content delivery no longer lists, kept because experiments or slot defaults use them; validation refuses them (CONTENT_MISSING_UPSTREAM)'),
});
export type ContentSyncStatus = z.infer<typeof ContentSyncStatusSchema>;

export type ContentSyncOutcome = 'changed' | 'unchanged' | 'not_modified' | 'failed';

export interface ContentSyncOptions {
  /** The content delivery's base URL: recorded with the state, so a new source starts without an ETag. */
  source: string;
  intervalMs: number;
  metrics?: Metrics;
  /** Wall-clock milliseconds (sync ages are operational, not simulated time). */
  now?: () => number;
}

/**
 * Keeps the content catalog equal to what a remote content delivery lists, so validation checks
 * slot compatibility against content that really exists. Conditional GETs (ETag → 304) make a poll
 * that finds nothing new cost one round trip and no write of the catalog. Any failure (network,
 * 5xx, an item that is not a ContentItem) keeps the last good catalog, which is persisted so a
 * restart with content delivery down still validates. Items content delivery drops but a draft,
 * running or paused experiment (or a surface's slot default) uses are kept, flagged missing
 * upstream; validation refuses them. A sync that changed something is audited and announced.
 *
 * The persisted state and the items missing upstream are also held in memory (`load()` at start, then every sync's
 * commit): validation, readiness and the status views read them on every call, synchronously.
 */
export class ContentSync {
  private state: ContentSyncState | undefined;
  private missing = new Map<string, string>();
  private readonly now: () => number;
  private readonly startedAt: number;
  private inFlight: Promise<ContentSyncOutcome> | undefined;
  private lastAttemptAt: number | null = null;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly d: AppDeps,
    private readonly content: ContentDelivery,
    private readonly o: ContentSyncOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.startedAt = this.now();
    if (o.metrics)
      o.metrics.sources.contentSync = () => ({
        ageSeconds: this.ageSeconds() ?? (this.now() - this.startedAt) / 1000,
        missingUpstream: this.missingUpstream().size,
      });
  }

  /** Reads the persisted state and the items missing upstream (the composition root, before anything asks). */
  async load(): Promise<void> {
    this.state = await this.d.store.contentSync.state();
    this.missing = await this.d.store.contentSync.missingUpstream();
  }

  /** One sync now; concurrent callers share the one in flight. Never throws. */
  sync(): Promise<ContentSyncOutcome> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Before a deploy re-judges a plan: syncs first when the last attempt is older than the interval
   * (one conditional GET, usually a 304), so a deploy never judges against a catalog staler than a
   * poll. A failure leaves the last good catalog, as everywhere else.
   */
  async freshen(): Promise<void> {
    if (this.lastAttemptAt === null || this.now() - this.lastAttemptAt >= this.o.intervalMs) await this.sync();
  }

  /** Syncs now and then every intervalMs on an unref'd timer; returns the stop function. */
  start(): () => void {
    this.stop();
    void this.sync();
    this.timer = setInterval(() => void this.sync(), this.o.intervalMs);
    this.timer.unref();
    return () => this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Items kept though content delivery dropped them: id → since (ISO). What validation refuses. */
  missingUpstream(): Map<string, string> {
    return this.missing;
  }

  /** What readiness, the content resource and GET /v1/content report. */
  status(): ContentSyncStatus {
    const held = this.held();
    const age = this.ageSeconds();
    return {
      source: this.o.source,
      syncedAt: held?.syncedAt ?? null,
      etag: held?.etag ?? null,
      ageSeconds: age,
      stale: age === null || this.lastError !== null || age * 1000 > STALE_AFTER_INTERVALS * this.o.intervalMs,
      lastError: this.lastError,
      missingUpstream: [...this.missingUpstream()].map(([id, since]) => ({ id, since })),
    };
  }

  /** The persisted state when it came from this source (another source's ETag means nothing here). */
  private held() {
    const s = this.state;
    return s?.sourceUrl === this.o.source ? s : undefined;
  }

  private ageSeconds(): number | null {
    const held = this.held();
    return held ? Math.max(0, (this.now() - Date.parse(held.syncedAt)) / 1000) : null;
  }

  private async run(): Promise<ContentSyncOutcome> {
    this.lastAttemptAt = this.now();
    let outcome: ContentSyncOutcome;
    try {
      outcome = await this.pull();
      if (this.lastError) this.d.logger.info({ source: this.o.source }, 'content catalog synced again');
      this.lastError = null;
    } catch (err) {
      const message = (err as Error).message;
      // warn: degraded but coping (validation uses the last good catalog); once per failing spell, then debug.
      if (this.lastError === null)
        this.d.logger.warn(
          { source: this.o.source, err: message, lastGood: this.held()?.syncedAt ?? null },
          'content catalog sync failed; keeping the last good catalog',
        );
      else this.d.logger.debug({ source: this.o.source, err: message }, 'content catalog sync still failing');
      this.lastError = message;
      outcome = 'failed';
    }
    this.o.metrics?.contentSyncs.inc({ outcome });
    return outcome;
  }

  private async pull(): Promise<Exclude<ContentSyncOutcome, 'failed'>> {
    const held = this.held();
    const read = await this.content.catalog(held?.etag);
    const at = new Date(this.now()).toISOString();
    if (read.notModified) {
      const state = { sourceUrl: this.o.source, etag: held!.etag, syncedAt: at };
      await this.d.store.contentSync.saveState(state);
      this.state = state;
      return 'not_modified';
    }
    const state = { sourceUrl: this.o.source, etag: read.etag, syncedAt: at };
    // One transaction: what is in use is read where the replacement decides what to keep (SERIALIZABLE on PostgreSQL,
    // so an experiment starting to use an item meanwhile retries this sync instead of losing its item).
    const { change, missing } = await this.d.sql.tx(
      async (tx) => {
        const r = configRepos(tx);
        const c = await r.contentSync.replaceWith(read.items, await this.inUse(r), at);
        await r.contentSync.saveState(state);
        if (!isEmptyChange(c)) {
          await r.audit.record(
            systemWrite('content.sync'),
            'content_catalog',
            'content',
            held ? { etag: held.etag } : null,
            { source: this.o.source, etag: read.etag, items: read.items.length, ...c },
            this.d.clock.now().toISOString(),
          );
          await bumpRevision(tx);
        }
        return { change: c, missing: await r.contentSync.missingUpstream() };
      },
      { isolation: 'serializable' },
    );
    this.state = state;
    this.missing = missing;
    if (isEmptyChange(change)) return 'unchanged';
    this.d.logger.info({ source: this.o.source, etag: read.etag, ...change }, 'content catalog changed upstream');
    this.d.emit({ kind: 'content' });
    return 'changed';
  }

  /** Content ids a draft, running or paused experiment overrides a slot with, or a surface shows by default. */
  private async inUse(r: ConfigRepos): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const e of await r.experiments.list({ status: [...USING] }))
      for (const v of e.variants) for (const o of v.overrides) if (o.contentId) ids.add(o.contentId);
    for (const s of await r.catalog.surfaces()) for (const slot of s.slots) if (slot.defaultContentId) ids.add(slot.defaultContentId);
    return ids;
  }
}
