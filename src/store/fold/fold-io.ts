import type { EventProperties } from '../../domain/metric-source.js';
import type { State } from '../tracked-metrics.js';

/** A unit's exposure to one experiment as the pipeline reads it. */
export interface Exposure {
  experimentId: string;
  variant: string;
  ts: string;
}

/** A stored raw product event as EventTotals reads it (props as stored: JSON or null). */
export interface StoredProductEvent {
  value: number;
  props: string | null;
  ts: string;
}

/** One arm's pending aggregate delta (MetricPipeline's slots: n, the raw sums, the shifted pairs, the ratio pre sums). */
export interface AggregateDelta {
  experimentId: string;
  variant: string;
  metricId: string;
  shifts: [number, number];
  d: number[];
  at: string;
}

/** A quantile histogram bin's count delta. */
export interface BinDelta {
  experimentId: string;
  variant: string;
  metricId: string;
  bin: number;
  d: number;
}

/**
 * Everything the metric pipeline reads and writes, synchronously (ADR 0020, conversion step 5). Two
 * implementations: DirectIo, one SQLite statement per call (the synchronous path: oracle tests, rebuilds), and
 * WorkingSet, a fold turn's units preloaded in a few bulk queries and its writes collected to flush in bulk, on
 * either engine. The pipeline's arithmetic is written once, against this.
 */
export interface FoldIo {
  /** The unit's exposure to the experiment, or undefined. */
  exposure(experimentId: string, unitId: string): Exposure | undefined;
  /** Every exposure of the unit. */
  exposuresOf(unitId: string): Exposure[];
  /** Stores a first exposure (isNew) or moves an existing one's time earlier. */
  putExposure(unitId: string, e: Exposure, isNew: boolean): void;
  state(experimentId: string, unitId: string, metricId: string): State | undefined;
  putState(experimentId: string, unitId: string, metricId: string, s: State): void;
  /**
   * Adds d = [x, y, px, py] to the state and returns the new one. An exposed unit without a stored state has the empty
   * state (a first exposure stores none while the unit has no events): it is created holding d.
   */
  addToState(experimentId: string, unitId: string, metricId: string, d: readonly number[]): State;
  /** Stores a metric event; false when that exact row is already stored. */
  insertMetricEvent(e: { eventId: string; metricId: string; unitId: string; value: number; ts: string }): boolean;
  /** Stores a raw product event; false when that exact row is already stored. */
  insertProductEvent(e: { id: string; name: string; unitId: string; value: number; props: EventProperties | null; ts: string }): boolean;
  /** False only when the unit has no stored metric or raw event at all (true is always safe: the totals are then read). */
  hasEvents(unitId: string): boolean;
  /** Σ of the unit's metric events at or after `exposedAt` (post) and before it (pre). */
  metricTotals(unitId: string, metricId: string, exposedAt: string): { post: number; pre: number };
  /** Σ and count of the unit's metric events at or after `exposedAt`. */
  metricPostValues(unitId: string, metricId: string, exposedAt: string): { sum: number; count: number };
  /** The unit's raw events of one name with from ≤ ts < to. */
  productEvents(unitId: string, name: string, from: string, to: string): StoredProductEvent[];
  /** Aggregate deltas, bin deltas and the day's snapshot of the experiments touched, in that order (the pipeline's flush). */
  flushAggregates(deltas: readonly AggregateDelta[], bins: readonly BinDelta[], day: string, experimentIds: readonly string[]): void;
}
