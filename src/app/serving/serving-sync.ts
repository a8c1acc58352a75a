import { performance } from 'node:perf_hooks';
import type { Experiment, Surface } from '../../domain/schemas.js';
import type { Logger } from '../../logger.js';
import { readRevision, readRevisionStamp, type RevisionStamp } from '../../store/pg/revision.js';
import { SqlCatalogRepo } from '../../store/sql/catalog-repo.js';
import type { Sql } from '../../store/sql/sql.js';
import type { BackendState, ContentDelivery, ContentState, ExperimentBackend, ServingConfig } from '../../systems/contracts.js';
import { backendStatusOf, backendWrite, contentWrite } from '../../systems/desired-state.js';
import type { EmbeddedBackend, EmbeddedContent } from '../../systems/embedded.js';
import type { AssignmentIndex } from './assignment-index.js';

/**
 * The serving configuration both systems hold when they mirror these experiment records (every
 * deploy, pause and stop completed): what a single process with embedded systems serves, and
 * what an older database is adopted with (see adoptExperiments).
 */
export function mirrorOf(experiments: Experiment[], at = new Date(0).toISOString()): ServingConfig {
  const deployed = experiments.filter((e) => e.status !== 'draft');
  return {
    backend: deployed.map((e): BackendState => ({ experimentId: e.id, ...backendWrite(e, backendStatusOf(e), e), updatedAt: at })),
    content: deployed.map((e): ContentState => ({ experimentId: e.id, ...contentWrite(e, e.status === 'running'), updatedAt: at })),
  };
}

type Side<Embedded, Remote> = { embedded: Embedded } | { remote: Remote };

export interface ServingSources {
  backend: Side<EmbeddedBackend, ExperimentBackend>;
  content: Side<EmbeddedContent, ContentDelivery>;
}

/** What one compile brought in: the revision, and for a newer one after the first, commit-to-serving seconds. */
export interface Compiled {
  revision: number | null;
  /** Seconds from the revision's commit (its bump) to this compile; null for the first snapshot or an unchanged revision. */
  propagationSeconds: number | null;
}

/** Told of every compile and every failed snapshot read (src/ops: the revision gauge, the propagation SLI, failures). */
export interface ServingObserver {
  compiled(c: Compiled): void;
  failed?(): void;
}

export interface ServingSyncOptions {
  /**
   * Where the snapshot is read asynchronously (surfaces, the embedded systems' state, the revision): every replica
   * on PostgreSQL; reload() uses it on SQLite too. Without it reload() is recompile().
   */
  sql?: Sql;
  /** The catalog's surfaces read synchronously (a single-file SQLite process); null: only reload() compiles. */
  surfaces?: (() => Surface[]) | null;
  /** The revision read synchronously beside `surfaces` (SQLite), for the gauge and the SLI. */
  revisionSync?: () => RevisionStamp;
  observer?: ServingObserver;
}

/** The state of the snapshot serving answers from, for /readyz, /healthz and tests. */
export interface SnapshotStatus {
  /** False until the first snapshot compiled: a replica that answers before it would serve nothing. */
  loaded: boolean;
  /** The configuration revision the snapshot holds every write up to (null: not known, e.g. no store). */
  revision: number | null;
  compiledAt: string | null;
  /** The last commit-to-serving time measured (seconds), the propagation SLI's newest sample. */
  propagationSeconds: number | null;
  /** Snapshot reads that failed (serving kept the last good one). */
  failures: number;
  lastError: string | null;
}

/**
 * Keeps the assignment index equal to what the two systems hold. Two ways in:
 * - recompile(): synchronous, from the embedded systems and catalog on this process's SQLite connection (a write and
 *   the next request agree); where no synchronous source exists (a replica on PostgreSQL) it asks for reload().
 * - reload(): the snapshot read asynchronously through `Sql` — the revision first, then the catalog's surfaces and the
 *   systems' state, so what compiles holds at least every write up to that revision. Reloads never overlap: one asked
 *   for while another reads runs once after it, and every request in between shares that one.
 * A remote system is polled and cached, and refreshed at once after this process writes to it. A read that fails
 * leaves the last good configuration serving (counted, logged, reported), never thrown; requests never wait on any
 * of it (DESIGN rule 9: they read the compiled index).
 */
