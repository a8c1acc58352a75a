import type { Db } from '../store/db.js';
import type { CatalogRepo } from '../store/catalog-repo.js';
import type { ExperimentRepo } from '../store/experiment-repo.js';
import type { ConfigRepos } from '../store/sql/config-repos.js';
import type { Sql } from '../store/sql/sql.js';
import type { EventRepo } from '../store/event-repo.js';
import type { Policy } from '../domain/policy.js';
import type { Experiment } from '../domain/schemas.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../systems/clock.js';
import type { Metrics } from '../ops/metrics.js';
import type { ContentSyncStatus } from './catalog/content-sync.js';

export type { Clock };

import { randomUUID } from 'node:crypto';
import type { WriteContext } from '../store/audit-repo.js';

export type { WriteContext };

/** Writes that no caller attributed (library use) are still audited, as the system. */
export const systemWrite = (operation: string): WriteContext => ({ actor: 'system', interface: 'system', operation, requestId: randomUUID() });

/**
 * What changed, so resource subscribers and caches can react. `content`: a sync from content delivery changed
 * the content catalog; `catalog`: a catalog change was applied (a new catalog version).
 */
export type ChangeEvent = { kind: 'experiment'; id: string; surfaceId: string } | { kind: 'content' } | { kind: 'catalog'; version: number };

/**
 * Called inside the transaction of every status write (deploy, stop, pause) when the systems are
 * embedded: the deploy saga records the operation and the systems' state in that same transaction
 * (through `tx`, the transaction's repositories).
 */
export interface CommitHooks {
  onCommitted?: (
    tx: ConfigRepos,
    kind: 'deploy' | 'stop' | 'pause' | 'ship' | 'revert',
    before: Experiment,
    after: Experiment,
    idempotencyKey: string | null,
    /** ship: the variant made the surface's default, and when; revert: the ship being undone. */
    ship?: { variant: string; at: string } | null,
  ) => Promise<void>;
}

/** The platform's own SLOs acting on rollouts (src/ops/slo): a reason while a serving SLO burns fast, else null. */
export interface SloGate {
  holdReason(): string | null;
  /** Audits the hold once per burn episode (through the async store). */
  rampHold(experimentId: string): Promise<string | null>;
  approvalReason(firstStage: number, fromPercent: number, toPercent: number): string | null;
}

/**
 * The content catalog's link to a remote content delivery (src/app/catalog/content-sync.ts), set by the
 * composition root when content delivery is remote.
 */
export interface ContentSyncGate {
  /** Items content delivery no longer lists, kept for the experiments using them: id → since (ISO). Validation refuses them. */
  missingUpstream(): ReadonlyMap<string, string>;
  /** Syncs first when the last attempt is older than the sync interval; never throws. */
  freshen(): Promise<void>;
  /** Where the catalog comes from, how fresh it is, what is kept though missing upstream. */
  status(): ContentSyncStatus;
}

/** The synchronous catalog reads the event side and serving still make (AppDeps.catalog). */
export type SyncCatalogReads = Pick<CatalogRepo, 'metric' | 'metrics' | 'ids' | 'surfaces'>;
/** The synchronous experiment reads the event side still makes (AppDeps.experiments). */
export type SyncExperimentReads = Pick<ExperimentRepo, 'get' | 'byKey' | 'list'>;

/** Everything a use case needs, built once in the composition root: the same on either engine (ADR 0020). */
export interface AppDeps {
  /** The configuration store's async seam: every config write is `sql.tx(async (tx) => …)` over `configRepos(tx)`. */
  sql: Sql;
  /** The config repositories bound to `sql`, for reads outside a transaction. */
  store: ConfigRepos;
  policy: Policy;
  clock: Clock;
  newId: (prefix: string) => string;
  logger: Logger;
  emit: (e: ChangeEvent) => void;
  commits: CommitHooks;
  /** Prometheus metrics (src/ops/metrics.ts); absent with SEALAB_METRICS=off. */
  opsMetrics?: Metrics;
  /** Set by the composition root when SLOs are evaluated (issue 13: the error budget acts). */
  slo?: SloGate;
  /**
   * Where content items come from: 'remote' when a remote content delivery owns them (SEALAB_CONTENT_URL),
   * so the content catalog is synced from it and must not be written here (catalog files refuse `content:`).
   */
  contentDelivery: 'embedded' | 'remote';
  /** Set with a remote content delivery: the sync's state, for validation and deploy. */
  contentSync?: ContentSyncGate;
}

/**
 * A single-file SQLite process's deps: AppDeps plus the synchronous connection its event side and serving still use
 * (ADR 0020). No use case reads these; the SQLite composition root (src/root/sqlite-root.ts), its event side and
 * tests that look inside the file do. A PostgreSQL replica has none of them.
 */
export interface SqliteDeps extends AppDeps {
  /** The SQLite connection; `sql` wraps the same connection, so synchronous writers run through `exclusive`. */
  db: Db;
  /** Runs synchronous writes on `db` once no async transaction holds the connection (SqliteSql.exclusive). */
  exclusive<T>(fn: () => T): Promise<T>;
  /**
   * Synchronous reads on the shared connection, deliberately narrow: SQLite's ingest path (SqliteIngest's per-request
   * checks), the fold's event names and serving's surfaces (ServingSync's recompile).
   */
  catalog: SyncCatalogReads;
  experiments: SyncExperimentReads;
  events: EventRepo;
}
