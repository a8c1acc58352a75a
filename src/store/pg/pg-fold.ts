import type { FoldTurn } from '../event-fold.js';
import type { LoggedEntry } from '../event-log.js';
import { foldPlanned, planTurn, type TurnPlan } from '../fold/fold-apply.js';
import { type UnitMemo, WorkingSet, type Writes } from '../fold/working-set.js';
import { MetricPipeline } from '../metric-pipeline.js';
import type { Sql } from '../sql/sql.js';
import { flushPg, loadPg } from './pg-working-set.js';

export interface PgFoldOptions {
  /**
   * Prepare the next turn (read its entries, load its working set, compute it) on another pooled connection while
   * this one flushes and commits (default true). False: every turn reads, computes and writes in its own transaction.
   */
  readAhead?: boolean;
  /** Each phase of a turn and its milliseconds (bench/pg-fold-phases.ts). A read-ahead's phases overlap the turn's. */
  onPhase?: (phase: string, ms: number) => void;
  /** At most this many units remembered between turns (default 100,000; 0: every turn reads all its units). */
  memoUnits?: number;
}

/** A turn computed and not yet written: what it folds from, its entries, its writes. */
interface Prepared {
  /** The watermark it folds from: written only if the watermark is still there when it commits. */
  start: number;
  plan: TurnPlan;
  writes: Writes;
  dropped: number;
}

const NOTHING: FoldTurn = { folded: 0, dropped: 0, receivedAt: [] };

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
 *
 * Read-ahead (ADR 0020, "A faster PostgreSQL fold"): once a turn has computed its writes, the next turn is prepared
 * on another connection while this one flushes — its entries (the log past this turn's last seq, immutable), its
 * working set, then this turn's writes laid over what was loaded (some reads may predate this commit; only the fold
 * writes these tables, and only the rows this turn wrote can differ), then computed. The next turn() commits it only
 * if, under the row lock, the watermark is exactly where this turn left it: no other folder has written since, so the
 * prepared writes are what a turn reading now would compute. Otherwise it is dropped and the turn reads afresh.
 */
export class PgFold {
  private readonly pipeline = new MetricPipeline();
  private readonly readAhead: boolean;
  private readonly onPhase?: (phase: string, ms: number) => void;
  /** The next turn being prepared on another connection (never rejects: a failed read-ahead is just not used). */
  private ahead: Promise<Prepared | undefined> | undefined;
  /** Turns of this instance run one after another (they would queue on the row lock anyway; the read-ahead is shared). */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * What the latest turns computed of their units (most recent last), as the database holds them once the watermark is
   * at `memoAt`: only this instance folded since (ours are the only writes to these tables), so it is read from here.
   */
  private readonly memo = new Map<string, UnitMemo>();
  private memoAt = -1;
  /** Bumped whenever the memo is dropped: a read-ahead prepared from an older one must not write into it. */
  private memoGen = 0;
  private readonly memoUnits: number;

  constructor(
    private readonly sql: Sql,
    opts: PgFoldOptions = {},
  ) {
    if (sql.dialect !== 'postgres') throw new Error('PgFold runs on PostgreSQL; SQLite folds with EventFold');
    this.readAhead = opts.readAhead ?? true;
    this.onPhase = opts.onPhase;
    this.memoUnits = opts.memoUnits ?? 100_000;
  }

