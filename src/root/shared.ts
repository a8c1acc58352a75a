import { randomUUID } from 'node:crypto';
import { ApprovalService } from '../app/approvals/approval-service.js';
import type { CatalogChanges } from '../app/catalog/catalog-apply.js';
import type { Catalog } from '../app/catalog/catalog-document.js';
import { CatalogService } from '../app/catalog/catalog-service.js';
import { ContentSync } from '../app/catalog/content-sync.js';
import { ClockService } from '../app/clock/clock-service.js';
import { type AppDeps, type ChangeEvent, systemWrite } from '../app/context.js';
import { DeploySaga, type Systems } from '../app/deploy/deploy-saga.js';
import { DeployService } from '../app/deploy/deploy-service.js';
import { StopService } from '../app/deploy/stop-service.js';
import { EventService } from '../app/events/event-service.js';
import type { ExposureBuffer } from '../app/events/exposure-buffer.js';
import type { ExposureSink } from '../app/events/exposure-writer.js';
import type { FoldStatus } from '../app/events/fold-runner.js';
import type { IngestPath } from '../app/events/ingest-paths.js';
import { ExperimentService } from '../app/experiments/experiment-service.js';
import { GeneratorService } from '../app/planning/generator-service.js';
import { PowerService } from '../app/planning/power-service.js';
import { RampScheduler } from '../app/ramp/ramp-scheduler.js';
import { MetricsService } from '../app/results/metrics-service.js';
import type { AssignmentIndex } from '../app/serving/assignment-index.js';
import type { ServingWatcher } from '../app/serving/change-watcher.js';
import type { Readiness } from '../app/serving/readiness.js';
import { mirrorOf, type ServingSync } from '../app/serving/serving-sync.js';
import { DEFAULT_POLICY_FILE, DEMO_CATALOG_DIR } from '../config.js';
import type { Container, ContainerOptions, EventFolding } from '../container.js';
import type { Logger } from '../logger.js';
import { diagnose } from '../ops/diagnosis.js';
import type { Metrics } from '../ops/metrics.js';
import { loadSloFile, parseSloFile } from '../ops/slo/slo-file.js';
import { SloService } from '../ops/slo/slo-service.js';
import { ToolCallLog } from '../ops/tool-calls.js';
import { bumpRevision } from '../store/pg/revision.js';
import { loadPolicyFile, parsePolicy } from '../store/policy-file.js';
import { configRepos } from '../store/sql/config-repos.js';
import type { Sql } from '../store/sql/sql.js';
import { SimulatedClock, wallClock } from '../systems/clock.js';
import { EmbeddedBackend, EmbeddedContent, type EmbeddedStore } from '../systems/embedded.js';
import { RemoteBackend, RemoteContent, remoteExposureSink } from '../systems/remote.js';

/**
 * What both composition roots share (ADR 0020): the engine-free deps, the start-up chores, the systems, and the use
 * cases assembled over them. Each root (sqlite-root.ts, postgres-root.ts) builds only what differs by engine: the
 * connection, serving's watcher, the event side.
 */

/** Resource listeners, told of every write; an engine's watcher feeds the same set with other processes' writes. */
export type Listeners = Set<(e: ChangeEvent) => void>;

