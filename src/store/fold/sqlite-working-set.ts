import { prepared, type Db } from '../db.js';
import { STATE_COLUMNS } from './aggregate-sql.js';
import { flushAggregatesSqlite } from './direct-io.js';
import type { ExposureRow, MetricEventRow, ProductEventRow, StateRow, WorkingSet } from './working-set.js';

/**
 * Loads a working set from SQLite: one prepared statement per unit or pair, run in a loop. In process a statement
 * costs microseconds, and these are the same index lookups a bulk `IN (json_each(?))` would make.
 */
export function loadSqlite(db: Db, ws: WorkingSet): void {
  const exposures = prepared(db, 'SELECT experiment_id AS experimentId, unit_id AS unitId, variant, first_exposed_at AS ts FROM exposures WHERE unit_id = ?');
  const ex: ExposureRow[] = [];
  for (const u of ws.units) for (const r of exposures.all(u) as ExposureRow[]) ex.push(r);
  ws.loadExposures(ex);
  const states = prepared(
    db,
    `SELECT experiment_id AS experimentId, unit_id AS unitId, metric_id AS metricId, ${STATE_COLUMNS} FROM unit_metric_state WHERE experiment_id = ? AND unit_id = ?`,
  );
  const st: StateRow[] = [];
  for (const [e, u] of ws.pairs()) for (const r of states.all(e, u) as StateRow[]) st.push(r);
  ws.loadStates(st);
  const metric = prepared(db, 'SELECT event_id AS eventId, metric_id AS metricId, unit_id AS unitId, value, ts FROM metric_events WHERE unit_id = ?');
  const raw = prepared(db, 'SELECT id, name, unit_id AS unitId, value, props, ts FROM product_events WHERE unit_id = ?');
  const me: MetricEventRow[] = [];
  const pe: ProductEventRow[] = [];
  for (const u of ws.eventUnits) {
    for (const r of metric.all(u) as MetricEventRow[]) me.push(r);
    for (const r of raw.all(u) as ProductEventRow[]) pe.push(r);
  }
  ws.loadMetricEvents(me);
  ws.loadProductEvents(pe);
}

/** Writes a working set's collected writes to SQLite, in the caller's transaction: one prepared statement per row, in key order. */
export function flushSqlite(db: Db, ws: WorkingSet): void {
  const w = ws.writes();
  const exposure = prepared(
    db,
    `INSERT INTO exposures (experiment_id, unit_id, variant, first_exposed_at) VALUES (?,?,?,?)
     ON CONFLICT(experiment_id, unit_id) DO UPDATE SET first_exposed_at = excluded.first_exposed_at`,
  );
  for (const e of w.exposures) exposure.run(e.experimentId, e.unitId, e.variant, e.ts);
  const state = prepared(
    db,
    `INSERT INTO unit_metric_state (experiment_id, unit_id, metric_id, ${STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)
     ON CONFLICT(experiment_id, unit_id, metric_id) DO UPDATE SET x = excluded.x, y = excluded.y, px = excluded.px, py = excluded.py,
       cx = excluded.cx, cy = excluded.cy, cpx = excluded.cpx, cpy = excluded.cpy`,
  );
  for (const s of w.states) state.run(s.experimentId, s.unitId, s.metricId, s.x, s.y, s.px, s.py, s.cx, s.cy, s.cpx, s.cpy);
  const metric = prepared(db, 'INSERT OR IGNORE INTO metric_events (event_id, metric_id, unit_id, value, ts) VALUES (?,?,?,?,?)');
  for (const e of w.metricEvents) metric.run(e.eventId, e.metricId, e.unitId, e.value, e.ts);
  const raw = prepared(db, 'INSERT OR IGNORE INTO product_events (id, name, unit_id, value, props, ts) VALUES (?,?,?,?,?,?)');
  for (const e of w.productEvents) raw.run(e.id, e.name, e.unitId, e.value, e.props, e.ts);
  if (w.day) flushAggregatesSqlite(db, w.deltas, w.bins, w.day, w.experimentIds);
}