  /**
   * Folds up to `limit` entries in one transaction; folded 0 means the log is caught up. With `lockTimeoutMs`, the
   * turn waits at most that long for a lock (the watermark row, held by another replica's turn) and then fails as
   * StoreUnavailable (55P03), having changed nothing.
   */
  turn(limit = 50_000, opts: { lockTimeoutMs?: number } = {}): Promise<FoldTurn> {
    const run = this.queue.then(() => this.turnNow(limit, opts));
    this.queue = run.catch(() => undefined);
    return run;
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

  /** Resolves once no turn and no read-ahead of this instance is running (before its pool is ended). */
  async idle(): Promise<void> {
    await this.queue;
    await this.ahead;
  }

  private async turnNow(limit: number, opts: { lockTimeoutMs?: number }): Promise<FoldTurn> {
    const early = await this.ahead;
    this.ahead = undefined;
    let handOff!: (p: Prepared | undefined) => void;
    const computed = new Promise<Prepared | undefined>((resolve) => {
      handOff = resolve;
    });
    // Registered here, outside the transaction's context: the read-ahead runs on another pooled connection.
    const next = this.readAhead
      ? computed.then((p) => (p ? this.sql.tx((db) => this.prepare(db, lastSeq(p), limit, p.writes, 'ahead ')) : undefined)).catch(() => undefined)
      : undefined;
    let attempts = 0;
    try {
      const turn = await this.sql.tx(async (tx) => {
        attempts++;
        let t = performance.now();
        if (opts.lockTimeoutMs !== undefined) await tx.get("SELECT set_config('lock_timeout', ?, true)", [`${Math.max(1, Math.ceil(opts.lockTimeoutMs))}ms`]);
        const { s } = (await tx.get<{ s: number }>('SELECT folded_seq AS s FROM fold_state WHERE id = 1 FOR UPDATE'))!;
        this.onPhase?.('lock', performance.now() - t);
        let p = early && early.start === s && early.plan.batch.length <= limit ? early : undefined;
        if (!p) {
          // A prepared turn not committed leaves the memo holding its writes (and the watermark moved if another folded).
          if (early || this.memoAt !== s) this.forget();
          p = await this.prepare(tx, s, limit);
        }
        handOff(p);
        if (!p) return NOTHING;
        t = performance.now();
        await flushPg(tx, p.writes, this.mark('flush '));
        await tx.run('UPDATE fold_state SET folded_seq = ? WHERE id = 1', [lastSeq(p)]);
        this.onPhase?.('flush', performance.now() - t);
        return { folded: p.plan.batch.length, dropped: p.dropped, receivedAt: p.plan.batch.map((e) => Date.parse(e.receivedAt)) };
      });
      // A transaction run twice (a deadlock retried) may have committed other writes than the read-ahead was laid over.
      if (attempts === 1) this.ahead = next;
      else this.forget();
      return turn;
    } catch (err) {
      this.forget();
      throw err;
    } finally {
      handOff(undefined);
    }
  }

  /**
   * Reads the entries past `start`, loads their working set (laying `prev`, the writes of the turn that ends at
   * `start`, over it when that turn may not have committed yet) and computes the turn. Undefined: nothing to fold.
   */
  private async prepare(db: Sql, start: number, limit: number, prev?: Writes, tag = ''): Promise<Prepared | undefined> {
    const gen = this.memoGen;
    const mark = this.mark(tag);
    // In seq order through the primary key, whatever the statistics say: on a log not analysed yet the planner
    // guesses a third of it matches and sorts the whole backlog (on disk past work_mem) instead of reading the index.
    await db.exec('SET LOCAL enable_sort = off');
    const entries = await db.all<LoggedEntry>(
      `SELECT seq, id AS "key", type, unit_id AS "unitId", ref, variant, value, props, ts, received_at AS "receivedAt"
       FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?`,
      [start, limit],
    );
    await db.exec('SET LOCAL enable_sort = on');
    mark('read');
    if (!entries.length) return undefined;
    const plan = planTurn(entries);
    const ws = new WorkingSet(plan.batch, this.memoUnits && this.memoAt === start ? this.memo : undefined);
    mark('plan');
    await loadPg(db, ws, mark);
    if (prev) ws.carry(prev);
    await this.pipeline.tracked.preload(db, ws.experimentIds());
    const names = await sourceNames(db);
    mark('definitions');
    const dropped = this.pipeline.using(ws, () => foldPlanned(this.pipeline, plan, names));
    const writes = ws.writes();
    if (gen === this.memoGen) this.remember(ws, start, lastSeqOf(plan));
    mark('compute');
    return { start, plan, writes, dropped };
  }

  /** The memo once this turn commits: its units as it leaves them, the oldest units dropped past the bound. */
  private remember(ws: WorkingSet, start: number, end: number): void {
    if (!this.memoUnits) return;
    if (this.memoAt !== start) this.memo.clear();
    for (const [unit, m] of ws.memos()) {
      this.memo.delete(unit);
      this.memo.set(unit, m);
    }
    for (const unit of this.memo.keys()) {
      if (this.memo.size <= this.memoUnits) break;
      this.memo.delete(unit);
    }
    this.memoAt = end;
  }

  /** Drops the memo: the next turn reads every unit from the database. */
  private forget(): void {
    this.memo.clear();
    this.memoAt = -1;
    this.memoGen++;
  }

  /** A phase timer for onPhase: each call reports the time since the previous one. */
  private mark(tag: string): (phase: string) => void {
    const report = this.onPhase;
    if (!report) return () => {};
    let t = performance.now();
    return (phase) => {
      const now = performance.now();
      report(tag + phase, now - t);
      t = now;
    };
  }
}

const lastSeqOf = (plan: TurnPlan) => plan.batch[plan.batch.length - 1].seq;
const lastSeq = (p: Prepared) => lastSeqOf(p.plan);

/** The event names some metric's source uses now (read each turn: a catalog change applies from the next turn). */
async function sourceNames(tx: Sql): Promise<Set<string>> {
  const rows = await tx.all<{ name: string }>("SELECT doc::jsonb #>> '{source,event}' AS name FROM metrics WHERE doc::jsonb #>> '{source,event}' IS NOT NULL");
  return new Set(rows.map((r) => r.name));
}
