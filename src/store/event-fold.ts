import type { Db } from './db.js';
import type { EventRepo } from './event-repo.js';
import type { EventLog } from './event-log.js';
import { foldPlanned, planTurn } from './fold/fold-apply.js';
import { flushSqlite, loadSqlite } from './fold/sqlite-working-set.js';
import { WorkingSet } from './fold/working-set.js';

/** What one fold turn did. */
export interface FoldTurn {
  folded: number;
  /** Exposures the ack could not check against unfolded ones and that contradict the unit's stored variant: not folded. */
  dropped: number;
  /** When each folded event was received (ms since the epoch), for the ingest-lag histogram. */
  receivedAt: number[];
}

/**
 * Folds the event log into exposures, per-unit state, per-arm aggregates and daily snapshots (ADR 0018).
 *
 * A turn is one IMMEDIATE transaction: read the watermark, take the next entries in arrival order (never
 * across a UTC day of receipt, so a day's snapshot holds what was received that day, as when ingest folded
 * in place), sort them by unit (stable: a unit's own events keep their order), apply each through the rules of
 * fold-apply.ts, flush the aggregates once, advance the watermark. Two processes on one file therefore never fold
 * an entry twice: the second waits for the lock, then reads the moved watermark.
 *
 * The pipeline reads and writes through the turn's working set (ADR 0020, conversion step 5): the turn's units'
 * exposures, states and (for units exposed in the turn) stored events loaded first, the writes collected and
 * flushed at the end — with `workingSet: true`. That is the shape PgFold needs on PostgreSQL, where a round trip costs tens
 * of µs; on SQLite it measured slower than the per-statement path (ADR 0020, part 2: random units rarely repeat within a
 * turn, so loading first and writing back costs more statements than the per-event `UPDATE … RETURNING`), which stays
 * the default here. Both run the same rules (fold-apply.ts) and the same pipeline; only the FoldIo differs.
 */
export class EventFold {
  constructor(
    private readonly db: Db,
    private readonly log: EventLog,
    private readonly events: EventRepo,
    /** The event names some metric's source uses now (read once per turn). */
    private readonly sourceNames: () => Set<string>,
    private readonly opts: { workingSet?: boolean } = {},
  ) {}

  /** Folds up to `limit` entries; folded 0 means the log is caught up. */
  turn(limit: number): FoldTurn {
    // On the main thread the connection is shared with the async configuration transactions (ADR 0020): while one is
    // open between its statements, a turn here would become its savepoint. It waits for the next turn instead.
    if (this.db.inTransaction) return { folded: 0, dropped: 0, receivedAt: [] };
    return this.db
      .transaction((): FoldTurn => {
        const entries = this.log.after(this.log.foldedSeq(), limit);
        if (!entries.length) return { folded: 0, dropped: 0, receivedAt: [] };
        const plan = planTurn(entries);
        const names = this.sourceNames();
        const pipeline = this.events.pipeline;
        let dropped: number;
        if (!this.opts.workingSet) dropped = foldPlanned(pipeline, plan, names);
        else {
          const ws = new WorkingSet(plan.batch);
          loadSqlite(this.db, ws);
          dropped = pipeline.using(ws, () => foldPlanned(pipeline, plan, names));
          flushSqlite(this.db, ws);
        }
        this.log.markFolded(plan.batch[plan.batch.length - 1].seq);
        return { folded: plan.batch.length, dropped, receivedAt: plan.batch.map((e) => Date.parse(e.receivedAt)) };
      })
      .immediate();
  }
}
