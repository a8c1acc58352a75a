import { AGGREGATE_COLUMNS, AGGREGATE_UPSERT, DELTA_LENGTH, snapshotSql, STATE_COLUMNS } from '../fold/aggregate-sql.js';
import type { ExposureRow, MetricEventRow, ProductEventRow, StateRow, WorkingSet, Writes } from '../fold/working-set.js';
import type { Sql } from '../sql/sql.js';
import { pgFloat8s, pgInt8s, pgTexts } from './pg-arrays.js';

/**
 * Loads a fold turn's working set from PostgreSQL in at most four round trips, whatever the turn's size: the units'
 * exposures (`= ANY`), the states of their (experiment, unit) pairs (a join on `unnest` of two arrays), and for
 * units exposed in the turn their metric and raw events. Runs inside the fold's transaction.
 */
export async function loadPg(tx: Sql, ws: WorkingSet, mark: (phase: string) => void = () => {}): Promise<void> {
  ws.loadExposures(
    await tx.all<ExposureRow>(
      'SELECT experiment_id AS "experimentId", unit_id AS "unitId", variant, first_exposed_at AS ts FROM exposures WHERE unit_id = ANY(?::text[])',
      [pgTexts(ws.units)],
    ),
  );
  mark('load exposures');
  const pairs = ws.pairs();
  ws.loadStates(
    pairs.length
      ? await tx.all<StateRow>(
          `SELECT s.experiment_id AS "experimentId", s.unit_id AS "unitId", s.metric_id AS "metricId", ${STATE_COLUMNS}
           FROM unnest(?::text[], ?::text[]) AS p(experiment_id, unit_id)
           JOIN unit_metric_state s ON s.experiment_id = p.experiment_id AND s.unit_id = p.unit_id`,
          [pgTexts(pairs.map((p) => p[0])), pgTexts(pairs.map((p) => p[1]))],
        )
      : [],
  );
  mark('load states');
  const units = pgTexts(ws.eventUnits);
  const some = ws.eventUnits.length > 0;
  ws.loadMetricEvents(
    some
      ? await tx.all<MetricEventRow>(
          `SELECT event_id AS "eventId", metric_id AS "metricId", unit_id AS "unitId", value, ts FROM metric_events
           WHERE unit_id = ANY(?::text[]) ORDER BY unit_id, metric_id, ts, event_id`,
          [units],
        )
      : [],
  );
  ws.loadProductEvents(
    some
      ? await tx.all<ProductEventRow>(
          'SELECT id, name, unit_id AS "unitId", value, props, ts FROM product_events WHERE unit_id = ANY(?::text[]) ORDER BY unit_id, name, ts, id',
          [units],
        )
      : [],
  );
}

