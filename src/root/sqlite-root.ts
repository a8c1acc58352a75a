import { CatalogChanges } from '../app/catalog/catalog-apply.js';
import type { SqliteDeps } from '../app/context.js';
import { ExposureBuffer } from '../app/events/exposure-buffer.js';
import { WorkerExposureWriter } from '../app/events/exposure-worker.js';
import { sinkWriter, threadWriter } from '../app/events/exposure-writer.js';
import { FoldRunner } from '../app/events/fold-runner.js';
import { SqliteIngest } from '../app/events/ingest-paths.js';
import { AssignmentIndex } from '../app/serving/assignment-index.js';
import { ChangeWatcher } from '../app/serving/change-watcher.js';
import { readiness } from '../app/serving/readiness.js';
import { ServingSync } from '../app/serving/serving-sync.js';
import type { ContainerOptions, SqliteContainer } from '../container.js';
import { createLogger } from '../logger.js';
import { servingConfigTracker, watchStore } from '../ops/metric-hooks.js';
import { createMetrics } from '../ops/metrics.js';
import { CatalogRepo } from '../store/catalog-repo.js';
import { type Db, openDb } from '../store/db.js';
import { EventFold } from '../store/event-fold.js';
import { EventRepo } from '../store/event-repo.js';
import { ExperimentRepo } from '../store/experiment-repo.js';
import { openLogDb } from '../store/log-db.js';
import { readRevisionStampSync } from '../store/pg/revision.js';
import { SqliteSql } from '../store/sql/sqlite-sql.js';
import { assemble, baseDeps, exposureSinkFor, type Listeners, openSystems, startChores } from './shared.js';

/**
 * The composition root of a single-file process (the default): the store on a SQLite file (or ':memory:'), its event
 * side on the same file (the log file beside it, the fold on a thread of its own, served exposures written by a worker
 * thread), serving compiled synchronously on the connection and told of other processes' writes by PRAGMA
 * data_version. close() does its work synchronously (the promise is already settled when it returns).
 */
export async function createSqliteContainer(opts: ContainerOptions): Promise<SqliteContainer> {
  const logger = opts.logger ?? createLogger('silent');
  const db: Db = openDb(opts.dbFile);
  let logDb: Db;
  try {
    logDb = openLogDb(opts.dbFile, db);
  } catch (err) {
    db.close();
    throw err;
  }
  const closeFiles = () => {
    if (logDb !== db) logDb.close();
    db.close();
  };
  // The async seam over the same connection (ADR 0020, conversion part 1): config writes are async transactions on
  // it, and the synchronous writers left go through sql.exclusive, so neither lands inside the other's transaction.
  const sql = new SqliteSql(db);
  const listeners: Listeners = new Set();
  const metrics = opts.metrics === false ? undefined : createMetrics();
  const deps: SqliteDeps = {
    ...baseDeps(opts, sql, logger, listeners, metrics),
    db,
    exclusive: (fn) => sql.exclusive(fn),
    catalog: new CatalogRepo(db),
    experiments: new ExperimentRepo(db),
    events: new EventRepo(db, logDb),
  };
  const catalogChanges = new CatalogChanges(deps, deps.contentDelivery === 'embedded');
  let opened: Awaited<ReturnType<typeof openSystems>>;
  try {
    await startChores(deps, catalogChanges, opts);
    // Event side (ADR 0018), still synchronous on the SQLite connection: nothing async is open yet at this point.
    backfillAggregates(deps);
    opened = await openSystems(deps, opts, db, metrics, deps.exclusive);
  } catch (err) {
    closeFiles();
    throw err;
  }
  watchStore(metrics, db, opts.dbFile, deps.clock);
  const { localSystems, systems, contentSync } = opened;
  const index = new AssignmentIndex();
  const serving = new ServingSync(
    {
      backend: systems.backend.kind === 'embedded' ? { embedded: localSystems.backend } : { remote: systems.backend },
      content: systems.content.kind === 'embedded' ? { embedded: localSystems.content } : { remote: systems.content },
    },
    index,
    logger,
    // A single-file process compiles synchronously on its connection; reload() (through sql) is what a PostgreSQL replica uses.
    { sql, surfaces: () => deps.catalog.surfaces(), revisionSync: () => readRevisionStampSync(db), observer: servingConfigTracker(metrics) },
  );
  serving.recompile();
  listeners.add(() => serving.recompile());
  localSystems.backend.onWrite = localSystems.content.onWrite = () => serving.recompile();
  // Another process's writes to this file (a stdio server beside `serve`) reach serving through the watcher.
  const watcher = new ChangeWatcher(db, { recompile: () => serving.recompile(), emit: deps.emit }, logger);
  const sink = exposureSinkFor(opts, logger, metrics);
  // Served exposures: a worker thread with its own connection writes them for a database file; a `:memory:`
  // database (tests) is this connection's alone, so it is written on this thread, off the requests' turns.
  const writer = sink ? sinkWriter(sink) : opts.dbFile === ':memory:' ? threadWriter(deps.events) : new WorkerExposureWriter(opts.dbFile, logger);
  const exposures = new ExposureBuffer(writer, logger, {
    clock: deps.clock,
    metrics,
    ...(opts.exposureQueueMax ? { maxQueued: opts.exposureQueueMax } : {}),
  });
  const fold = new FoldRunner(
    new EventFold(db, deps.events.log, deps.events, () => new Set(deps.catalog.metrics().flatMap((m) => (m.source ? [m.source.event] : [])))),
    deps.events.log,
    deps.clock,
    logger,
    metrics,
    // A database file folds on a thread of its own once started (main.ts, benches); `:memory:` on this one.
    opts.dbFile === ':memory:' ? opts.fold : { ...opts.fold, thread: { ...opts.fold?.thread, dbFile: opts.dbFile } },
  );
  const container = assemble({
    engine: 'sqlite',
    opts,
    deps,
    listeners,
    metrics,
    catalogChanges,
    opened,
    index,
    serving,
    watcher,
    readiness: () => readiness(db, watcher, serving, contentSync?.status()),
    exposures,
    fold,
    ingest: new SqliteIngest(deps.events, deps.catalog, deps.experiments, fold),
    current: () => {
      exposures.flushSync(); // get_metrics counts every exposure served: it waits for the writer's acknowledgement
      return fold.catchUp();
    },
    settle: async () => {
      await exposures.flush();
      await fold.catchUpAsync();
      // What is left is folded on this thread's connection, once no async configuration transaction holds it.
      return deps.exclusive(() => fold.catchUp());
    },
    healthProbe: async () => void db.prepare('SELECT 1').get(),
    close: async () => {
      watcher.stop();
      contentSync?.stop();
      exposures.closeSync();
      fold.stop();
      closeFiles();
    },
  });
  return { ...container, engine: 'sqlite', deps, fold, watcher };
}

/** A database from before the metric pipeline has exposures but no aggregates: build them once from the raw rows. */
function backfillAggregates(deps: SqliteDeps): void {
  const hasExposures = deps.db.prepare('SELECT 1 FROM exposures LIMIT 1').get();
  const hasAggregates = deps.db.prepare('SELECT 1 FROM metric_aggregates LIMIT 1').get();
  if (!hasExposures || hasAggregates) return;
  const now = deps.clock.now().toISOString();
  deps.db.transaction(() => {
    for (const { id } of deps.db.prepare('SELECT DISTINCT experiment_id AS id FROM exposures').all() as { id: string }[]) deps.events.pipeline.rebuild(id, now);
    deps.events.pipeline.flush(now);
  })();
  deps.logger.info('built metric aggregates from existing exposures and events');
}
