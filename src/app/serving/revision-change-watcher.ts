import type pg from 'pg';
import type { Logger } from '../../logger.js';
import { RevisionWatcher, type RevisionSource } from '../../store/pg/revision-watcher.js';
import type { Sql } from '../../store/sql/sql.js';
import type { ChangeEvent } from '../context.js';
import { STALE_AFTER_MS, type ServingWatcher } from './change-watcher.js';
import type { ServingSync } from './serving-sync.js';

export interface RevisionChangeWatcherOptions {
  /** The database URL LISTEN connects to (its own connection, outside the pool). */
  url: string;
  /** This replica's pool: revision polls, snapshot reads, what changed. */
  sql: Sql;
  serving: ServingSync;
  emit(e: ChangeEvent): void;
  logger: Logger;
  /** Poll period while listening, in case a notification is lost (default 5,000 ms). */
  safetyPollMs?: number;
  /** First delay before reconnecting LISTEN (and before retrying a failed start or snapshot read); default 1,000 ms. */
  reconnectMs?: number;
  /** Told of every revision learnt before serving held it, and how (the replica's sealab_config_revisions_heard_total). */
  onHeard?: (via: RevisionSource) => void;
  /** Opens the LISTEN connection (tests hold a reconnect back with it). */
  connect?: () => Promise<pg.Client>;
}

/**
 * ChangeWatcher's counterpart for a replica on PostgreSQL (issue 17 item 2, ADR 0020): it follows the configuration
 * revision through RevisionWatcher (NOTIFY, the re-read at every LISTEN (re)connection, a poll) and, whenever the
 * revision moves past what serving holds, reloads serving's snapshot through the async store and announces to
 * resource subscribers every experiment, catalog version and content catalog that changed, as ChangeWatcher does on
 * SQLite. A failed snapshot read is retried until serving holds the newest revision seen.
 */
export class RevisionChangeWatcher implements ServingWatcher {
  private watcher: RevisionWatcher | undefined;
  private known: Map<string, string> | null = null;
  private knownCatalog = 0;
  private knownContent: string | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** When a revision newer than serving's was first seen (Date.now()), cleared once serving holds it. */
  private behindSince: number | null = null;
  private stopped = true;
  /** Revisions learnt from the database that serving did not hold yet (for logs and tests). */
  changes = 0;
  /** How each of those was learnt (notify, poll, reconnect), newest last; for tests and the bench. */
  readonly heard: { revision: number; via: RevisionSource }[] = [];
  /** Settles once the first snapshot serves (LISTEN up, or polling after a failed LISTEN). */
  started: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RevisionChangeWatcherOptions) {}

  get running(): boolean {
    return !this.stopped;
  }

  /** The newest revision heard from the database (0 before start). */
  get revision(): number {
    return this.watcher?.revision ?? 0;
  }

  get listening(): boolean {
    return this.watcher?.listening ?? false;
  }

  get listenerPid(): number | null {
    return this.watcher?.listenerPid ?? null;
  }

  /** Starts following the revision; `pollMs` is the poll period while LISTEN is down (0: 1,000 ms). Returns the stop function. */
  start(pollMs: number): () => void {
    void this.stop();
    this.stopped = false;
    const watcher = new RevisionWatcher({
      url: this.opts.url,
      sql: this.opts.sql,
      pollMs: pollMs > 0 ? pollMs : 1000,
      safetyPollMs: this.opts.safetyPollMs ?? 5000,
      reconnectMs: this.opts.reconnectMs ?? 1000,
      ...(this.opts.connect ? { connect: this.opts.connect } : {}),
      onRevision: (revision, via) => this.hear(revision, via),
      onError: (err) => this.opts.logger.warn({ err: err.message }, 'configuration revision watcher: LISTEN or poll failed; polling until it is back'),
    });
    this.watcher = watcher;
    this.started = this.begin(watcher);
    return () => void this.stop();
  }

  /** The first revision read and LISTEN, then the first snapshot (writes between the two are in it or notified after). */
  private async begin(watcher: RevisionWatcher): Promise<void> {
    for (let delay = this.opts.reconnectMs ?? 1000; ; delay = Math.min(30_000, delay * 2)) {
      if (this.stopped || this.watcher !== watcher) return;
      try {
        await watcher.start();
        break;
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message, retryMs: delay }, 'configuration revision unreadable at start; retrying');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
    await this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const w = this.watcher;
    this.watcher = undefined;
    await w?.stop();
  }

  private hear(revision: number, via: RevisionSource): void {
    const holds = this.opts.serving.snapshot.revision;
    if (holds !== null && revision <= holds) return; // this replica's own write, compiled when it committed
    this.changes++;
    this.opts.onHeard?.(via);
    this.heard.push({ revision, via });
    if (this.heard.length > 100) this.heard.shift();
    this.behindSince ??= Date.now();
    void this.sync();
  }

  /** Reload serving, then announce what changed; never two at once (one asked for meanwhile runs after). */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        const ok = await this.opts.serving.reload();
        if (ok) await this.announce().catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'change announcement read failed'));
        // A read that failed is tried again; a configuration that does not compile waits for the next revision.
        else if (this.opts.serving.snapshot.lastError !== null) this.retryLater();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  /** A failed snapshot read is tried again (the revision it missed will not be notified twice) until one succeeds. */
  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const holds = this.opts.serving.snapshot.revision ?? -1;
      if (!this.opts.serving.snapshot.loaded || this.revision > holds) void this.sync();
    }, this.opts.reconnectMs ?? 1000);
    this.retryTimer.unref();
  }

  /** Every experiment whose record changed, a new catalog version, a new synced content catalog: told to subscribers. */
  private async announce(): Promise<void> {
    const sql = this.opts.sql;
    const [rows, catalog, content] = await Promise.all([
      sql.all<{ id: string; version: number; updated_at: string; surface_id: string }>('SELECT id, version, updated_at, surface_id FROM experiments'),
      sql.get<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM catalog_versions'),
      sql.get<{ etag: string }>('SELECT etag FROM content_sync WHERE id = 1'),
    ]);
    const now = new Map(rows.map((r) => [r.id, `${r.version}\u0000${r.updated_at}\u0000${r.surface_id}`]));
    const first = this.known === null;
    const catalogVersion = Number(catalog?.v ?? 0);
    const etag = content?.etag ?? null;
    if (!first) {
      for (const [id, stamp] of now) {
        if (this.known?.get(id) === stamp) continue;
        this.opts.emit({ kind: 'experiment', id, surfaceId: stamp.slice(stamp.lastIndexOf('\u0000') + 1) });
      }
      if (catalogVersion !== this.knownCatalog) this.opts.emit({ kind: 'catalog', version: catalogVersion });
      if (etag !== this.knownContent) this.opts.emit({ kind: 'content' });
    }
    this.known = now;
    this.knownCatalog = catalogVersion;
    this.knownContent = etag;
  }

  /** Current while serving holds the newest revision seen, or has trailed it for no longer than STALE_AFTER_MS. */
  freshness(): { current: boolean; reason?: string } {
    const holds = this.opts.serving.snapshot.revision ?? -1;
    const seen = this.revision;
    if (holds >= seen) {
      this.behindSince = null;
      return { current: true };
    }
    if (this.stopped) return { current: false, reason: `serving holds revision ${holds}, ${seen} exists, and the revision watcher is not running` };
    const behind = Date.now() - (this.behindSince ??= Date.now());
    if (behind <= STALE_AFTER_MS) return { current: true };
    return { current: false, reason: `serving holds revision ${holds} but revision ${seen} was seen ${behind} ms ago and has not been compiled` };
  }
}
