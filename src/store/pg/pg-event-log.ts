import { AUDIT_INSERT, auditValues, type WriteContext } from '../audit-repo.js';
import { type Backlog, type LogEntry, servedEntry } from '../event-log.js';
import type { Sql } from '../sql/sql.js';
import { lockEventLogAppends } from './event-log-lock.js';
import { pgArray } from './pg-arrays.js';

/**
 * Where the fold stands against the log, from three index lookups (no count): the watermark, the last seq committed,
 * and when the first entry past the watermark was received. `last - folded` bounds the backlog from above: seqs drawn by
 * duplicates (`ON CONFLICT DO NOTHING` draws one per row) or by rolled-back appends leave gaps, which count until the
 * fold passes them.
 */
export interface LogPosition {
  folded: number;
  last: number;
  oldestReceivedAt: string | null;
}

/** What an append did: the keys stored now (the others were already in the log: duplicates), in the batch's order. */
export interface PgAppendResult {
  appended: { key: string; seq: number }[];
  duplicates: number;
}

/**
 * The event log on PostgreSQL (ADR 0018, ADR 0020 "The event log on PostgreSQL"): acknowledging a batch is one
 * transaction holding the append lock (seqs commit in seq order across replicas), one multi-row
 * `INSERT … SELECT FROM unnest(…) ON CONFLICT (id) DO NOTHING RETURNING` (idempotent by event id, within the batch
 * too), and the batch's audit row. Validation stays the ingest service's; this takes the entries it built.
 */
export class PgEventLog {
  constructor(private readonly sql: Sql) {}

  /**
   * Appends entries received at `receivedAt` in one transaction; with `audit`, the batch's audit row commits with
   * them (`after` may be computed from what the append stored: ingest's counts). `entries` may be a function run first
   * inside the transaction (ingest's locks, the reads under them and validation); it may run again if the transaction
   * is retried, and an empty answer writes nothing, not even the audit row.
   */
  async append(
    entries: readonly LogEntry[] | ((tx: Sql) => Promise<readonly LogEntry[]>),
    receivedAt: string,
    audit?: { ctx: WriteContext; requestId: string; after: unknown | ((r: PgAppendResult) => unknown) },
  ): Promise<PgAppendResult> {
    return await this.sql.tx(async (tx) => {
      const batch = typeof entries === 'function' ? await entries(tx) : entries;
      const appended = await appendIn(tx, batch, receivedAt);
      const result = { appended, duplicates: batch.length - appended.length };
      if (audit && batch.length) {
        const after = typeof audit.after === 'function' ? (audit.after as (r: PgAppendResult) => unknown)(result) : audit.after;
        await tx.run(AUDIT_INSERT, auditValues(audit.ctx, 'event-batch', audit.requestId, null, after, receivedAt));
      }
      return result;
    });
  }

  /** Served exposures ('s:' experiment|time|unit ids, as EventLog.appendServed), one transaction. */
  async appendServed(batch: readonly { experimentId: string; unitId: string; variant: string; ts: string }[], now: string): Promise<void> {
    await this.append(batch.map(servedEntry), now);
  }

  async foldedSeq(): Promise<number> {
    return (await this.sql.get<{ s: number }>('SELECT folded_seq AS s FROM fold_state WHERE id = 1'))!.s;
  }

  async lastSeq(): Promise<number> {
    return (await this.sql.get<{ last: number }>('SELECT COALESCE(MAX(seq), 0) AS last FROM event_log'))!.last;
  }

  /** The watermark, the last seq and the oldest unfolded entry's receipt (LogPosition): cheap enough to read per turn. */
  async position(): Promise<LogPosition> {
    return (await this.sql.get<LogPosition>(
      `SELECT f.folded_seq AS folded, COALESCE((SELECT MAX(seq) FROM event_log), 0) AS last,
         (SELECT received_at FROM event_log WHERE seq > f.folded_seq ORDER BY seq LIMIT 1) AS "oldestReceivedAt"
       FROM fold_state f WHERE f.id = 1`,
    ))!;
  }

  /** What is acknowledged and not folded: pending counts rows (seqs of rolled-back appends leave gaps on PostgreSQL). */
  async backlog(): Promise<Backlog> {
    const r = await this.sql.get<{ pending: number; oldest: string | null }>(
      `SELECT COUNT(*) AS pending, MIN(received_at) AS oldest FROM event_log WHERE seq > (SELECT folded_seq FROM fold_state WHERE id = 1)`,
    );
    return { pending: r!.pending, oldestReceivedAt: r!.oldest };
  }

  /** The audit rows of the ingest batch sent with this request id, newest first. */
  async batchAudit(requestId: string): Promise<{ at: string; actor: string; interface: string; after: unknown }[]> {
    const rows = await this.sql.all<{ at: string; actor: string; interface: string; after: string }>(
      "SELECT at, actor, interface, after FROM audit_log WHERE entity_type = 'event-batch' AND entity_id = ? ORDER BY id DESC",
      [requestId],
    );
    return rows.map((r) => ({ ...r, after: JSON.parse(r.after) as unknown }));
  }
}

/** The append inside the caller's transaction (so an ingest service can add its own statements to it). */
export async function appendIn(tx: Sql, entries: readonly LogEntry[], receivedAt: string): Promise<{ key: string; seq: number }[]> {
  if (!entries.length) return [];
  await lockEventLogAppends(tx);
  const col = <K extends keyof LogEntry>(k: K) => pgArray(entries.map((e) => e[k] as string | number | null));
  // WITH ORDINALITY … ORDER BY: the identity is drawn in the batch's order, so seq order is arrival order.
  const rows = await tx.all<{ key: string; seq: number }>(
    `INSERT INTO event_log (id, type, unit_id, ref, variant, value, props, ts, received_at)
     SELECT id, type, unit_id, ref, variant, value, props, ts, ?
     FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::float8[], ?::text[], ?::text[])
       WITH ORDINALITY AS u(id, type, unit_id, ref, variant, value, props, ts, ord)
     ORDER BY ord
     ON CONFLICT (id) DO NOTHING
     RETURNING id AS "key", seq`,
    [receivedAt, col('key'), col('type'), col('unitId'), col('ref'), col('variant'), col('value'), col('props'), col('ts')],
  );
  return rows.sort((a, b) => a.seq - b.seq);
}
