import { prepared, type Db } from './db.js';
import { AUDIT_INSERT, auditValues, type WriteContext } from './audit-repo.js';
import { StoreUnavailable } from './sql/sql-errors.js';

/** How many committed appends the log remembers for a fold on this thread (EventLog.remember). */
export const TAIL_MAX = 120_000;

/** How an entry is folded: an exposure (sent or served), a pre-computed metric value, a raw product event. */
export type LogType = 'exposure' | 'metric' | 'event';

/**
 * One acknowledged event as the log keeps it. `key` is its id in the log's namespaces ('x:' exposures,
 * 'm:' metric events, 'e:' raw events, 's:' exposures served by sealab); `ref` the experiment id,
 * metric id or event name; `props` the raw event's properties as JSON.
 */
export interface LogEntry {
  key: string;
  type: LogType;
  unitId: string;
  ref: string;
  variant: string | null;
  value: number | null;
  props: string | null;
  ts: string;
}

export interface LoggedEntry extends LogEntry {
  seq: number;
  receivedAt: string;
}

/** What is acknowledged but not folded yet. */
export interface Backlog {
  pending: number;
  /** When the oldest unfolded event was received (null: nothing pending). */
  oldestReceivedAt: string | null;
}

/** A served exposure as the log keeps it: id 's:' experiment|time|unit, so the same sighting twice is one entry (both engines). */
export function servedEntry(p: { experimentId: string; unitId: string; variant: string; ts: string }): LogEntry {
  return {
    key: `s:${p.experimentId}|${p.ts}|${p.unitId}`,
    type: 'exposure',
    unitId: p.unitId,
    ref: p.experimentId,
    variant: p.variant,
    value: null,
    props: null,
    ts: p.ts,
  };
}

/**
 * The append-only event log (ADR 0018): acknowledging an event is one insert here, by id, in the
 * caller's transaction; folding it into exposures, per-unit state and aggregates happens later
 * (EventFold), past the watermark in fold_state.
 */
export class EventLog {
  /**
   * Entries this process appended and saw committed (remember()), in seq order: what the fold reads instead of
   * reading them back from the table, as long as they follow the watermark without a gap. Entries appended by
   * another connection (the served-exposure writer's thread, another process) leave gaps, read from the table.
   */
  private tail: LoggedEntry[] = [];
  private tailStart = 0;
  /**
   * Exposures acknowledged but maybe not folded yet, (experiment, unit) → the earliest one's variant and seq: what
   * the sticky-variant check reads besides the folded exposures, so an ack never waits for the fold. Fed by
   * remember() and by scanning what other connections appended (scanned up to `scannedSeq`); entries at or below
   * the watermark are pruned (the exposures table has them then).
   */
  private readonly unfolded = new Map<string, { variant: string; seq: number }>();
  private scannedSeq = 0;
  private prunedAt = 0;

  constructor(
    /** Where the log is: its own file (log-db.ts), or the database itself for `:memory:`. */
    private readonly db: Db,
    /**
     * At most this many remembered entries; past it the oldest are forgotten (and read from the table). 0 when the
     * fold runs on another thread, which reads the table: only the unfolded exposures are remembered then.
     */
    private tailMax = TAIL_MAX,
    /** The database, which holds the fold's watermark (fold_state) beside what the fold writes. */
    private readonly main: Db = db,
  ) {}

  /**
   * Returns false (and stores nothing) when the id was already acknowledged. With `appended`, a stored entry is
   * also pushed there with its seq: pass the list to remember() once the caller's transaction has committed.
   */
  append(e: LogEntry, receivedAt: string, appended?: LoggedEntry[]): boolean {
    const r = prepared(
      this.db,
      'INSERT OR IGNORE INTO event_log (id, type, unit_id, ref, variant, value, props, ts, received_at) VALUES (?,?,?,?,?,?,?,?,?)',
    ).run(e.key, e.type, e.unitId, e.ref, e.variant, e.value, e.props, e.ts, receivedAt);
    if (r.changes !== 1) return false;
    // While the fold runs on its own thread only exposures are remembered (the sticky-variant check): no entry to build.
    if (this.tailMax === 0 && e.type !== 'exposure') return true;
    // One literal shape for every remembered entry (a spread here gave the heap a hidden class per entry).
    appended?.push({
      key: e.key,
      type: e.type,
      unitId: e.unitId,
      ref: e.ref,
      variant: e.variant,
      value: e.value,
      props: e.props,
      ts: e.ts,
      seq: Number(r.lastInsertRowid),
      receivedAt,
    });
    return true;
  }

