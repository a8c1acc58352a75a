import type { Db } from './db.js';
import type { MeanSummary } from '../domain/stats/index.js';

export interface ExposureRow {
  eventId: string;
  experimentId: string;
  unitId: string;
  variant: string;
  ts: string;
}
export interface MetricEventRow {
  eventId: string;
  metricId: string;
  unitId: string;
  value: number;
  ts: string;
}

/** Exposures and metric events. An event id is stored once; a second sighting is a no-op. */
export class EventRepo {
  constructor(private readonly db: Db) {}

  /** Returns false when the event id was already seen. */
  claimEventId(id: string, type: string, unitId: string, now: string): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO events (id, type, unit_id, received_at) VALUES (?,?,?,?)').run(id, type, unitId, now).changes === 1;
  }

  /** Keeps the earliest exposure per (experiment, unit): late and out-of-order exposures move it back in time. */
  addExposure(e: ExposureRow): void {
    this.db
      .prepare(
        `INSERT INTO exposures (experiment_id, unit_id, variant, first_exposed_at) VALUES (?,?,?,?)
         ON CONFLICT(experiment_id, unit_id) DO UPDATE SET first_exposed_at = MIN(first_exposed_at, excluded.first_exposed_at)`,
      )
      .run(e.experimentId, e.unitId, e.variant, e.ts);
  }

  exposureVariant(experimentId: string, unitId: string): string | undefined {
    const r = this.db.prepare('SELECT variant FROM exposures WHERE experiment_id = ? AND unit_id = ?').get(experimentId, unitId) as { variant: string } | undefined;
    return r?.variant;
  }

  addMetricEvent(e: MetricEventRow): void {
    this.db.prepare('INSERT INTO metric_events (event_id, metric_id, unit_id, value, ts) VALUES (?,?,?,?,?)').run(e.eventId, e.metricId, e.unitId, e.value, e.ts);
  }

  exposureCounts(experimentId: string): Map<string, number> {
    const rows = this.db.prepare('SELECT variant, COUNT(*) AS n FROM exposures WHERE experiment_id = ? GROUP BY variant').all(experimentId) as { variant: string; n: number }[];
    return new Map(rows.map((r) => [r.variant, r.n]));
  }

  /**
   * Per-variant sufficient statistics of a metric over exposed units. A unit's value is its total
   * since first exposure (mean/count metrics) or 1 if it had any positive event (binary). Units with
   * no event count as 0.
   */
  metricSummaries(experimentId: string, metricId: string, binary: boolean): Map<string, MeanSummary> {
    const unitValue = binary ? 'CASE WHEN COALESCE(SUM(m.value), 0) > 0 THEN 1.0 ELSE 0.0 END' : 'COALESCE(SUM(m.value), 0.0)';
    const rows = this.db
      .prepare(
        `SELECT variant, COUNT(*) AS n, SUM(v) AS s, SUM(v * v) AS ss FROM (
           SELECT x.variant AS variant, ${unitValue} AS v
           FROM exposures x LEFT JOIN metric_events m
             ON m.unit_id = x.unit_id AND m.metric_id = ? AND m.ts >= x.first_exposed_at
           WHERE x.experiment_id = ?
           GROUP BY x.unit_id, x.variant
         ) GROUP BY variant`,
      )
      .all(metricId, experimentId) as { variant: string; n: number; s: number; ss: number }[];
    return new Map(rows.map((r) => [r.variant, { n: r.n, sum: r.s ?? 0, sumSquares: r.ss ?? 0 }]));
  }

  lastEventAt(experimentId: string): string | null {
    const r = this.db.prepare('SELECT MAX(first_exposed_at) AS t FROM exposures WHERE experiment_id = ?').get(experimentId) as { t: string | null };
    return r.t;
  }
}
