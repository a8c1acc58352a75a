import type { Logger } from '../../logger.js';
import { servingConfigTracker } from '../../ops/metric-hooks.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Sql } from '../../store/sql/sql.js';
import type { ContentSyncStatus } from '../catalog/content-sync.js';
import type { ChangeEvent } from '../context.js';
import type { AssignmentIndex } from './assignment-index.js';
import { databaseProbe, type Readiness, readiness } from './readiness.js';
import type { RevisionSource } from '../../store/pg/revision-watcher.js';
import { RevisionChangeWatcher } from './revision-change-watcher.js';
import { type ServingSources, ServingSync } from './serving-sync.js';

export interface ReplicaServingOptions {
  /** The replica's pool. */
  sql: Sql;
  /** The database URL (LISTEN's own connection). */
  url: string;
  sources: ServingSources;
  index: AssignmentIndex;
  logger: Logger;
  emit(e: ChangeEvent): void;
  metrics?: Metrics;
}

/**
 * Serving for a gateway replica on PostgreSQL, wired as the composition root needs it: snapshots read through the
 * pool (never on a request), the revision followed by NOTIFY and a poll, the propagation SLI observed, and the
 * readiness /readyz reports (not ready until the first snapshot; behind past the bound; the database probed in the
 * background). Start it with `watcher.start(config.watchIntervalMs)` and await `watcher.started` before listening
 * if the process should not accept traffic before it can serve; local writes' `emit` should call `serving.recompile()`.
 */
export function replicaServing(o: ReplicaServingOptions): {
  serving: ServingSync;
  watcher: RevisionChangeWatcher;
  readiness(content?: ContentSyncStatus): Readiness;
} {
  const serving = new ServingSync(o.sources, o.index, o.logger, { sql: o.sql, observer: servingConfigTracker(o.metrics) });
  const m = o.metrics;
  const watcher = new RevisionChangeWatcher({
    url: o.url,
    sql: o.sql,
    serving,
    emit: o.emit,
    logger: o.logger,
    ...(m ? { onHeard: (via: RevisionSource) => m.configRevisionsHeard.inc({ via }) } : {}),
  });
  if (m) m.sources.configListening = () => watcher.listening;
  const database = databaseProbe(o.sql);
  return { serving, watcher, readiness: (content) => readiness(database, watcher, serving, content) };
}
