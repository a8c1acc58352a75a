import { prepared, type Db } from '../db.js';
import type { State } from '../tracked-metrics.js';
import { AGGREGATE_BUMP_SQL, aggregateValues, BIN_BUMP_SQL, snapshotSql, STATE_COLUMNS, STATE_UPSERT_SQL } from './aggregate-sql.js';
import type { AggregateDelta, BinDelta, Exposure, FoldIo, StoredProductEvent } from './fold-io.js';

/**
 * The pipeline's I/O as one SQLite statement per call, in the caller's transaction: the synchronous path (the
 * oracle of the fold's property tests, rebuilds). A fold turn uses a WorkingSet instead (working-set.ts).
 */
export class DirectIo implements FoldIo {
  constructor(private readonly db: Db) {}

  exposure(experimentId: string, unitId: string): Exposure | undefined {
    const r = prepared(this.db, 'SELECT variant, first_exposed_at AS ts FROM exposures WHERE experiment_id = ? AND unit_id = ?').get(experimentId, unitId) as
      | { variant: string; ts: string }
      | undefined;
    return r && { experimentId, variant: r.variant, ts: r.ts };
  }

  exposuresOf(unitId: string): Exposure[] {
    return prepared(this.db, 'SELECT experiment_id AS experimentId, variant, first_exposed_at AS ts FROM exposures WHERE unit_id = ?').all(
      unitId,
    ) as Exposure[];
  }

  putExposure(unitId: string, e: Exposure, isNew: boolean): void {
    if (isNew)
      prepared(this.db, 'INSERT INTO exposures (experiment_id, unit_id, variant, first_exposed_at) VALUES (?,?,?,?)').run(
        e.experimentId,
        unitId,
        e.variant,
        e.ts,
      );
    else prepared(this.db, 'UPDATE exposures SET first_exposed_at = ? WHERE experiment_id = ? AND unit_id = ?').run(e.ts, e.experimentId, unitId);
  }

  state(experimentId: string, unitId: string, metricId: string): State | undefined {
    return prepared(this.db, `SELECT ${STATE_COLUMNS} FROM unit_metric_state WHERE experiment_id = ? AND unit_id = ? AND metric_id = ?`).get(
      experimentId,
      unitId,
      metricId,
    ) as State | undefined;
  }

  putState(experimentId: string, unitId: string, metricId: string, s: State): void {
    prepared(this.db, STATE_UPSERT_SQL).run(experimentId, unitId, metricId, s.x, s.y, s.px, s.py, s.cx, s.cy, s.cpx, s.cpy);
  }

  addToState(experimentId: string, unitId: string, metricId: string, d: readonly number[]): State {
    // One statement: add to the state (created empty when absent) and read back the new totals.
    return prepared(
      this.db,
      `INSERT INTO unit_metric_state (experiment_id, unit_id, metric_id, ${STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,0,0,0,0)
       ON CONFLICT(experiment_id, unit_id, metric_id) DO UPDATE SET x = x + excluded.x, y = y + excluded.y, px = px + excluded.px, py = py + excluded.py
       RETURNING ${STATE_COLUMNS}`,
    ).get(experimentId, unitId, metricId, ...d) as State;
  }

  hasEvents(unitId: string): boolean {
    // Both tables are keyed by unit first: two index probes in one statement.
    return (
      (
        prepared(this.db, 'SELECT EXISTS(SELECT 1 FROM metric_events WHERE unit_id = ?) OR EXISTS(SELECT 1 FROM product_events WHERE unit_id = ?) AS has').get(
          unitId,
          unitId,
        ) as { has: number }
      ).has === 1
    );
  }

  insertMetricEvent(e: { eventId: string; metricId: string; unitId: string; value: number; ts: string }): boolean {
    return (
      prepared(this.db, 'INSERT OR IGNORE INTO metric_events (event_id, metric_id, unit_id, value, ts) VALUES (?,?,?,?,?)').run(
        e.eventId,
        e.metricId,
        e.unitId,
        e.value,
        e.ts,
      ).changes === 1
    );
  }

  insertProductEvent(e: { id: string; name: string; unitId: string; value: number; props: Record<string, unknown> | null; ts: string }): boolean {
    return (
      prepared(this.db, 'INSERT OR IGNORE INTO product_events (id, name, unit_id, value, props, ts) VALUES (?,?,?,?,?,?)').run(
        e.id,
        e.name,
        e.unitId,
        e.value,
        propsText(e.props),
        e.ts,
      ).changes === 1
    );
  }

  metricTotals(unitId: string, metricId: string, exposedAt: string): { post: number; pre: number } {
    return prepared(
      this.db,
      `SELECT COALESCE(SUM(CASE WHEN ts >= ? THEN value END), 0) AS post, COALESCE(SUM(CASE WHEN ts < ? THEN value END), 0) AS pre
       FROM metric_events WHERE unit_id = ? AND metric_id = ?`,
    ).get(exposedAt, exposedAt, unitId, metricId) as { post: number; pre: number };
  }

  metricPostValues(unitId: string, metricId: string, exposedAt: string): { sum: number; count: number } {
    return prepared(this.db, 'SELECT COALESCE(SUM(value), 0) AS sum, COUNT(*) AS count FROM metric_events WHERE unit_id = ? AND metric_id = ? AND ts >= ?').get(
      unitId,
      metricId,
      exposedAt,
    ) as { sum: number; count: number };
  }

  productEvents(unitId: string, name: string, from: string, to: string): StoredProductEvent[] {
    return prepared(this.db, 'SELECT value, props, ts FROM product_events WHERE unit_id = ? AND name = ? AND ts >= ? AND ts < ?').all(
      unitId,
      name,
      from,
      to,
    ) as StoredProductEvent[];
  }

  flushAggregates(deltas: readonly AggregateDelta[], bins: readonly BinDelta[], day: string, experimentIds: readonly string[]): void {
    flushAggregatesSqlite(this.db, deltas, bins, day, experimentIds);
  }
}

/** Aggregate deltas, bin deltas, then the day's snapshot per experiment: one prepared statement per row (SQLite). */
export function flushAggregatesSqlite(
  db: Db,
  deltas: readonly AggregateDelta[],
  bins: readonly BinDelta[],
  day: string,
  experimentIds: readonly string[],
): void {
  const bump = prepared(db, AGGREGATE_BUMP_SQL);
  for (const p of deltas) bump.run(...aggregateValues(p));
  const bin = prepared(db, BIN_BUMP_SQL);
  for (const b of bins) if (b.d !== 0) bin.run(b.experimentId, b.metricId, b.variant, b.bin, b.d);
  const snapshot = prepared(db, snapshotSql('experiment_id = ?'));
  for (const id of experimentIds) snapshot.run(day, id);
}

/** How a raw event's properties are stored: JSON, or null when there are none. */
export const propsText = (props: Record<string, unknown> | null) => (props && Object.keys(props).length ? JSON.stringify(props) : null);
