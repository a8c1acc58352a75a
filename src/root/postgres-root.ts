import { CatalogChanges } from '../app/catalog/catalog-apply.js';
import { sinkWriter } from '../app/events/exposure-writer.js';
import { pgEventSide } from '../app/events/pg-event-side.js';
import { AssignmentIndex } from '../app/serving/assignment-index.js';
import { replicaServing } from '../app/serving/replica-serving.js';
import type { Container, ContainerOptions } from '../container.js';
import { createLogger } from '../logger.js';
import { watchPgStore } from '../ops/metric-hooks.js';
import { createMetrics } from '../ops/metrics.js';
import { AppError } from '../errors.js';
import { openSql } from '../store/sql/open-sql.js';
import { assemble, baseDeps, exposureSinkFor, type Listeners, openSystems, startChores } from './shared.js';

/**
 * The composition root of a gateway replica on PostgreSQL (SEALAB_DATABASE_URL; ADR 0020): the store on a pool,
 * migrated at start; the embedded systems on the same database (writes outside a saga bump the revision); serving
 * from snapshots read through the pool and kept current by the revision watcher (NOTIFY, a poll, a re-read at every
 * reconnection); the event side on the shared log (ingest through PgIngest, served exposures written by the buffer,
 * the fold in turns any replica may run). Nothing of it touches a local file: replicas share everything through the
 * database. Leases keep the ramp scheduler and saga recovery to one replica at a time (the same code as SQLite's).
 */
export async function createPostgresContainer(opts: ContainerOptions & { databaseUrl: string }): Promise<Container> {
  const logger = opts.logger ?? createLogger('silent');
  const opened = await openSql(opts.databaseUrl, {
    max: opts.poolSize ?? 10,
    // An idle pooled connection the server dropped (a restart, a terminated backend): the pool replaces it on next use.
    onError: (err) => logger.warn({ err: err.message }, 'PostgreSQL connection lost; the pool reconnects on next use'),
  }).catch((err: unknown) => {
    throw unreachable(opts.databaseUrl, err);
  });
  const sql = opened.sql;
  const listeners: Listeners = new Set();
  const metrics = opts.metrics === false ? undefined : createMetrics();
  const deps = baseDeps(opts, sql, logger, listeners, metrics);
  const catalogChanges = new CatalogChanges(deps, deps.contentDelivery === 'embedded');
  let systems: Awaited<ReturnType<typeof openSystems>>;
  try {
    await startChores(deps, catalogChanges, opts);
    systems = await openSystems(deps, opts, sql, metrics);
  } catch (err) {
    await opened.close();
    throw err;
  }
  const stopStoreMetrics = watchPgStore(metrics, sql, deps.clock);
  const { localSystems, contentSync } = systems;
  const index = new AssignmentIndex();
  const replica = replicaServing({
    sql,
    url: opts.databaseUrl,
    sources: {
      backend: systems.systems.backend.kind === 'embedded' ? { embedded: localSystems.backend } : { remote: systems.systems.backend },
      content: systems.systems.content.kind === 'embedded' ? { embedded: localSystems.content } : { remote: systems.systems.content },
    },
    index,
    logger,
    emit: deps.emit,
    metrics,
  });
  const { serving, watcher } = replica;
  // The first snapshot before the container is handed out (as SQLite's first compile): main.ts then starts the watcher.
  await serving.reload();
  // This replica's own writes reload serving at once (coalesced with the NOTIFY that follows them at commit).
  listeners.add(() => serving.recompile());
  localSystems.backend.onWrite = localSystems.content.onWrite = () => serving.recompile();
  const sink = exposureSinkFor(opts, logger, metrics);
  const side = pgEventSide({
    store: deps.store,
    clock: deps.clock,
    logger,
    metrics,
    ...(opts.pgFold ? { fold: opts.pgFold } : {}),
    ...(opts.exposureQueueMax ? { exposureQueueMax: opts.exposureQueueMax } : {}),
    ...(sink ? { writer: sinkWriter(sink) } : {}),
  });
  const container = assemble({
    engine: 'postgres',
    opts,
    deps,
    listeners,
    metrics,
    catalogChanges,
    opened: systems,
    index,
    serving,
    watcher,
    readiness: () => replica.readiness(contentSync?.status()),
    exposures: side.exposures,
    fold: side.fold,
    ingest: side.ingest,
    current: side.current,
    settle: side.settle,
    healthProbe: async () => void (await sql.get('SELECT 1 AS ok')),
    // Idempotent: a second close() (a signal during shutdown, a test's cleanup) waits for the first.
    close: () => (closing ??= closeAll()),
  });
  let closing: Promise<void> | undefined;
  return container;

  async function closeAll(): Promise<void> {
    stopStoreMetrics();
    contentSync?.stop();
    await watcher.stop();
    await side.fold.stop();
    // What was served and not written yet goes to the log before the pool closes (a bounded drain).
    await side.exposures.drain().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'served exposures not written at close'));
    await opened.close();
  }
}

/**
 * The start's failure to open or migrate the database, typed: where it tried (never the password) and what to check.
 * A migration that fails on a reachable server keeps its own message (the SQL error says which statement).
 */
function unreachable(url: string, err: unknown): AppError {
  if (err instanceof AppError && err.code !== 'UPSTREAM_UNAVAILABLE') return err;
  let where = 'the database';
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // the URL was validated by config.ts; an unparsable one keeps the generic wording
  }
  return new AppError(
    'UPSTREAM_UNAVAILABLE',
    `SEALAB_DATABASE_URL: could not open PostgreSQL at ${where}: ${(err as Error)?.message ?? String(err)}`,
    'Check that the server runs and accepts this host, port, user and database (and the password, if any); unset SEALAB_DATABASE_URL to run on the SQLite file in the data directory.',
    { database: where },
  );
}
