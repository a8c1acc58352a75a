import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { openDb, type Db } from './store/db.js';
import { openLogDb } from './store/log-db.js';
import { CatalogRepo } from './store/catalog-repo.js';
import { ExperimentRepo } from './store/experiment-repo.js';
import { SqliteSql } from './store/sql/sqlite-sql.js';
import { configRepos } from './store/sql/config-repos.js';
import { bumpRevision } from './store/pg/revision.js';
import { refusePostgres } from './store/sql/postgres-start.js';
import { EventRepo } from './store/event-repo.js';
import type { Policy } from './domain/policy.js';
import { loadPolicyFile, parsePolicy } from './store/policy-file.js';
import { DEFAULT_POLICY_FILE, DEMO_CATALOG_DIR } from './config.js';
import { ExperimentService } from './app/experiments/experiment-service.js';
import { CatalogService } from './app/catalog/catalog-service.js';
import { ContentSync } from './app/catalog/content-sync.js';
import { CatalogChanges } from './app/catalog/catalog-apply.js';
import type { Catalog } from './app/catalog/catalog-document.js';
import { EventService } from './app/events/event-service.js';
import { SqliteIngest } from './app/events/ingest-paths.js';
import { MetricsService } from './app/results/metrics-service.js';
import { PowerService } from './app/planning/power-service.js';
import { GeneratorService } from './app/planning/generator-service.js';
import { AssignmentIndex } from './app/serving/assignment-index.js';
import { ExposureBuffer } from './app/events/exposure-buffer.js';
import { sinkWriter, threadWriter } from './app/events/exposure-writer.js';
import { WorkerExposureWriter } from './app/events/exposure-worker.js';
import { FoldRunner, type FoldOptions } from './app/events/fold-runner.js';
import { EventFold } from './store/event-fold.js';
import { RampScheduler } from './app/ramp/ramp-scheduler.js';
import { DeploySaga, type Systems } from './app/deploy/deploy-saga.js';
import { DeployService } from './app/deploy/deploy-service.js';
import { StopService } from './app/deploy/stop-service.js';
import { ApprovalService } from './app/approvals/approval-service.js';
import { EmbeddedBackend, EmbeddedContent } from './systems/embedded.js';
import { RemoteBackend, RemoteContent, remoteExposureSink } from './systems/remote.js';
import { mirrorOf, ServingSync } from './app/serving/serving-sync.js';
import { ChangeWatcher } from './app/serving/change-watcher.js';
import { readiness, type Readiness } from './app/serving/readiness.js';
import { systemWrite, type AppDeps, type ChangeEvent } from './app/context.js';
import { SimulatedClock, wallClock, type Clock } from './systems/clock.js';
import { ClockService } from './app/clock/clock-service.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { servingConfigTracker, watchStore } from './ops/metric-hooks.js';
import { readRevisionStampSync } from './store/pg/revision.js';
import { ToolCallLog } from './ops/tool-calls.js';
import { diagnose, type Diagnosis, type DiagnosisOptions } from './ops/diagnosis.js';
import { SloService } from './ops/slo/slo-service.js';
import { loadSloFile, parseSloFile } from './ops/slo/slo-file.js';