/** The deps every use case reads, over one `Sql` (either engine). */
export function baseDeps(opts: ContainerOptions, sql: Sql, logger: Logger, listeners: Listeners, metrics: Metrics | undefined): AppDeps {
  return {
    sql,
    store: configRepos(sql),
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
}

/** The start-up chores on the async store: the start catalog, the policy's warnings, a simulated clock resumed. */
export async function startChores(deps: AppDeps, changes: CatalogChanges, opts: ContainerOptions): Promise<void> {
  await applyStartCatalog(deps, changes, opts);
  await warnOnUnknownPolicyIds(deps);
  if (deps.clock instanceof SimulatedClock) await resumeSimulatedClock(deps, deps.clock);
}

export interface OpenedSystems {
  localSystems: { backend: EmbeddedBackend; content: EmbeddedContent };
  systems: Systems;
  contentSync?: ContentSync;
}

/**
 * This process's embedded systems on the engine's store, the remote ones named in the options, and the content sync
 * with a remote content delivery (loaded once; main.ts starts its timer). Experiments the embedded systems never heard
 * of (a database from before the sagas) are recorded there.
 */
export async function openSystems(
  deps: AppDeps,
  opts: ContainerOptions,
  store: EmbeddedStore,
  metrics: Metrics | undefined,
  exclusive?: <T>(fn: () => T) => Promise<T>,
): Promise<OpenedSystems> {
  const localSystems = { backend: new EmbeddedBackend(store, deps.clock, exclusive), content: new EmbeddedContent(store, deps.clock, exclusive) };
  const systems = systemsFor(opts, localSystems, deps.logger, metrics);
  const contentSync =
    systems.content.kind === 'remote' && opts.remote?.contentUrl
      ? new ContentSync(deps, systems.content, { source: opts.remote.contentUrl, intervalMs: (opts.remote.contentSyncSeconds ?? 30) * 1000, metrics })
      : undefined;
  deps.contentSync = contentSync;
  await contentSync?.load();
  if (systems.embedded) await adoptExperiments(deps, localSystems);
  return { localSystems, systems, ...(contentSync ? { contentSync } : {}) };
}

/** Where served exposures go instead of this store: another gateway (SEALAB_EVENTS_URL), or nowhere (a system role). */
export function exposureSinkFor(opts: ContainerOptions, logger: Logger, metrics: Metrics | undefined): ExposureSink | undefined {
  const events = opts.remote?.eventsUrl;
  if (events)
    return remoteExposureSink({
      baseUrl: events,
      timeoutMs: opts.remote?.timeoutMs ?? 5000,
      logger,
      metrics,
      ...(opts.remote?.token ? { token: opts.remote.token } : {}),
    });
  return opts.dropExposures ? async () => 'dropped' as const : undefined;
}

/** What differs by engine, handed to assemble() once built. */
export interface EngineParts {
  engine: Container['engine'];
  opts: ContainerOptions;
  deps: AppDeps;
  listeners: Listeners;
  metrics: Metrics | undefined;
  catalogChanges: CatalogChanges;
  opened: OpenedSystems;
  index: AssignmentIndex;
  serving: ServingSync;
  watcher: ServingWatcher;
  readiness(): Readiness;
  exposures: ExposureBuffer;
  fold: EventFolding;
  /** Where ingest batches are validated and appended (SqliteIngest or PgIngest). */
  ingest: IngestPath;
  /** MetricsService's hooks: what was served written and what was acknowledged folded (current: synchronously where it can). */
  current: () => FoldStatus;
  settle: () => Promise<unknown>;
  healthProbe(): Promise<void>;
  close(): Promise<void>;
}

/** The use cases over the engine's parts: the same objects on either engine. */
export function assemble(p: EngineParts): Container {
  const { deps, metrics, serving, exposures, fold } = p;
  const { localSystems, systems, contentSync } = p.opened;
  const logger = deps.logger;
  const experiments = new ExperimentService(deps);
  const deploys = new DeployService(deps, experiments);
  // A ship rests on the always-valid analysis (results is built below; this runs only when a ship is asked for).
  const stops = new StopService(
    deps,
    experiments,
    (id, r) => results.report(id, { alwaysValid: true }, r),
    () => results.settleData(),
  );
  const deployments = new DeploySaga(deps, experiments, deploys, stops, systems, deps.store.operations, () => serving.refresh());
  if (metrics) metrics.sources.fold = () => fold.status();
  const results = new MetricsService(deps, experiments, p.current, p.settle);
  const slo = new SloService(sloOf(p.opts), metrics?.registry, deps);
  deps.slo = slo;
  const ramps = new RampScheduler(deps, experiments, results, deployments);
  const approvals = new ApprovalService(deps, experiments, deploys, stops, deployments);
  const toolCalls = new ToolCallLog();
  const leases = deps.store.leases;
  return {
    engine: p.engine,
    deps,
    experiments,
    deploys,
    stops,
    catalog: new CatalogService(deps),
    catalogChanges: p.catalogChanges,
    events: new EventService(deps, p.index, exposures, p.ingest),
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
    assignments: p.index,
    serving,
    watcher: p.watcher,
    readiness: p.readiness,
    ...(contentSync ? { contentSync } : {}),
    exposures,
    toolCalls,
    diagnose: (o) =>
      diagnose(
        { ops: deployments.ops, leases: () => leases.list(), clock: deps.clock, toolCalls, exposureBuffer: () => exposures.size, owner: deployments.owner },
        o,
      ),
    onChange: (l) => {
      p.listeners.add(l);
      return () => p.listeners.delete(l);
    },
    slo,
    logger,
    ...(metrics ? { opsMetrics: metrics } : {}),
    healthProbe: p.healthProbe,
    close: p.close,
  };
}

/** The SLO document given in the options, else read from its file (default policy/slo.json). */
export const sloOf = (opts: ContainerOptions) => (opts.slo ? parseSloFile(opts.slo) : loadSloFile(opts.sloFile));

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
 * the systems) keeps serving them. Replicas starting together may both try: each write is claimed once.
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
