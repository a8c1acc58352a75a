import type { Experiment, Metric } from '../../domain/schemas.js';
import type { EventRepo } from '../../store/event-repo.js';
import type { LoggedEntry } from '../../store/event-log.js';
import type { ConfigRepos } from '../../store/sql/config-repos.js';
import { lockUnits } from '../../store/pg/event-log-lock.js';
import type { PgAppendResult, PgEventLog } from '../../store/pg/pg-event-log.js';
import { pgArray } from '../../store/pg/pg-arrays.js';
import type { Sql } from '../../store/sql/sql.js';
import type { SyncCatalogReads, SyncExperimentReads, WriteContext } from '../context.js';
import type { FoldRunner } from './fold-runner.js';
import type { PgBackPressure } from './pg-fold-runner.js';
import { type BatchReads, type Candidate, type IngestResult, validateBatch } from './ingest-batch.js';

/**
 * Where an ingest batch is validated and appended (ADR 0020, conversion part 3): the composition root picks one per
 * engine. Both return the same result shape and the same per-event errors (validateBatch); neither writes anything
 * for a batch whose every event is rejected.
 */
export interface IngestPath {
  ingest(events: readonly unknown[], now: string, ctx: WriteContext, pendingVariant: BatchReads['pendingVariant']): IngestResult | Promise<IngestResult>;
}

/** The audit row's `after` of a batch (what ingest answered, rejected as a count). */
const auditAfter = (received: number, r: IngestResult) => ({ received, ...r, rejected: r.rejected.length });

/**
 * SQLite: the synchronous EventLog path ingest always had — the batch validated and appended inside one synchronous
 * transaction on the log's file (its reads on the shared connection, no round trip), the audit row beside the
 * appends, then the fold told (back-pressure may fold before answering).
 */
export class SqliteIngest implements IngestPath {
  constructor(
    private readonly events: EventRepo,
    private readonly catalog: SyncCatalogReads,
    private readonly experiments: SyncExperimentReads,
    private readonly fold: FoldRunner,
  ) {}

  ingest(events: readonly unknown[], now: string, ctx: WriteContext, pendingVariant: BatchReads['pendingVariant']): IngestResult {
    const log = this.events.log;
    // Sticky-variant checks read the folded exposures and those acknowledged but not folded yet (never waiting for the fold).
    if (events.some((e) => (e as { type?: unknown })?.type === 'exposure')) log.refreshUnfolded();
    const metrics = new Map<string, Metric | undefined>();
    const reads: BatchReads = {
      experiment: (idOrKey) => this.experiments.get(idOrKey) ?? this.experiments.byKey(idOrKey),
      metric: (id) => {
        if (!metrics.has(id)) metrics.set(id, this.catalog.metric(id));
        return metrics.get(id);
      },
      sourceNames: () => new Set(this.catalog.metrics().flatMap((m) => (m.source ? [m.source.event] : []))),
      known: (what) => (what === 'metrics' ? this.catalog.ids('metrics') : this.experiments.list().flatMap((e) => [e.key, e.id])),
      storedVariant: (e, u) => this.events.exposureVariant(e, u) ?? log.unfoldedVariant(e, u),
      pendingVariant,
    };
    let result: IngestResult = { accepted: 0, duplicates: 0, unmatched: 0, rejected: [] };
    // What this batch appended, handed to the fold once committed (it need not read them back: EventLog.remember).
    const appended: LoggedEntry[] = [];
    log.transaction(() => {
      const { candidates, rejected } = validateBatch(events, now, reads);
      result = tally(candidates, rejected, (c) => log.append(c.entry, now, appended));
      // A batch that stored nothing (every event rejected) is bad input, and bad input writes nothing: no audit row either.
      // Its audit row sits in the log's file beside the appends (EventLog.recordBatch): an ack touches one file only.
      if (result.accepted || result.duplicates) log.recordBatch(ctx, ctx.requestId, auditAfter(events.length, result), now);
    });
    log.remember(appended);
    this.fold.afterAck(appended.length);
    return result;
  }
}

/**
 * PostgreSQL: room first — the fold's back-pressure (PgBackPressure.admit: past the backlog bound the request helps
 * fold, or is refused after a deadline with nothing written) — then what validation reads from the async store once
 * per batch (the experiments it names, by id or key; the metric definitions), then one transaction: the advisory locks
 * of the batch's (experiment, unit) exposure pairs (lockUnits), the units' variants as first seen read under them —
 * folded (`exposures`) or acknowledged by any replica and not folded yet (`event_log` past the watermark) — the same
 * validation, and the append (PgEventLog.append: the append lock, one INSERT … ON CONFLICT DO NOTHING, the audit row);
 * then, before answering, the back-pressure's second half (PgBackPressure.appended: past the bound, fold down to half).
 * Reading the variants under the units' locks makes contradicting first exposures on two replicas impossible: the
 * second waits for the first to commit, then sees it and rejects (VARIANT_MISMATCH), as SQLite's single writer does.
 */
export class PgIngest implements IngestPath {
  constructor(
    private readonly store: ConfigRepos,
    private readonly log: PgEventLog,
    /** The fold's back-pressure (PgFoldRunner); absent: none (tests of validation alone). */
    private readonly fold?: PgBackPressure,
  ) {}