  /**
   * Records exposures served by this process (assignment, layout, OFREP) in one IMMEDIATE transaction: the one call
   * the serving side's exposure writer makes, whatever thread it runs on. Each is one append (id 's:' experiment,
   * time, unit: the same sighting twice is one), folded like any other.
   */
  appendServed(batch: readonly { experimentId: string; unitId: string; variant: string; ts: string }[], now: string): void {
    this.transaction(() => {
      for (const p of batch) this.append(servedEntry(p), now);
    });
  }

  /**
   * How many committed appends to remember from now on: 0 while the fold runs on its own thread (it reads the table;
   * remembering would only hold memory), the default again when this thread folds.
   */
  rememberAtMost(max: number): void {
    this.tailMax = max;
    if (max === 0) {
      this.tail = [];
      this.tailStart = 0;
    }
  }

  /** Entries held in memory, the consumed ones not yet released included (what the bound and the release keep small). */
  get held(): number {
    return this.tail.length;
  }

  /** Keeps committed appends in memory for the fold (never call it for a transaction that rolled back). */
  remember(committed: readonly LoggedEntry[]): void {
    const last = this.tail.length ? this.tail[this.tail.length - 1].seq : 0;
    for (const e of committed) {
      if (e.seq > last && this.tailMax > 0) this.tail.push(e);
      if (e.type === 'exposure') this.noteExposure(e.ref, e.unitId, e.variant!, e.seq);
    }
    const live = this.tail.length - this.tailStart;
    if (live > this.tailMax) this.tailStart += live - this.tailMax;
    if (this.tailStart > 1_024 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  /**
   * The variant of the earliest exposure of (experiment, unit) acknowledged past the watermark — by this process or
   * any other connection — or undefined. Call refreshUnfolded() once before a run of these (an ingest batch).
   */
  unfoldedVariant(experimentId: string, unitId: string): string | undefined {
    return this.unfolded.get(`${experimentId}\u0000${unitId}`)?.variant;
  }

  /**
   * Brings unfoldedVariant() up to date: scans the exposures appended since the last scan (reads each log row once
   * over the log's life, returning only exposures) and forgets those the fold has passed.
   */
  refreshUnfolded(): void {
    const folded = this.foldedSeq();
    if (this.scannedSeq < folded) this.scannedSeq = folded; // what is folded is in the exposures table
    // Up to the newest seq read first: a row appended meanwhile is past it and read next time (seqs commit in order).
    const { last } = prepared(this.db, 'SELECT COALESCE(MAX(seq), 0) AS last FROM event_log').get() as { last: number };
    if (last > this.scannedSeq) {
      const rows = prepared(this.db, "SELECT seq, unit_id AS unitId, ref, variant FROM event_log WHERE seq > ? AND seq <= ? AND type = 'exposure'").all(
        this.scannedSeq,
        last,
      ) as { seq: number; unitId: string; ref: string; variant: string }[];
      for (const r of rows) this.noteExposure(r.ref, r.unitId, r.variant, r.seq);
      this.scannedSeq = last;
    }
    if (folded > this.prunedAt) {
      for (const [k, v] of this.unfolded) if (v.seq <= folded) this.unfolded.delete(k);
      this.prunedAt = folded;
    }
  }

  private noteExposure(experimentId: string, unitId: string, variant: string, seq: number): void {
    const key = `${experimentId}\u0000${unitId}`;
    const seen = this.unfolded.get(key);
    if (!seen || seq < seen.seq) this.unfolded.set(key, { variant, seq });
  }

  foldedSeq(): number {
    return (prepared(this.main, 'SELECT folded_seq AS s FROM fold_state WHERE id = 1').get() as { s: number }).s;
  }

  /** The newest seq appended (by any connection), 0 for an empty log. */
  lastSeq(): number {
    return (prepared(this.db, 'SELECT COALESCE(MAX(seq), 0) AS last FROM event_log').get() as { last: number }).last;
  }

  /** Runs fn in one IMMEDIATE transaction on the log's file: an ack's appends and its audit row commit together. */
  transaction<T>(fn: () => T): T {
    // A `:memory:` database's log shares the connection the async configuration transactions use (ADR 0020): while
    // one is open between its statements, an ack would become its savepoint. Refused as a retryable 503 instead.
    if (this.db.inTransaction) throw new StoreUnavailable(new Error('the connection is in another transaction'));
    return this.db.transaction(fn).immediate();
  }

  /**
   * The audit row of an ingest batch (entity type 'event-batch'), in the log's file beside the batch's appends:
   * call inside transaction(). The database's audit_log keeps every other write; batches are data, not configuration.
   */
  recordBatch(ctx: WriteContext, requestId: string, after: unknown, at: string): void {
    prepared(this.db, AUDIT_INSERT).run(...auditValues(ctx, 'event-batch', requestId, null, after, at));
  }

  /** The audit rows of the ingest batch sent with this request id, newest first. */
  batchAudit(requestId: string): { at: string; actor: string; interface: string; after: unknown }[] {
    const rows = prepared(
      this.db,
      "SELECT at, actor, interface, after FROM audit_log WHERE entity_type = 'event-batch' AND entity_id = ? ORDER BY id DESC",
    ).all(requestId) as { at: string; actor: string; interface: string; after: string }[];
    return rows.map((r) => ({ ...r, after: JSON.parse(r.after) as unknown }));
  }

  /**
   * Entries past `after`, in arrival order (at most `limit`): from memory while the remembered entries follow
   * `after` without a gap, else from the table up to the next remembered one (the entries are the same either way).
   */
  after(after: number, limit: number): LoggedEntry[] {
    while (this.tailStart < this.tail.length && this.tail[this.tailStart].seq <= after) this.tailStart++;
    // Entries behind the reader are released at once when nothing is left, else once they are most of the array
    // (a soak showed 39 MB of consumed entries held until a compaction threshold of 65,536).
    if (this.tailStart === this.tail.length) {
      if (this.tail.length) this.tail = [];
      this.tailStart = 0;
    } else if (this.tailStart > 1_024 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
    const first = this.tailStart < this.tail.length ? this.tail[this.tailStart].seq : undefined;
    if (first === after + 1) {
      let end = this.tailStart + 1;
      const max = Math.min(this.tail.length, this.tailStart + limit);
      while (end < max && this.tail[end].seq === this.tail[end - 1].seq + 1) end++;
      return this.tail.slice(this.tailStart, end);
    }
    return prepared(
      this.db,
      `SELECT seq, id AS key, type, unit_id AS unitId, ref, variant, value, props, ts, received_at AS receivedAt
       FROM event_log WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?`,
    ).all(after, first ?? Number.MAX_SAFE_INTEGER, limit) as LoggedEntry[];
  }

  /** Moves the watermark; call inside the fold's transaction. */
  markFolded(seq: number): void {
    prepared(this.main, 'UPDATE fold_state SET folded_seq = ? WHERE id = 1').run(seq);
  }

  /** Constant cost: the newest seq and the first one past the watermark are both rowid lookups. */
  backlog(): Backlog {
    const folded = this.foldedSeq();
    const last = this.lastSeq();
    if (last <= folded) return { pending: 0, oldestReceivedAt: null };
    const oldest = prepared(this.db, 'SELECT received_at AS at FROM event_log WHERE seq > ? ORDER BY seq LIMIT 1').get(folded) as { at: string };
    return { pending: last - folded, oldestReceivedAt: oldest.at };
  }
}