/** Writes a turn's collected writes (WorkingSet.writes()): one multi-row statement per table (`INSERT … SELECT FROM unnest(…)`), in the fold's transaction. */
export async function flushPg(tx: Sql, w: Writes, mark: (phase: string) => void = () => {}): Promise<void> {
  // Every column bound as one array in binary form: text as UTF-8 bytes, doubles and counts as their 8 bytes.
  const col = <T>(rows: readonly T[], f: (r: T) => string | null) => pgTexts(rows.map(f));
  const num = <T>(rows: readonly T[], f: (r: T) => number) => pgFloat8s(rows.map(f));
  const int = <T>(rows: readonly T[], f: (r: T) => number) => pgInt8s(rows.map(f));
  if (w.exposures.length)
    await tx.run(
      `INSERT INTO exposures (experiment_id, unit_id, variant, first_exposed_at)
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[])
       ON CONFLICT (experiment_id, unit_id) DO UPDATE SET first_exposed_at = excluded.first_exposed_at`,
      [col(w.exposures, (e) => e.experimentId), col(w.exposures, (e) => e.unitId), col(w.exposures, (e) => e.variant), col(w.exposures, (e) => e.ts)],
    );
  mark('flush exposures');
  if (w.states.length) {
    const s = w.states;
    await tx.run(
      `INSERT INTO unit_metric_state (experiment_id, unit_id, metric_id, ${STATE_COLUMNS})
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::float8[], ?::float8[], ?::float8[], ?::float8[], ?::int8[], ?::int8[], ?::int8[], ?::int8[])
       ON CONFLICT (experiment_id, unit_id, metric_id) DO UPDATE SET x = excluded.x, y = excluded.y, px = excluded.px, py = excluded.py,
         cx = excluded.cx, cy = excluded.cy, cpx = excluded.cpx, cpy = excluded.cpy`,
      [
        col(s, (r) => r.experimentId),
        col(s, (r) => r.unitId),
        col(s, (r) => r.metricId),
        num(s, (r) => r.x),
        num(s, (r) => r.y),
        num(s, (r) => r.px),
        num(s, (r) => r.py),
        int(s, (r) => r.cx),
        int(s, (r) => r.cy),
        int(s, (r) => r.cpx),
        int(s, (r) => r.cpy),
      ],
    );
  }
  mark('flush states');
  if (w.metricEvents.length) {
    const m = w.metricEvents;
    await tx.run(
      `INSERT INTO metric_events (event_id, metric_id, unit_id, value, ts)
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::float8[], ?::text[]) ON CONFLICT DO NOTHING`,
      [col(m, (r) => r.eventId), col(m, (r) => r.metricId), col(m, (r) => r.unitId), num(m, (r) => r.value), col(m, (r) => r.ts)],
    );
  }
  mark('flush metric events');
  if (w.productEvents.length) {
    const p = w.productEvents;
    await tx.run(
      `INSERT INTO product_events (id, name, unit_id, value, props, ts)
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::float8[], ?::text[], ?::text[]) ON CONFLICT DO NOTHING`,
      [col(p, (r) => r.id), col(p, (r) => r.name), col(p, (r) => r.unitId), num(p, (r) => r.value), col(p, (r) => r.props), col(p, (r) => r.ts)],
    );
  }
  if (w.deltas.length) {
    const d = w.deltas;
    // Keys and updated_at as text[], shifts and every delta slot as float8[] (n cast back to bigint).
    const slots = Array.from({ length: 2 + DELTA_LENGTH }, (_, i) => num(d, (r) => (i < 2 ? r.shifts[i] : r.d[i - 2])));
    const names = AGGREGATE_COLUMNS.map((c) => (c === 'n' ? 'n::bigint' : c));
    await tx.run(
      `INSERT INTO metric_aggregates (${AGGREGATE_COLUMNS.join(', ')})
       SELECT ${names.join(', ')} FROM unnest(?::text[], ?::text[], ?::text[], ${slots.map(() => '?::float8[]').join(', ')}, ?::text[])
         AS u(${AGGREGATE_COLUMNS.join(', ')})
       ${AGGREGATE_UPSERT}`,
      [col(d, (r) => r.experimentId), col(d, (r) => r.variant), col(d, (r) => r.metricId), ...slots, col(d, (r) => r.at)],
    );
  }
  const bins = w.bins.filter((b) => b.d !== 0);
  if (bins.length)
    await tx.run(
      `INSERT INTO quantile_bins (experiment_id, metric_id, variant, bin, count)
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::int8[], ?::int8[])
       ON CONFLICT (experiment_id, metric_id, variant, bin) DO UPDATE SET count = quantile_bins.count + excluded.count`,
      [col(bins, (b) => b.experimentId), col(bins, (b) => b.metricId), col(bins, (b) => b.variant), int(bins, (b) => b.bin), int(bins, (b) => b.d)],
    );
  mark('flush aggregates');
  if (w.day && w.experimentIds.length) await tx.run(snapshotSql('experiment_id = ANY(?::text[])'), [w.day, pgTexts(w.experimentIds)]);
  mark('snapshot');
}
