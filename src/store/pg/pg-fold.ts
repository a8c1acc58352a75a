import type { FoldTurn } from '../event-fold.js';
import type { LoggedEntry } from '../event-log.js';
import { foldPlanned, planTurn } from '../fold/fold-apply.js';
import { WorkingSet } from '../fold/working-set.js';
import { MetricPipeline } from '../metric-pipeline.js';
import type { Sql } from '../sql/sql.js';
import { flushPg, loadPg } from './pg-working-set.js';

/**
 * The fold on PostgreSQL (ADR 0018's fold, ADR 0020 conversion step 5): the same turn as EventFold — entries past
 * the watermark in seq order, cut at a UTC day of receipt, sorted by unit, applied by the rules of fold-apply.ts
 * through the same MetricPipeline, aggregates flushed once, watermark advanced in the same transaction — with the
 * turn's working set loaded and written in bulk (pg-working-set.ts): about a dozen round trips per turn, whatever
 * its size.
 *
 * One folder at a time across replicas: a turn locks the watermark row (`SELECT … FOR UPDATE`) first, so a second
 * replica's turn waits for the first to commit and then reads the moved watermark (READ COMMITTED re-reads a locked
 * row's newest version). Appends commit in seq order (lockEventLogAppends), so no entry is passed over.
 */
export class PgFold {
  private readonly pipeline = new MetricPipeline();

  constructor(private readonly sql: Sql) {
    if (sql.dialect !== 'postgres') throw new Error('PgFold runs on PostgreSQL; SQLite folds with EventFold');
  }

  /**
   * Folds up to `limit` entries in one transaction; folded 0 means the log is caught up. With `lockTimeoutMs`, the
   * turn waits at most that long for a lock (the watermark row, held by another replica's turn) and then fails as
   * StoreUnavailable (55P03), having changed nothing.
   */
  async turn(limit = 50_000, opts: { lockTimeoutMs?: number } = {}): Promise<FoldTurn> {
    return await this.sql.tx(async (tx) => {
      if (opts.lockTimeoutMs !== undefined) await tx.get("SELECT set_config('lock_timeout', ?, true)", [`${Math.max(1, Math.ceil(opts.lockTimeoutMs))}ms`]);
      const { s } = (await tx.get<{ s: number }>('SELECT folded_seq AS s FROM fold_state WHERE id = 1 FOR UPDATE'))!;
      const entries = await tx.all<LoggedEntry>(
        `SELECT seq, id AS "key", type, unit_id AS "unitId", ref, variant, value, props, ts, received_at AS "receivedAt"
         FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?`,
        [s, limit],
      );
      if (!entries.length) return { folded: 0, dropped: 0, receivedAt: [] };
      const plan = planTurn(entries);
      const ws = new WorkingSet(plan.batch);
      await loadPg(tx, ws);
      await this.pipeline.tracked.preload(tx, ws.experimentIds());
      const names = await sourceNames(tx);
      const dropped = this.pipeline.using(ws, () => foldPlanned(this.pipeline, plan, names));
      await flushPg(tx, ws);
      await tx.run('UPDATE fold_state SET folded_seq = ? WHERE id = 1', [plan.batch[plan.batch.length - 1].seq]);
      return { folded: plan.batch.length, dropped, receivedAt: plan.batch.map((e) => Date.parse(e.receivedAt)) };
    });
  }

  /** Folds until the log is caught up (as of each turn); returns how many entries were folded. */
  async catchUp(limit = 50_000): Promise<number> {
    let total = 0;
    for (;;) {
      const t = await this.turn(limit);
      if (!t.folded) return total;
      total += t.folded;
    }
  }
}

/** The event names some metric's source uses now (read each turn: a catalog change applies from the next turn). */
async function sourceNames(tx: Sql): Promise<Set<string>> {
  const rows = await tx.all<{ name: string }>("SELECT doc::jsonb #>> '{source,event}' AS name FROM metrics WHERE doc::jsonb #>> '{source,event}' IS NOT NULL");
  return new Set(rows.map((r) => r.name));
}
