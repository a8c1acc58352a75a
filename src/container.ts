import path from 'node:path';
import type { AppDeps, ChangeEvent, SqliteDeps } from './app/context.js';
import type { ExperimentService } from './app/experiments/experiment-service.js';
import type { CatalogService } from './app/catalog/catalog-service.js';
import type { ContentSync } from './app/catalog/content-sync.js';
import type { CatalogChanges } from './app/catalog/catalog-apply.js';
import type { EventService } from './app/events/event-service.js';
import type { MetricsService } from './app/results/metrics-service.js';
import type { PowerService } from './app/planning/power-service.js';
import type { GeneratorService } from './app/planning/generator-service.js';
import type { AssignmentIndex } from './app/serving/assignment-index.js';
import type { ExposureBuffer } from './app/events/exposure-buffer.js';
import type { FoldOptions, FoldRunner, FoldStatus } from './app/events/fold-runner.js';
import type { PgFoldOptions } from './app/events/pg-fold-runner.js';
import type { RampScheduler } from './app/ramp/ramp-scheduler.js';
import type { DeploySaga } from './app/deploy/deploy-saga.js';
import type { DeployService } from './app/deploy/deploy-service.js';
import type { StopService } from './app/deploy/stop-service.js';
import type { ApprovalService } from './app/approvals/approval-service.js';
import type { EmbeddedBackend, EmbeddedContent } from './systems/embedded.js';
import type { ServingSync } from './app/serving/serving-sync.js';
import type { ChangeWatcher, ServingWatcher } from './app/serving/change-watcher.js';
import type { Readiness } from './app/serving/readiness.js';
import type { Policy } from './domain/policy.js';
import type { Clock } from './systems/clock.js';
import type { ClockService } from './app/clock/clock-service.js';
import type { Logger } from './logger.js';
import type { Metrics } from './ops/metrics.js';
import type { ToolCallLog } from './ops/tool-calls.js';
import type { Diagnosis, DiagnosisOptions } from './ops/diagnosis.js';
import type { SloService } from './ops/slo/slo-service.js';
import { createSqliteContainer } from './root/sqlite-root.js';
import { createPostgresContainer } from './root/postgres-root.js';

/**
 * The composition root (ADR 0020): one per engine, the same use cases over each. SQLite (the default: one process, one
 * file) is src/root/sqlite-root.ts; PostgreSQL (SEALAB_DATABASE_URL: gateway replicas sharing one database) is
 * src/root/postgres-root.ts; what they share is src/root/shared.ts.
 */

/** The fold as the entry point and the readers see it, whichever engine folds (FoldRunner on SQLite, PgFoldRunner on PostgreSQL). */
export interface EventFolding {
  /** Background turns until stop() (main.ts starts it beside the server). */
  start(): void;
  stop(): void | Promise<void>;
  /** The backlog as last measured. */
  status(): FoldStatus;
  /** Folds everything acknowledged so far without blocking the event loop. */
  catchUpAsync(): Promise<FoldStatus>;
}

export interface Container {
  /** Which store this process runs on. */
  engine: 'sqlite' | 'postgres';
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
  /**
   * Hears other processes' writes to the same database (SQLite: PRAGMA data_version; PostgreSQL: the configuration
   * revision by NOTIFY, a poll and a re-read at reconnection): serving recompiles, subscribers hear it; main.ts starts it.
   */
  watcher: ServingWatcher;
  /** What /readyz reports: serving current, database writable, remote systems synced (with the reasons when not). */
  readiness(): Readiness;
  /** With a remote content delivery: keeps the content catalog synced from it (main.ts starts it); undefined when embedded. */
  contentSync?: ContentSync;
  exposures: ExposureBuffer;
  /** Folds the event log into the aggregates (ADR 0018): background turns once main.ts starts it; get_metrics catches up; ingest past the bound folds before it answers. */
  fold: EventFolding;
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
  /** /healthz's probe: the store answers a trivial query (rejects when it does not). */
  healthProbe(): Promise<void>;
  /** Stops the timers and watchers, writes what was served, closes the store (SQLite: done synchronously by the time it returns). */
  close(): Promise<void>;
}

/** A single-file SQLite process's container: the synchronous connection, the fold thread's runner and the data_version watcher. */
export interface SqliteContainer extends Container {
  engine: 'sqlite';
  deps: SqliteDeps;
  fold: FoldRunner;
  watcher: ChangeWatcher;
}

export interface ContainerOptions {
  /** SQLite file path, or ':memory:'. */
  dbFile: string;
  /**
   * SEALAB_DATABASE_URL (postgres://…): the store on PostgreSQL, migrated at start (src/root/postgres-root.ts); dbFile is
   * then unused. Unset: the SQLite file.
   */
  databaseUrl?: string;
  /** PostgreSQL: the pool's size per replica (default 10). */
  poolSize?: number;
  /** PostgreSQL: the fold's turn size and idle interval (PG_FOLD_DEFAULTS). */
  pgFold?: PgFoldOptions;
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
 * Builds every dependency once, on the engine the options choose: PostgreSQL when databaseUrl is given, else the
 * SQLite file. Async: the start-up chores (catalog apply, adopting experiments into the embedded systems, resuming a
 * simulated clock, the policy warnings) read and write through the async store.
 */
export function createContainer(opts: ContainerOptions & { databaseUrl?: undefined }): Promise<SqliteContainer>;
export function createContainer(opts: ContainerOptions): Promise<Container>;
export function createContainer(opts: ContainerOptions): Promise<Container> {
  const url = opts.databaseUrl;
  return url ? createPostgresContainer({ ...opts, databaseUrl: url }) : createSqliteContainer(opts);
}