export interface Container {
  deps: AppDeps;
  experiments: ExperimentService;
  /** Deploy's checks, plan and local writes (the saga carries them to the systems; write through `deployments`). */
  deploys: DeployService;
  /** Stop, ship and roll back's checks and local writes (write through `deployments`). */
  stops: StopService;
  catalog: CatalogService;
  /** Catalog as code: validate, plan and apply catalog directories and documents (CLI, admin tools, REST, startup). */
  catalogChanges: CatalogChanges;
  events: EventService;
  metrics: MetricsService;
  power: PowerService;
  /** Advances ramps whose gates hold and trips the circuit breaker; main.ts runs its tick on a timer (never on a simulated clock). */
  ramps: RampScheduler;
  /** Reads the clock; moves a simulated one hour by hour, ticking the ramp scheduler after each hour (GET/POST /v1/clock). */
  clock: ClockService;
  /** The plan_experiment generator: safe-default drafts from a goal. */
  generator: GeneratorService;
  /** Replaces the policy in force (validated first); plans validated under the old one must be validated again. */
  setPolicy(policy: unknown): Policy;
  /** Human approvals: steps the policy holds for a person with the approve scope, decided through REST or the CLI. */
  approvals: ApprovalService;
  /** Deploy and stop as sagas across the experimentation backend and content delivery (tools and REST write through it). */
  deployments: DeploySaga;
  /** This process's own backend and content-delivery state: what `serve --role backend|content` exposes. */
  localSystems: { backend: EmbeddedBackend; content: EmbeddedContent };
  /** In-memory assignment configuration compiled from the two systems' state, recompiled on every change. */
  assignments: AssignmentIndex;
  /** Keeps `assignments` equal to the systems' state (polls remote ones; main.ts starts it). */
  serving: ServingSync;
  /** Hears other processes' writes to the same database (PRAGMA data_version): serving recompiles, subscribers hear it; main.ts starts it. */
  watcher: ChangeWatcher;
  /** What /readyz reports: serving current, database writable, remote systems synced (with the reasons when not). */
  readiness(): Readiness;
  /** With a remote content delivery: keeps the content catalog synced from it (main.ts starts it); undefined when embedded. */
  contentSync?: ContentSync;
  exposures: ExposureBuffer;
  /** Folds the event log into the aggregates (ADR 0018): background turns once main.ts starts it; get_metrics catches up; ingest past the bound folds before it answers. */
  fold: FoldRunner;
  /** The last tool calls of this process with their duration and outcome (the MCP tool wrapper records them). */
  toolCalls: ToolCallLog;
  /** Where orchestration spends its time (diagnose_orchestration, sealab://ops/operations, GET /v1/ops/operations). */
  diagnose(opts?: DiagnosisOptions): Promise<Diagnosis>;
  /** Listen to writes (resource notifications); returns an unsubscribe function. */
  onChange(listener: (e: ChangeEvent) => void): () => void;
  /** The platform's own SLOs evaluated in-process over the Prometheus registry (sealab://ops/slo); main.ts starts its sampling. */
  slo: SloService;
  logger: Logger;
  /** Prometheus metrics (GET /metrics); undefined with SEALAB_METRICS=off. */
  opsMetrics?: Metrics;
  close(): void;
}

export interface ContainerOptions {
  /** SQLite file path, or ':memory:'. */
  dbFile: string;
  /**
   * SEALAB_DATABASE_URL (postgres://…): the store on PostgreSQL. Opened and migrated, then refused with what is still
   * missing there (refusePostgres below) until the event side and serving run on it (ADR 0020).
   */
  databaseUrl?: string;
  /** Apply the demo catalog (catalog/demo) when the database has no surfaces (default true; not with catalogDir). */
  seedDemo?: boolean;
  /** A catalog directory applied at start (`--catalog DIR`): refused with nothing written when invalid or unsafe. */
  catalogDir?: string;
  logger?: Logger;
  /** Where time comes from (default: the wall clock); a SimulatedClock makes the server a rehearsal one. */
  clock?: Clock;
  /** The policy document; otherwise read from policyFile (default: policy/default.json). */
  policy?: Policy;
  /** Id generator (tests pass a deterministic one: variant assignment hashes the experiment id). */
  newId?: (prefix: string) => string;
  policyFile?: string;
  /** Remote systems (another sealab in backend or content role); each one not named is embedded. */
  remote?: {
    backendUrl?: string;
    contentUrl?: string;
    timeoutMs?: number;
    token?: string;
    eventsUrl?: string;
    /** How often the content catalog is synced from a remote content delivery (default 30). */
    contentSyncSeconds?: number;
  };
  /** A backend or content role with nowhere to send exposures: drop them (main.ts warns) rather than fail to store them here. */
  dropExposures?: boolean;
  /** How many exposures the in-memory queue holds while they cannot be written or sent (default 200,000); past it the oldest is dropped and counted. */
  exposureQueueMax?: number;
  /** The fold's turn size, backlog bound and background interval (FOLD_DEFAULTS). */
  fold?: FoldOptions;
  /** Prometheus metrics (default on); false builds none, so every hook costs one check (SEALAB_METRICS=off). */
  metrics?: boolean;
  /** The SLO document; otherwise read from sloFile (default: policy/slo.json). */
  slo?: unknown;
  sloFile?: string;
}

