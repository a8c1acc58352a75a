import type { Logger } from '../../logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { PgEventLog } from '../../store/pg/pg-event-log.js';
import { PgFold } from '../../store/pg/pg-fold.js';
import type { ConfigRepos } from '../../store/sql/config-repos.js';
import type { Clock } from '../../systems/clock.js';
import { ExposureBuffer } from './exposure-buffer.js';
import type { ExposureWriter } from './exposure-writer.js';
import type { FoldStatus } from './fold-runner.js';
import { PgIngest } from './ingest-paths.js';
import { type PgFoldOptions, PgFoldRunner } from './pg-fold-runner.js';

/**
 * Served exposures written into the shared event log (`PgEventLog.appendServed`: 's:' keys, idempotent, one
 * transaction per batch), from the exposure buffer's flush — never on a request's turn. A failed write rejects and
 * the buffer queues the batch again.
 */
export function pgServedWriter(log: PgEventLog): ExposureWriter {
  return {
    kind: 'pool',
    maxInFlight: 1,
    write: async (batch, now) => {
      await log.appendServed(batch, now);
      return 'written';
    },
    settleSync: () => false, // an async pool cannot be waited for synchronously: readers use flush()
    close: () => undefined,
  };
}

/**
 * The event side of a replica on PostgreSQL, as the composition root will build it (ADR 0020, conversion part 3):
 * ingest (PgIngest), served exposures (the buffer writing into the log), the fold (PgFoldRunner: start it beside the
 * server) and MetricsService's hooks — `current` (the backlog as last measured) and `settle` (what was served
 * written, then everything acknowledged folded, by any replica).
 */
export function pgEventSide(o: {
  store: ConfigRepos;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  fold?: PgFoldOptions;
  exposureQueueMax?: number;
  /** Where served exposures go instead of the log (another gateway, or dropped by a system role); default the log. */
  writer?: ExposureWriter;
}) {
  const log = new PgEventLog(o.store.sql);
  const fold = new PgFoldRunner(new PgFold(o.store.sql), log, o.clock, o.logger, o.metrics, o.fold);
  const exposures = new ExposureBuffer(o.writer ?? pgServedWriter(log), o.logger, {
    clock: o.clock,
    metrics: o.metrics,
    ...(o.exposureQueueMax ? { maxQueued: o.exposureQueueMax } : {}),
  });
  return {
    log,
    fold,
    exposures,
    ingest: new PgIngest(o.store, log, fold),
    current: (): FoldStatus => fold.status(),
    settle: async (): Promise<FoldStatus> => {
      await exposures.flush();
      return await fold.catchUpAsync();
    },
  };
}