  async ingest(events: readonly unknown[], now: string, ctx: WriteContext, pendingVariant: BatchReads['pendingVariant']): Promise<IngestResult> {
    await this.fold?.admit(events.length);
    const field = (raw: unknown, k: string) => {
      const v = (raw as Record<string, unknown> | null)?.[k];
      return typeof v === 'string' ? v : undefined;
    };
    const exposures = events.filter((e) => field(e, 'type') === 'exposure');
    const refs = [...new Set(exposures.flatMap((e) => field(e, 'experimentId') ?? []))];
    const found = new Map<string, Experiment | undefined>(
      await Promise.all(refs.map(async (r) => [r, (await this.store.experiments.get(r)) ?? (await this.store.experiments.byKey(r))] as const)),
    );
    const needsMetrics = events.some((e) => field(e, 'type') !== 'exposure');
    const metrics = needsMetrics ? await this.store.catalog.metrics() : [];
    const byId = new Map(metrics.map((m) => [m.id, m]));
    const pairs = exposures.flatMap((e) => {
      const exp = found.get(field(e, 'experimentId') ?? '');
      const unit = field(e, 'unitId');
      return exp && unit ? [[exp.id, unit] as const] : [];
    });
    // Served and not written yet, looked up before the log is read: an exposure written meanwhile is then in the log
    // (it committed before the query started), so no served exposure falls between the two.
    const pending = new Map(
      pairs.flatMap(([e, u]) => {
        const v = pendingVariant(e, u);
        return v ? [[`${e}\u0000${u}`, v] as const] : [];
      }),
    );
    // Suggestions for an unknown experiment compare it with every experiment: read only when one is unknown.
    const experimentIds = [...found.values()].includes(undefined) ? (await this.store.experiments.list()).flatMap((e) => [e.key, e.id]) : [];
    const reads = (stored: Map<string, string>): BatchReads => ({
      experiment: (idOrKey) => found.get(idOrKey),
      metric: (id) => byId.get(id),
      sourceNames: () => new Set(metrics.flatMap((m) => (m.source ? [m.source.event] : []))),
      known: (what) => (what === 'metrics' ? [...byId.keys()] : experimentIds),
      storedVariant: (e, u) => stored.get(`${e}\u0000${u}`),
      pendingVariant: (e, u) => pending.get(`${e}\u0000${u}`) ?? pendingVariant(e, u),
    });
    let outcome: ReturnType<typeof validateBatch> = { candidates: [], rejected: [] };
    let result: IngestResult | undefined;
    // Run again as a whole if the transaction is retried (a deadlock or serialization failure): nothing in it calls out.
    const { appended } = await this.log.append(
      async (tx) => {
        result = undefined;
        await lockUnits(tx, pairs);
        outcome = validateBatch(events, now, reads(await storedVariants(tx, pairs)));
        return outcome.candidates.map((c) => c.entry);
      },
      now,
      {
        ctx,
        requestId: ctx.requestId,
        after: (r: PgAppendResult) => {
          const fresh = new Set(r.appended.map((a) => a.key));
          // The first candidate with a key the insert stored is accepted; any other (stored before, or twice in the batch) a duplicate.
          result = tally(outcome.candidates, outcome.rejected, (c) => fresh.delete(c.entry.key));
          return auditAfter(events.length, result);
        },
      },
    );
    if (appended.length) await this.fold?.appended(appended[appended.length - 1].seq, now);
    // Nothing valid: nothing was written (the transaction only locked and read), no audit row either.
    return result ?? { accepted: 0, duplicates: 0, unmatched: 0, rejected: outcome.rejected };
  }
}

/** Counts a batch's outcome, appending each candidate in order (`append` answers whether it was new). */
function tally(candidates: readonly Candidate[], rejected: IngestResult['rejected'], append: (c: Candidate) => boolean): IngestResult {
  const result: IngestResult = { accepted: 0, duplicates: 0, unmatched: 0, rejected };
  for (const c of candidates) {
    if (!append(c)) {
      result.duplicates++;
      continue;
    }
    result.accepted++;
    if (!c.used) result.unmatched++;
  }
  return result;
}

/**
 * The variant each (experiment, unit) pair was first exposed to: the folded exposure, else the earliest exposure
 * acknowledged and not folded yet (seq past the watermark; appended by any replica). One query for the batch.
 */
async function storedVariants(sql: Sql, pairs: readonly (readonly [string, string])[]): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  if (!pairs.length) return seen;
  const e = pgArray(pairs.map((p) => p[0]));
  const u = pgArray(pairs.map((p) => p[1]));
  const rows = await sql.all<{ e: string; u: string; v: string }>(
    `SELECT e, u, v FROM (
       SELECT x.experiment_id AS e, x.unit_id AS u, x.variant AS v, 0 AS seq
       FROM exposures x JOIN unnest(?::text[], ?::text[]) AS p(e, u) ON x.experiment_id = p.e AND x.unit_id = p.u
       UNION ALL
       SELECT l.ref, l.unit_id, l.variant, l.seq
       FROM event_log l JOIN unnest(?::text[], ?::text[]) AS p(e, u) ON l.ref = p.e AND l.unit_id = p.u
       WHERE l.type = 'exposure' AND l.seq > (SELECT folded_seq FROM fold_state WHERE id = 1)
     ) s ORDER BY seq DESC`,
    [e, u, e, u],
  );
  // Newest first, so the earliest (the folded one first of all) is set last and wins.
  for (const r of rows) seen.set(`${r.e}\u0000${r.u}`, r.v);
  return seen;
}
