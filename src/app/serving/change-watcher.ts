import { prepared, type Db } from '../../store/db.js';
import type { ChangeEvent } from '../context.js';
import type { Logger } from '../../logger.js';

/** Serving counts as current while it trails another process's write by no more than this (or 5 watch periods, if longer). */
export const STALE_AFTER_MS = 1000;

/** What readiness and the entry point need from a watcher, whichever engine it follows. */
export interface ServingWatcher {
  /** Whether serving holds every configuration write seen, within the bound; the reason when not. */
  freshness(): { current: boolean; reason?: string };
  /** Starts following other processes' writes (intervalMs: poll period); returns the stop function. */
  start(intervalMs: number): () => void;
  readonly running: boolean;
  /** Recompiles caused by another process's write. */
  readonly changes: number;
}

/**
 * Hears other processes' writes to the same SQLite file. `PRAGMA data_version` changes whenever
 * another connection commits (never for this connection's own writes, which recompile serving
 * themselves), and reading it costs no I/O; so it is polled often, and on a change serving
 * recompiles and every experiment whose record changed is announced to resource subscribers.
 */
export class ChangeWatcher implements ServingWatcher {
  /** The data_version serving was last compiled at. */
  private compiled: number;
  private known: Map<string, string>;
  private knownCatalog: number;
  /** config_revision when serving last compiled (migration 20's triggers bump it for every configuration write). */
  private knownRevision: number;
  private knownContent: string | null;
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 0;
  /** When a check first found the database ahead of serving (Date.now()), cleared when it catches up. */
  private behindSince: number | null = null;
  /** Recompiles caused by another process's write (for logs and tests). */
  changes = 0;

  constructor(
    private readonly db: Db,
    private readonly hooks: { recompile(): void; emit(e: ChangeEvent): void },
    private readonly logger: Logger,
  ) {
    this.compiled = this.dataVersion();
    this.knownRevision = this.configRevision();
    this.known = this.snapshot();
    this.knownCatalog = this.catalogVersion();
    this.knownContent = this.contentEtag();
  }

  /**
   * The ETag of the content catalog another process last synced from a remote content delivery (null
   * when none did): it changes exactly when the synced list does, so a change is announced as one.
   */
  private contentEtag(): string | null {
    return (prepared(this.db, 'SELECT etag FROM content_sync WHERE id = 1').get() as { etag: string } | undefined)?.etag ?? null;
  }

  /** The newest applied catalog version: another process's catalog change is announced like an experiment's. */
  private catalogVersion(): number {
    return (prepared(this.db, 'SELECT COALESCE(MAX(version), 0) AS v FROM catalog_versions').get() as { v: number }).v;
  }

  private configRevision(): number {
    return (prepared(this.db, 'SELECT revision FROM config_revision WHERE id = 1').get() as { revision: number }).revision;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  dataVersion(): number {
    return (prepared(this.db, 'PRAGMA data_version').get() as { data_version: number }).data_version;
  }

  /** Recompiles if another connection committed since the last look; true when it did. */
  check(): boolean {
    const v = this.dataVersion();
    if (v === this.compiled) return false;
    // Set before recompiling: a write landing in between leaves data_version ahead, and the next check recompiles again.
    this.compiled = v;
    this.behindSince = null;
    // Most commits by other connections are data (the fold's thread, the served-exposure writer): nothing to recompile.
    const revision = this.configRevision();
    if (revision === this.knownRevision) return false;
    this.knownRevision = revision;
    this.changes++;
    this.hooks.recompile();
    const now = this.snapshot();
    for (const [id, stamp] of now) {
      if (this.known.get(id) === stamp) continue;
      this.hooks.emit({ kind: 'experiment', id, surfaceId: stamp.slice(stamp.lastIndexOf('\u0000') + 1) });
    }
    this.known = now;
    const catalog = this.catalogVersion();
    if (catalog !== this.knownCatalog) this.hooks.emit({ kind: 'catalog', version: catalog });
    this.knownCatalog = catalog;
    const content = this.contentEtag();
    if (content !== this.knownContent) this.hooks.emit({ kind: 'content' });
    this.knownContent = content;
    this.logger.debug({ dataVersion: v }, 'another process wrote to the database; serving recompiled');
    return true;
  }

  /** Checks every intervalMs (0 disables) on an unref'd timer; returns the stop function. */
  start(intervalMs: number): () => void {
    this.stop();
    if (intervalMs <= 0) return () => undefined;
    this.intervalMs = intervalMs;
    this.timer = setInterval(() => {
      try {
        this.check();
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'change watcher check failed');
      }
    }, intervalMs);
    this.timer.unref();
    return () => this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Whether serving reflects every commit in the file: stale when another process's write has gone
   * uncompiled with the watcher stopped, or for longer than STALE_AFTER_MS (5 periods if longer) with it running.
   */
  freshness(): { current: boolean; reason?: string } {
    const v = this.dataVersion();
    if (v !== this.compiled && this.configRevision() === this.knownRevision) this.compiled = v; // only data was written
    if (v === this.compiled) {
      this.behindSince = null;
      return { current: true };
    }
    const now = Date.now();
    this.behindSince ??= now;
    if (!this.running)
      return { current: false, reason: 'another process wrote to the database and the change watcher is not running (SEALAB_WATCH_INTERVAL_MS)' };
    const behind = now - this.behindSince;
    if (behind <= Math.max(STALE_AFTER_MS, 5 * this.intervalMs)) return { current: true };
    return { current: false, reason: `another process's write has not been compiled into serving for ${behind} ms` };
  }

  /** Each experiment's version and last update, with its surface after a NUL (what an announcement needs). */
  private snapshot(): Map<string, string> {
    const rows = prepared(this.db, 'SELECT id, version, updated_at, surface_id FROM experiments').all() as {
      id: string;
      version: number;
      updated_at: string;
      surface_id: string;
    }[];
    return new Map(rows.map((r) => [r.id, `${r.version}\u0000${r.updated_at}\u0000${r.surface_id}`]));
  }
}