export class ServingSync {
  private remoteBackend: BackendState[] | undefined;
  private remoteContent: ContentState[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private loading: Promise<boolean> | null = null;
  private queued: Promise<boolean> | null = null;
  private readFailing = false;
  /** When the configuration last came from every system (ISO), and the last failure, for /readyz-style reporting. */
  status: { syncedAt: string | null; error: string | null } = { syncedAt: null, error: null };
  readonly snapshot: SnapshotStatus = { loaded: false, revision: null, compiledAt: null, propagationSeconds: null, failures: 0, lastError: null };

  constructor(
    private readonly sources: ServingSources,
    private readonly index: AssignmentIndex,
    private readonly logger: Logger,
    private readonly opts: ServingSyncOptions = {},
  ) {}

  get remote(): boolean {
    return 'remote' in this.sources.backend || 'remote' in this.sources.content;
  }

  /** Recompiles from the embedded systems now and the remote ones' last answers (no I/O wait); without synchronous sources, reloads. */
  recompile(): void {
    const surfaces = this.opts.surfaces;
    if (!surfaces) {
      void this.reload();
      return;
    }
    const b = this.sources.backend;
    const c = this.sources.content;
    const started = performance.now();
    try {
      const stamp = this.opts.revisionSync?.();
      // A remote system not heard from yet contributes nothing: its surfaces render their defaults (never a variant it may not run).
      const backend = 'embedded' in b ? b.embedded.listSync() : (this.remoteBackend ?? []);
      const content = 'embedded' in c ? c.embedded.listSync() : (this.remoteContent ?? []);
      this.compile(surfaces(), { backend, content }, stamp, started);
    } catch (err) {
      this.readFailed(err as Error);
    }
  }

  /**
   * Resolves once the reloads asked for so far have compiled (at once when none is in flight, as always on SQLite,
   * whose recompile is synchronous). The MCP tool wrapper and REST await it after a write, so a replica's own
   * writes are served by the next request to it (read-your-writes); serving requests themselves never wait on it.
   */
  async settled(): Promise<void> {
    await (this.queued ?? this.loading);
  }

  /**
   * Reads a snapshot through the async store and compiles it; resolves true once a snapshot read after this call
   * began is serving, false when that read failed (the last good one still serves). Never rejects.
   */
  reload(): Promise<boolean> {
    if (!this.opts.sql) {
      if (!this.opts.surfaces) return Promise.resolve(false);
      this.recompile();
      return Promise.resolve(this.snapshot.lastError === null);
    }
    if (!this.loading) {
      this.loading = this.load(this.opts.sql).finally(() => {
        this.loading = null;
      });
      return this.loading;
    }
    // The one in flight may have read before the change that asked for this: one more runs after it, shared.
    this.queued ??= this.loading.then(() => {
      this.queued = null;
      return this.reload();
    });
    return this.queued;
  }

  private async load(sql: Sql): Promise<boolean> {
    const started = performance.now();
    try {
      // The revision first: every write up to it is visible to the reads that follow (they commit in revision order).
      const stamp = await readRevisionStamp(sql);
      const b = this.sources.backend;
      const c = this.sources.content;
      const [surfaces, backend, content] = await Promise.all([
        new SqlCatalogRepo(sql).surfaces(),
        'embedded' in b ? b.embedded.listIn(sql) : Promise.resolve(this.remoteBackend ?? []),
        'embedded' in c ? c.embedded.listIn(sql) : Promise.resolve(this.remoteContent ?? []),
      ]);
      const compiled = this.compile(surfaces, { backend, content }, stamp, started);
      // A write committed during the reads may be half in this snapshot: one more reload makes it whole.
      if (compiled && (await readRevision(sql)) !== stamp.revision) void this.reload();
      return compiled;
    } catch (err) {
      this.readFailed(err as Error);
      return false;
    }
  }

  private compile(surfaces: Surface[], config: ServingConfig, stamp: RevisionStamp | undefined, started: number): boolean {
    try {
      this.index.compile(surfaces, config);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'assignment config rebuild failed; serving the last good one');
      return false;
    }
    const s = this.snapshot;
    const newer = stamp !== undefined && (s.revision === null || stamp.revision > s.revision);
    // Commit to serving: the revision's age when read (the database's clock) plus read and compile time (ours).
    const propagationSeconds = newer && s.loaded ? stamp.ageSeconds + (performance.now() - started) / 1000 : null;
    if (newer) s.revision = stamp.revision;
    if (propagationSeconds !== null) s.propagationSeconds = propagationSeconds;
    s.loaded = true;
    s.compiledAt = new Date().toISOString();
    if (this.readFailing) this.logger.info({ revision: s.revision }, 'serving snapshot read again');
    this.readFailing = false;
    s.lastError = null;
    this.opts.observer?.compiled({ revision: s.revision, propagationSeconds });
    return true;
  }

  private readFailed(err: Error): void {
    this.snapshot.failures++;
    this.snapshot.lastError = err.message;
    this.opts.observer?.failed?.();
    if (!this.readFailing) this.logger.warn({ err: err.message, revision: this.snapshot.revision }, 'serving snapshot read failed; serving the last good one');
    this.readFailing = true;
  }

  /** Fetches the remote systems' state, then recompiles. Never throws: a failure keeps the last good config. */
  async refresh(): Promise<boolean> {
    const b = this.sources.backend;
    const c = this.sources.content;
    try {
      const [backend, content] = await Promise.all(['remote' in b ? b.remote.list() : undefined, 'remote' in c ? c.remote.list() : undefined]);
      if (backend) this.remoteBackend = backend;
      if (content) this.remoteContent = content;
      if (this.opts.surfaces) this.recompile();
      else await this.reload();
      this.status = { syncedAt: new Date().toISOString(), error: null };
      if (this.failing) this.logger.info('serving configuration synced again');
      this.failing = false;
      return true;
    } catch (err) {
      this.status = { ...this.status, error: (err as Error).message };
      if (!this.failing)
        this.logger.warn({ err: (err as Error).message, lastSyncedAt: this.status.syncedAt }, 'serving configuration sync failed; serving the last good one');
      this.failing = true;
      return false;
    }
  }

  /** Polls the remote systems every intervalMs (nothing to poll when both are embedded); returns a stop function. */
  start(intervalMs: number): () => void {
    if (!this.remote || intervalMs <= 0) return () => undefined;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
    return () => clearInterval(this.timer);
  }
}
