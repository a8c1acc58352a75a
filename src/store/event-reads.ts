import { AGG_COLUMNS, type AggregateRow, type ArmAggregate, armOf } from './event-repo.js';
import { SKETCH_READ_SQL, sketchesOf } from './quantile-sketch-store.js';
import type { SketchBins } from '../domain/quantile-sketch.js';
import type { Sql } from './sql/sql.js';

/**
 * The reads get_metrics makes, over the async store (EventRepo's read methods, the same SQL): per-arm aggregates,
 * the daily look history, quantile histograms, exposure counts and the data's freshness. Each is one statement of
 * constant cost (rows per arm or per bin, never per event). Both engines: on PostgreSQL the event log and fold
 * live in the one database; on SQLite the aggregates live in the main database, which deps.sql wraps.
 */
export class EventReads {
  constructor(private readonly sql: Sql) {}

  async aggregates(experimentId: string, metricId: string): Promise<ArmAggregate[]> {
    const rows = await this.sql.all<AggregateRow>(`SELECT ${AGG_COLUMNS} FROM metric_aggregates WHERE experiment_id = ? AND metric_id = ? ORDER BY variant`, [
      experimentId,
      metricId,
    ]);
    return rows.map(armOf);
  }

  async dailyAggregates(experimentId: string, metricId: string): Promise<(ArmAggregate & { day: string })[]> {
    const rows = await this.sql.all<AggregateRow & { day: string }>(
      `SELECT day, ${AGG_COLUMNS} FROM metric_daily WHERE experiment_id = ? AND metric_id = ? ORDER BY day, variant`,
      [experimentId, metricId],
    );
    return rows.map(armOf);
  }

  async sketches(experimentId: string, metricId: string): Promise<Map<string, SketchBins>> {
    return sketchesOf(await this.sql.all<{ variant: string; bin: number; count: number }>(SKETCH_READ_SQL, [experimentId, metricId]));
  }

  /** Exposed units per variant (every exposed unit has a state for every analysed metric: n of the aggregates). */
  async exposureCounts(experimentId: string): Promise<Map<string, number>> {
    const rows = await this.sql.all<{ variant: string; n: number }>(
      'SELECT variant, MAX(n) AS n FROM metric_aggregates WHERE experiment_id = ? GROUP BY variant ORDER BY variant',
      [experimentId],
    );
    return new Map(rows.map((r) => [r.variant, r.n]));
  }

  async lastUpdatedAt(experimentId: string): Promise<string | null> {
    const r = await this.sql.get<{ t: string | null }>('SELECT MAX(updated_at) AS t FROM metric_aggregates WHERE experiment_id = ?', [experimentId]);
    return r?.t ?? null;
  }
}