export const dbFileIn = (dataDir: string) => path.join(dataDir, 'sealab.db');

/**
 * Composition root: builds every dependency once. Async (ADR 0020, conversion part 2): the start-up chores (catalog
 * apply, adopting experiments into the embedded systems, resuming a simulated clock, the policy warnings) read and
 * write through the async store; close() stays synchronous.
 */
export async function createContainer(opts: ContainerOptions): Promise<Container> {
  const logger = opts.logger ?? createLogger('silent');
  if (opts.databaseUrl) await refusePostgres(opts.databaseUrl, logger);
  const db: Db = openDb(opts.dbFile);
  let logDb: Db;
  try {
    logDb = openLogDb(opts.dbFile, db);
  } catch (err) {
    db.close();
    throw err;
  }
  // The async seam over the same connection (ADR 0020, conversion part 1): config writes are async transactions on
  // it, and the synchronous writers left go through sql.exclusive, so neither lands inside the other's transaction.
  const sql = new SqliteSql(db);
  const listeners = new Set<(e: ChangeEvent) => void>();
  const metrics = opts.metrics === false ? undefined : createMetrics();
  const deps: AppDeps = {
    db,
    sql,
    store: configRepos(sql),
    exclusive: (fn) => sql.exclusive(fn),
    catalog: new CatalogRepo(db),
    experiments: new ExperimentRepo(db),
    events: new EventRepo(db, logDb),
    policy: opts.policy ? parsePolicy(opts.policy) : loadPolicyFile(opts.policyFile ?? DEFAULT_POLICY_FILE),
    clock: opts.clock ?? wallClock,
    newId: opts.newId ?? ((prefix) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`),
    logger,
    commits: {},
    contentDelivery: opts.remote?.contentUrl ? 'remote' : 'embedded',
    ...(metrics ? { opsMetrics: metrics } : {}),
    emit: (e) => {
      for (const l of listeners) {
        try {
          l(e);
        } catch (err) {
          logger.warn({ err }, 'change listener failed');
        }
      }
    },
  };
  const catalogChanges = new CatalogChanges(deps, deps.contentDelivery === 'embedded');
  try {
    await applyStartCatalog(deps, catalogChanges, opts);
    await warnOnUnknownPolicyIds(deps);
    if (deps.clock instanceof SimulatedClock) await resumeSimulatedClock(deps, deps.clock);
  } catch (err) {
    if (logDb !== db) logDb.close();
    db.close();
    throw err;
  }
  // Event side (ADR 0018), still synchronous on the SQLite connection: nothing async is open yet at this point.
  backfillAggregates(deps);
  const experiments = new ExperimentService(deps);
  const deploys = new DeployService(deps, experiments);
  // A ship rests on the always-valid analysis (results is built below; this runs only when a ship is asked for).
  const stops = new StopService(
    deps,
    experiments,
    (id, r) => results.report(id, { alwaysValid: true }, r),
    () => results.settleData(),
  );
  const localSystems = { backend: new EmbeddedBackend(db, deps.clock, deps.exclusive), content: new EmbeddedContent(db, deps.clock, deps.exclusive) };
  const systems = systemsFor(opts, localSystems, logger, metrics);
  watchStore(metrics, db, opts.dbFile, deps.clock);
  const contentSync =
    systems.content.kind === 'remote' && opts.remote?.contentUrl
      ? new ContentSync(deps, systems.content, { source: opts.remote.contentUrl, intervalMs: (opts.remote.contentSyncSeconds ?? 30) * 1000, metrics })
      : undefined;
  deps.contentSync = contentSync;
  await contentSync?.load();
  if (systems.embedded) await adoptExperiments(deps, localSystems);
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
  const deployments = new DeploySaga(deps, experiments, deploys, stops, systems, deps.store.operations, () => serving.refresh());
  const events = opts.remote?.eventsUrl;
  const sink = events
    ? remoteExposureSink({
        baseUrl: events,
        timeoutMs: opts.remote?.timeoutMs ?? 5000,
        logger,
        metrics,
        ...(opts.remote?.token ? { token: opts.remote.token } : {}),
      })
    : opts.dropExposures
      ? async () => 'dropped' as const
      : undefined;
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
  if (metrics) metrics.sources.fold = () => fold.status();
  const results = new MetricsService(
    deps,
    experiments,
    () => {
      exposures.flushSync(); // get_metrics counts every exposure served: it waits for the writer's acknowledgement
      return fold.catchUp();
    },
    async () => {
      await exposures.flush();
      await fold.catchUpAsync();
      // What is left is folded on this thread's connection, once no async configuration transaction holds it.
      return deps.exclusive(() => fold.catchUp());
    },
  );
  const slo = new SloService(opts.slo ? parseSloFile(opts.slo) : loadSloFile(opts.sloFile), metrics?.registry, deps);
  deps.slo = slo;
  const ramps = new RampScheduler(deps, experiments, results, deployments);
  const approvals = new ApprovalService(deps, experiments, deploys, stops, deployments);
  const toolCalls = new ToolCallLog();
  const leases = deps.store.leases;
  return {
    deps,
    experiments,
    deploys,
    stops,
    catalog: new CatalogService(deps),
    catalogChanges,
    events: new EventService(deps, index, exposures, new SqliteIngest(deps.events, deps.catalog, deps.experiments, fold)),
    fold,
    metrics: results,
    ramps,
    clock: new ClockService(deps, ramps, exposures),
    deployments,
    approvals,
    localSystems,
    power: new PowerService(deps),
    generator: new GeneratorService(deps, experiments),
    setPolicy: (policy) => {
      deps.policy = parsePolicy(policy);
      // Only a warning: the new policy is in force whatever the read answers.
      warnOnUnknownPolicyIds(deps).catch((err: unknown) => logger.warn({ err }, 'could not compare the policy with the catalog'));
      return deps.policy;
    },
    assignments: index,
    serving,
    watcher,
    readiness: () => readiness(db, watcher, serving, contentSync?.status()),
    ...(contentSync ? { contentSync } : {}),
    exposures,
    toolCalls,
    diagnose: (o) =>
      diagnose(
        { ops: deployments.ops, leases: () => leases.list(), clock: deps.clock, toolCalls, exposureBuffer: () => exposures.size, owner: deployments.owner },
        o,
      ),
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    slo,
    logger,
    ...(metrics ? { opsMetrics: metrics } : {}),
    close: () => {
      watcher.stop();
      contentSync?.stop();
      exposures.closeSync();
      fold.stop();
      if (logDb !== db) logDb.close();
      db.close();
    },
  };
}

function systemsFor(opts: ContainerOptions, local: { backend: EmbeddedBackend; content: EmbeddedContent }, logger: Logger, metrics?: Metrics): Systems {
  const r = opts.remote;
  if (!r?.backendUrl && !r?.contentUrl) return { embedded: true, ...local };
  const o = (baseUrl: string) => ({ baseUrl, timeoutMs: r.timeoutMs ?? 5000, logger, metrics, ...(r.token ? { token: r.token } : {}) });
  return {
    embedded: false,
    backend: r.backendUrl ? new RemoteBackend(o(r.backendUrl)) : local.backend,
    content: r.contentUrl ? new RemoteContent(o(r.contentUrl)) : local.content,
  };
}

/**
 * A database from before the deploy sagas has experiments the embedded systems never heard of:
 * record them there as their last completed operation left them, once, so serving (which reads
 * the systems) keeps serving them.
 */
async function adoptExperiments(deps: AppDeps, local: { backend: EmbeddedBackend; content: EmbeddedContent }): Promise<void> {
  const known = new Set((await local.backend.list()).map((b) => b.experimentId));
  const missing = (await deps.store.experiments.list()).filter((e) => e.status !== 'draft' && !known.has(e.id));
  if (!missing.length) return;
  const { backend, content } = mirrorOf(missing);
  await deps.sql.tx(async (tx) => {
    for (const b of backend) await local.backend.putIn(tx, b.experimentId, { ...b, opId: `adopt_${b.experimentId}`, step: 'adopt' });
    for (const c of content) await local.content.putIn(tx, c.experimentId, { ...c, opId: `adopt_${c.experimentId}`, step: 'adopt' });
    await bumpRevision(tx);
  });
  deps.logger.info({ experiments: missing.length }, 'recorded existing experiments in the embedded backend and content delivery');
}

/**
 * A simulated clock never starts behind what the database already recorded: a restarted rehearsal
 * would otherwise see its ramp stages and exposures in the future. Every advance is audited, so the
 * audit log holds the latest simulated time.
 */
async function resumeSimulatedClock(deps: AppDeps, clock: SimulatedClock): Promise<void> {
  const at = (await deps.sql.get<{ at: string | null }>('SELECT MAX(at) AS at FROM audit_log'))?.at;
  if (!at || Date.parse(at) <= clock.now().getTime()) return;
  deps.logger.warn({ from: clock.now().toISOString(), to: at }, 'simulated clock moved forward to the latest time this database recorded');
  clock.set(new Date(at));
}

/** A database from before the metric pipeline has exposures but no aggregates: build them once from the raw rows. */
function backfillAggregates(deps: AppDeps): void {
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

/**
 * `--catalog DIR` applies that directory (the complete catalog); otherwise an empty database gets the
 * demo catalog, with its own content even when content delivery is remote (a bootstrap: the sync replaces it).
 */
let demoCatalog: Catalog | undefined;

async function applyStartCatalog(deps: AppDeps, changes: CatalogChanges, opts: ContainerOptions): Promise<void> {
  if (opts.catalogDir) {
    const r = await changes.applyDir(opts.catalogDir, systemWrite('catalog apply --catalog'));
    deps.logger.info({ dir: opts.catalogDir, version: r.version, applied: r.applied, ...r.plan.counts }, 'catalog directory applied at start');
    return;
  }
  if (!(opts.seedDemo ?? true) || !(await deps.store.catalog.isEmpty())) return;
  // Read and validated once per process (it ships with sealab; test suites open hundreds of databases).
  demoCatalog ??= await changes.loadDir(DEMO_CATALOG_DIR, { contentManaged: true });
  await changes.applyCatalog(demoCatalog, systemWrite('catalog apply demo'), { contentManaged: true });
  deps.logger.info('seeded demo surfaces, content and metrics (catalog/demo, catalog version 1) into an empty database');
}

/** Policy ids the catalog does not know are probably typos; the catalog can change at run time, so warn rather than refuse. */
async function warnOnUnknownPolicyIds(deps: AppDeps): Promise<void> {
  const metrics = new Set(await deps.store.catalog.ids('metrics'));
  const surfaces = new Set(await deps.store.catalog.ids('surfaces'));
  const p = deps.policy;
  const unknownMetrics = [p.defaults, ...Object.values(p.surfaces)]
    .flatMap((s) => (s.requiredGuardrails ?? []).map((g) => g.metricId))
    .filter((id) => metrics.size && !metrics.has(id));
  const unknownSurfaces = Object.keys(p.surfaces).filter((id) => surfaces.size && !surfaces.has(id));
  if (unknownMetrics.length || unknownSurfaces.length)
    deps.logger.warn({ unknownMetrics, unknownSurfaces, policyVersion: p.version }, 'the policy names metrics or surfaces the catalog does not have');
}
