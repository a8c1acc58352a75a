import type pg from 'pg';
import type { ChangeEvent } from '../../src/app/context.js';
import { AssignmentIndex } from '../../src/app/serving/assignment-index.js';
import { ChangeWatcher, type ServingWatcher } from '../../src/app/serving/change-watcher.js';
import { RevisionChangeWatcher } from '../../src/app/serving/revision-change-watcher.js';
import { ServingSync } from '../../src/app/serving/serving-sync.js';
import { createLogger } from '../../src/logger.js';
import { servingConfigTracker } from '../../src/ops/metric-hooks.js';
import { createMetrics, type Metrics } from '../../src/ops/metrics.js';
import { type Db, openDb } from '../../src/store/db.js';
import { createPgPool, PgSql } from '../../src/store/sql/pg-sql.js';
import type { Sql } from '../../src/store/sql/sql.js';
import { SqliteSql } from '../../src/store/sql/sqlite-sql.js';
import { wallClock } from '../../src/systems/clock.js';
import { EmbeddedBackend, EmbeddedContent } from '../../src/systems/embedded.js';

/**
 * The serving side of one gateway replica, built as a replica on either engine builds it: its own connections (a pool
 * and a LISTEN connection on PostgreSQL; its own connection to the file on SQLite), serving compiled from snapshots
 * read through `Sql` (reload), the engine's watcher, its own metrics registry. Nothing else of the gateway: what a
 * test or bench of propagation needs, with the real classes.
 */
export interface ServingReplica {
  name: string;
  engine: 'sqlite' | 'postgres';
  sql: Sql;
  index: AssignmentIndex;
  serving: ServingSync;
  watcher: ServingWatcher;
  /** The PostgreSQL watcher (LISTEN pid, how revisions were heard); undefined on SQLite. */
  revisions?: RevisionChangeWatcher;
  /** The SQLite connection (readiness's writability check); undefined on PostgreSQL. */
  db?: Db;
  metrics: Metrics;
  /** What resource subscribers were told. */
  events: ChangeEvent[];
  /** Snapshots compiled so far (the observer's count). */
  readonly compiles: number;
  /** Loads the first snapshot and starts watching; resolves once serving answers. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  name: string;
  /** Watch period: SQLite's data_version check; PostgreSQL's poll while LISTEN is down (default 50 ms). */
  pollMs?: number;
  /** PostgreSQL: poll while listening (default 0: only NOTIFY, so a case can tell the paths apart). */
  safetyPollMs?: number;
  reconnectMs?: number;
  connect?: () => Promise<pg.Client>;
  /** Told after every compile (the bench notes when a write became served). */
  onCompiled?: () => void;
}

export function servingReplica(engine: 'sqlite' | 'postgres', url: string, o: ReplicaOptions): ServingReplica {
  const logger = createLogger('silent');
  const events: ChangeEvent[] = [];
  const emit = (e: ChangeEvent) => events.push(e);
  const metrics = createMetrics({ defaultMetrics: false });
  const index = new AssignmentIndex();
  // SQLite: this replica's own connection on the file; PostgreSQL: the embedded systems' sync face is unused.
  const db = openDb(engine === 'sqlite' ? url : ':memory:');
  const pool = engine === 'postgres' ? createPgPool(url, { max: 4 }) : undefined;
  const sql: Sql = pool ? new PgSql(pool) : new SqliteSql(db);
  const systems = { backend: { embedded: new EmbeddedBackend(db, wallClock) }, content: { embedded: new EmbeddedContent(db, wallClock) } };
  const tracker = servingConfigTracker(metrics);
  let compiles = 0;
  const observer = {
    compiled: (c: Parameters<typeof tracker.compiled>[0]) => {
      compiles++;
      tracker.compiled(c);
      o.onCompiled?.();
    },
    failed: () => tracker.failed(),
  };
  const serving = new ServingSync(systems, index, logger, { sql, observer });
  const pollMs = o.pollMs ?? 50;
  let revisions: RevisionChangeWatcher | undefined;
  let watcher: ServingWatcher;
  if (engine === 'postgres') {
    revisions = new RevisionChangeWatcher({
      url,
      sql,
      serving,
      emit,
      logger,
      safetyPollMs: o.safetyPollMs ?? 0,
      reconnectMs: o.reconnectMs ?? 50,
      ...(o.connect ? { connect: o.connect } : {}),
    });
    watcher = revisions;
  } else {
    watcher = new ChangeWatcher(db, { recompile: () => void serving.reload(), emit }, logger);
  }
  let stop = () => {};
  return {
    name: o.name,
    engine,
    sql,
    index,
    serving,
    watcher,
    ...(revisions ? { revisions } : { db }),
    metrics,
    events,
    get compiles() {
      return compiles;
    },
    async start() {
      if (revisions) {
        stop = revisions.start(pollMs);
        await revisions.started;
      } else {
        await serving.reload();
        stop = watcher.start(pollMs);
      }
    },
    async close() {
      stop();
      await revisions?.stop();
      await pool?.end().catch(() => {}); // a case may have ended it (a broken replica)
      db.close();
    },
  };
}

/** Waits for a condition the system under test brings about, checking every 10 ms; the bound only ends a broken run. */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
