import { prepared, type Db } from './db.js';
import { MetricPipeline } from './metric-pipeline.js';
import { EventLog } from './event-log.js';
import { applyExposure, applyMetricEvent, applyProductEvent } from './fold/fold-apply.js';
import type { ArmStats, RatioPreSums } from '../domain/analysis/compare-arms.js';
import type { SketchBins } from '../domain/quantile-sketch.js';
import type { EventProperties } from '../domain/metric-source.js';

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

export interface ProductEventRow {
  id: string;
  name: string;
  unitId: string;
  value: number;
  props: EventProperties | null;
  ts: string;
}

/** Per (experiment, variant, metric): n and the sums the statistics need (see MetricPipeline). */
export type ArmAggregate = ArmStats & { variant: string };

/** An arm's columns as ArmAggregate's fields (aliases quoted: PostgreSQL folds unquoted ones to lower case). */
export const AGG_COLUMNS = `variant, n, sum_x AS "sumX", sum_x2 AS "sumX2", sum_y AS "sumY", sum_y2 AS "sumY2", sum_xy AS "sumXY",
  shift_x AS "shiftX", shift_y AS "shiftY", sum_dx + sum_dx_lo AS "sumDX", sum_dx2 + sum_dx2_lo AS "sumDX2", sum_dy + sum_dy_lo AS "sumDY",
  sum_dy2 + sum_dy2_lo AS "sumDY2", sum_dxdy + sum_dxdy_lo AS "sumDXDY",
  sum_px AS "preNumSum", sum_px2 AS "preNumSumSquares", sum_py AS "preDenSum", sum_py2 AS "preDenSumSquares", sum_x_px AS "numPreNumSum",
  sum_x_py AS "numPreDenSum", sum_y_px AS "denPreNumSum", sum_y_py AS "denPreDenSum", sum_px_py AS "preNumPreDenSum"`;

export type AggregateRow = Omit<ArmAggregate, 'ratioPre'> & RatioPreSums;

/**
 * A stored row as ArmStats: the pre-exposure ratio sums become `ratioPre` when the arm has any pre
 * data (only ratio metrics write them; all 0 — another kind, no unit with pre-exposure events, or a row
 * from before migration 10 — means none, and the analysis uses the plain ratio test).
 */
export function armOf<R extends AggregateRow>(row: R): Omit<R, keyof RatioPreSums> & Pick<ArmStats, 'ratioPre'> {
  const { preNumSum, preNumSumSquares, preDenSum, preDenSumSquares, numPreNumSum, numPreDenSum, denPreNumSum, denPreDenSum, preNumPreDenSum, ...arm } = row;
  if (preNumSumSquares === 0 && preDenSumSquares === 0) return arm;
  const ratioPre = { preNumSum, preNumSumSquares, preDenSum, preDenSumSquares, numPreNumSum, numPreDenSum, denPreNumSum, denPreDenSum, preNumPreDenSum };
  return { ...arm, ratioPre };
}

/** Exposures, metric events and raw product events, and the event log they arrive through (ADR 0018). An event id is stored once; a second sighting is a no-op. */
export class EventRepo {
  readonly pipeline: MetricPipeline;
  /** Where acknowledged events wait for the fold (ADR 0018). */
  readonly log: EventLog;

  /**
   * `logDb`: where the event log lives (its own file, log-db.ts; the database itself for `:memory:`). `tailMax`: how
   * many committed appends the log remembers for an in-thread fold (0 when the fold runs on its own thread).
   */
  constructor(
    private readonly db: Db,
    logDb: Db = db,
    tailMax?: number,
  ) {
    this.pipeline = new MetricPipeline(db);
    this.log = new EventLog(logDb, tailMax, db);
  }

  /** Keeps the earliest exposure per (experiment, unit): a late exposure with an earlier time moves it back and re-splits the unit's events. */
  addExposure(e: ExposureRow): void {
    applyExposure(this.pipeline, e);
  }

  /** Records exposures served by this process (EventLog.appendServed): the call the serving side's writer makes on this thread. */
  writeServedExposures(batch: readonly Omit<ExposureRow, 'eventId'>[], now: string): void {
    this.log.appendServed(batch, now);
  }

  exposureVariant(experimentId: string, unitId: string): string | undefined {
    const r = prepared(this.db, 'SELECT variant FROM exposures WHERE experiment_id = ? AND unit_id = ?').get(experimentId, unitId) as
      | { variant: string }
      | undefined;
    return r?.variant;
  }

  /** Stores a metric event and feeds the pipeline; returns false (and does nothing) when its id was already seen. */
  addMetricEvent(e: MetricEventRow): boolean {
    return applyMetricEvent(this.pipeline, e);
  }

  /**
   * Stores a raw product event; returns false (and does nothing) when its id was already seen. With
   * `feeds` (some metric's source names the event) the pipeline folds it into every exposed unit's
   * state now; either way a metric defined later reads it when a unit is exposed.
   */
  addProductEvent(e: ProductEventRow, feeds: boolean): boolean {
    return applyProductEvent(this.pipeline, e, feeds);
  }

  /** Current per-arm aggregates of one metric: constant cost whatever the number of events. */
  aggregates(experimentId: string, metricId: string): ArmAggregate[] {
    const rows = prepared(this.db, `SELECT ${AGG_COLUMNS} FROM metric_aggregates WHERE experiment_id = ? AND metric_id = ?`).all(
      experimentId,
      metricId,
    ) as AggregateRow[];
    return rows.map(armOf);
  }

  /** Quantile metrics: each arm's histogram of unit values (constant cost: one row per non-empty bin). */
  sketches(experimentId: string, metricId: string): Map<string, SketchBins> {
    return this.pipeline.sketches.read(experimentId, metricId);
  }

  /** The per-arm aggregates at the end of each day, oldest first: the sequential look history. */
  dailyAggregates(experimentId: string, metricId: string): (ArmAggregate & { day: string })[] {
    const rows = prepared(this.db, `SELECT day, ${AGG_COLUMNS} FROM metric_daily WHERE experiment_id = ? AND metric_id = ? ORDER BY day, variant`).all(
      experimentId,
      metricId,
    ) as (AggregateRow & { day: string })[];
    return rows.map(armOf);
  }

  /** Exposed units per variant. Every exposed unit has a state for every analysed metric, so n of the aggregates is the count. */
  exposureCounts(experimentId: string): Map<string, number> {
    const rows = prepared(this.db, 'SELECT variant, MAX(n) AS n FROM metric_aggregates WHERE experiment_id = ? GROUP BY variant').all(experimentId) as {
      variant: string;
      n: number;
    }[];
    return new Map(rows.map((r) => [r.variant, r.n]));
  }

  /** When the experiment's statistics last changed: data freshness, read from the aggregates (constant cost). */
  lastUpdatedAt(experimentId: string): string | null {
    const r = prepared(this.db, 'SELECT MAX(updated_at) AS t FROM metric_aggregates WHERE experiment_id = ?').get(experimentId) as { t: string | null };
    return r.t;
  }
}
