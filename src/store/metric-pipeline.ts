import { prepared, type Db } from './db.js';
import { type EventProperties, eventMatches, phaseOf, windowsOf } from '../domain/metric-source.js';
import { QuantileSketchStore } from './quantile-sketch-store.js';
import { addProductTo, addTo } from './double-double.js';
import { EventTotals, feedsOf } from './event-totals.js';
import { EMPTY_STATE, sketchValue, type State, type Tracked, TrackedMetrics, type Values, valuesOf } from './tracked-metrics.js';
import { DELTA_LENGTH, RATIO_PRE_AT } from './fold/aggregate-sql.js';
import type { AggregateDelta, Exposure, FoldIo } from './fold/fold-io.js';
import { DirectIo } from './fold/direct-io.js';

/** A raw product event as the pipeline reads it. */
export interface ProductEvent {
  unitId: string;
  name: string;
  value: number;
  props: EventProperties | null;
  ts: string;
}

/**
 * Sufficient statistics kept exact at ingest, in the caller's transaction.
 *
 * For every exposed unit and analysed metric the state holds the unit's raw totals (State): for
 * most kinds its post-exposure total x and its pre-exposure total y (the CUPED covariate); for a
 * ratio metric, the post-exposure numerator and denominator totals, with their pre-exposure totals
 * (px, py) as the covariates; beside each, for metrics computed from raw product events, how many
 * events it holds. valuesOf() maps those totals to the unit's value and covariate: the source's
 * aggregate (count, sum, any, mean) within its windows, binary's 0/1 indicator, the cap. Per
 * (experiment, variant, metric) the aggregates hold n and the sums of x, x², y, y² and xy of those
 * values; for a ratio metric also the sums of px, py, their squares and their products with x, y and
 * each other (RatioPreSums). Every change to a unit's state applies the exact difference of those
 * terms, so the aggregates never drift, whatever the aggregation (a mean or a cap is not linear in the
 * events), and late, out-of-order or pre-exposure events land where they belong.
 */
export class MetricPipeline {
  readonly tracked: TrackedMetrics;
  private readonly totals: EventTotals;
  /** Aggregate deltas of the current transaction, written once per arm and metric at flush(). */
  private readonly pending = new Map<string, Omit<AggregateDelta, 'at'> & { at?: string }>();
  /**
   * When the change being applied was received (the fold sets it per event, ADR 0018): an arm's updated_at is then
   * the receipt time of the newest event that touched it, as when each batch was folded at its ack. Unset: flush's time.
   */
  receivedAt: string | undefined;
  /** Quantile metrics: each arm's histogram of unit values. */
  readonly sketches: QuantileSketchStore;
  /** What the pipeline reads and writes through now: one statement per call (SQLite), or a fold turn's working set (using()). */
  private io: FoldIo;

  /** `db`: the SQLite database (the per-statement path and the reads); none on PostgreSQL, where every turn brings its working set. */
  constructor(private readonly db?: Db) {
    this.sketches = new QuantileSketchStore(db);
    this.tracked = new TrackedMetrics(db);
    this.totals = new EventTotals(() => this.io);
    this.io = db ? new DirectIo(db) : NO_IO;
  }

  /** Runs fn with the pipeline reading and writing through `io` (a fold turn's working set), then back to the default. */
  using<T>(io: FoldIo, fn: () => T): T {
    const before = this.io;
    this.io = io;
    try {
      return fn();
    } finally {
      this.io = before;
    }
  }

  /** The I/O in use: the apply rules (fold-apply.ts) read exposures and store events through the same one. */
  get current(): FoldIo {
    return this.io;
  }

  /**
   * A unit's first exposure, or an earlier one for a unit already exposed: (re)compute its state from its stored events.
   * A first exposure of a unit without events stores no state: an exposed unit's missing state is the empty one (the
   * aggregates count the unit all the same), so serving a new unit costs no state row per analysed metric.
   */
  onExposure(e: Exposure & { unitId: string }, isNew: boolean): void {
    const tracked = this.tracked.of(e.experimentId);
    // A new unit usually has no events yet: one probe instead of reading every metric's totals.
    const none = isNew && tracked.length > 0 && !this.io.hasEvents(e.unitId);
    for (const t of tracked) {
      const before = isNew ? undefined : this.stateOf(e.experimentId, e.unitId, t.metricId);
      const after = none ? EMPTY_STATE : this.totals.stateOf(t, e.unitId, e.ts);
      if (isNew && isEmpty(after)) this.accumulate(e.experimentId, e.variant, t, undefined, after);
      else this.write(e.experimentId, e.variant, e.unitId, t, before, after);
    }
  }

  /** A new pre-computed metric event: every experiment the unit is exposed to that analyses the metric (directly or in a ratio). */
  onMetricEvent(ev: { unitId: string; metricId: string; value: number; ts: string }): void {
    const exposures = this.io.exposuresOf(ev.unitId);
    for (const e of exposures) {
      for (const t of this.tracked.of(e.experimentId)) {
        const post = ev.ts >= e.ts;
        // Deltas of the unit's x, y, px, py.
        const d = [0, 0, 0, 0];
        if (t.kind === 'quantile') {
          // x, y: the sum and count of the unit's post-exposure values; read first so its old bin is exact.
          if (t.metricId !== ev.metricId || t.self.source || !post) continue;
          const before = this.stateOf(e.experimentId, ev.unitId, t.metricId);
          this.write(e.experimentId, e.variant, ev.unitId, t, before, { ...before, x: before.x + ev.value, y: before.y + 1 });
          continue;
        }
        if (t.kind === 'ratio') {
          // Post-exposure events make the ratio (x, y); earlier ones its CUPED covariates (px, py).
          const at = post ? 0 : 2;
          if (t.num!.metricId === ev.metricId && !t.num!.source) d[at] = ev.value;
          if (t.den!.metricId === ev.metricId && !t.den!.source) d[at + 1] = ev.value;
        } else if (t.metricId === ev.metricId && !t.self.source) {
          d[post ? 0 : 1] = ev.value;
        }
        if (d.every((v) => v === 0)) continue;
        // Add to the state and read back the new totals; the old ones are new − delta.
        const after = this.io.addToState(e.experimentId, ev.unitId, t.metricId, d);
        const [dx, dy, dpx, dpy] = d;
        this.accumulate(e.experimentId, e.variant, t, { ...after, x: after.x - dx, y: after.y - dy, px: after.px - dpx, py: after.py - dpy }, after);
      }
    }
  }

  /**
   * A new raw product event: for every experiment the unit is exposed to, every analysed metric (or
   * ratio component) whose source it matches, within that exposure's windows. The state is read, then
   * written as computed here, so the difference applied to the aggregates is exact.
   */
  onProductEvent(ev: ProductEvent): void {
    const exposures = this.io.exposuresOf(ev.unitId);
    for (const e of exposures) {
      for (const t of this.tracked.of(e.experimentId)) {
        let before: State = EMPTY_STATE;
        let after: State | undefined;
        for (const { c, post, pre } of feedsOf(t)) {
          if (!c.source || !eventMatches(c.source, ev.name, ev.props)) continue;
          const phase = phaseOf(windowsOf(e.ts, c.source.windowHours), ev.ts);
          const cell = phase === 'post' ? post : phase === 'pre' ? pre : null;
          if (!cell) continue;
          if (!after) {
            before = this.stateOf(e.experimentId, ev.unitId, t.metricId);
            after = { ...before };
          }
          after[cell[0]] += ev.value;
          after[cell[1]] += 1;
        }
        if (after) this.write(e.experimentId, e.variant, ev.unitId, t, before, after);
      }
    }
  }

  /** Writes the pending aggregate deltas and the day's snapshot of every experiment touched. Call before commit. */
  flush(now: string): void {
    const deltas = [...this.pending.values()].map((p): AggregateDelta => ({ ...p, at: p.at ?? now }));
    this.pending.clear();
    const bins = this.sketches.drain();
    const touched = [...new Set(deltas.map((p) => p.experimentId))];
    if (deltas.length || bins.length) this.io.flushAggregates(deltas, bins, now.slice(0, 10), touched);
  }

  /** Runs a batch of changes inside the caller's transaction and flushes its deltas; on error nothing pending survives. */
  batch<T>(now: string, fn: () => T): T {
    try {
      const out = fn();
      this.flush(now);
      return out;
    } finally {
      this.pending.clear();
      this.sketches.discard();
    }
  }

  /** Rebuilds an experiment's states and aggregates from the raw exposures and events (for migration and checks). */
  rebuild(experimentId: string, now: string): void {
    if (!this.db) throw new Error('MetricPipeline.rebuild runs on SQLite');
    prepared(this.db, 'DELETE FROM unit_metric_state WHERE experiment_id = ?').run(experimentId);
    prepared(this.db, 'DELETE FROM metric_aggregates WHERE experiment_id = ?').run(experimentId);
    this.sketches.clearExperiment(experimentId);
    const rows = prepared(this.db, 'SELECT unit_id AS unitId, variant, first_exposed_at AS ts FROM exposures WHERE experiment_id = ?').all(
      experimentId,
    ) as (Exposure & { unitId: string })[];
    for (const r of rows) this.onExposure({ ...r, experimentId }, true);
    this.flush(now);
  }

  private write(experimentId: string, variant: string, unitId: string, t: Tracked, before: State | undefined, after: State): void {
    this.io.putState(experimentId, unitId, t.metricId, after);
    this.accumulate(experimentId, variant, t, before, after);
  }

  /** Adds the exact change of n, Σx, Σx², Σy, Σy², Σxy of the unit's values (and a ratio's pre sums) for one unit's state change. */
  private accumulate(experimentId: string, variant: string, t: Tracked, before: State | undefined, after: State): void {
    const b = before ? valuesOf(t, before) : undefined;
    const a = valuesOf(t, after);
    const [x0, y0] = b ? [b.x, b.y] : [0, 0];
    const [x1, y1] = [a.x, a.y];
    const key = `${experimentId}\u0000${variant}\u0000${t.metricId}`;
    let p = this.pending.get(key);
    if (!p)
      this.pending.set(key, (p = { experimentId, variant, metricId: t.metricId, shifts: [t.shiftX, t.shiftY], d: new Array<number>(DELTA_LENGTH).fill(0) }));
    if (this.receivedAt && (!p.at || this.receivedAt > p.at)) p.at = this.receivedAt;
    const d = p.d;
    d[0] += before ? 0 : 1;
    d[1] += x1 - x0;
    d[2] += x1 * x1 - x0 * x0;
    d[3] += y1 - y0;
    d[4] += y1 * y1 - y0 * y0;
    d[5] += x1 * y1 - x0 * y0;
    // The same sums of x − r_x and y − r_y, what variances are computed from, as exact pairs: a unit
    // passing through 0 far from r adds and removes huge squares that plain doubles would not cancel.
    const [u1, v1] = [x1 - t.shiftX, y1 - t.shiftY];
    addTo(d, 6, u1);
    addProductTo(d, 8, u1, u1);
    addTo(d, 10, v1);
    addProductTo(d, 12, v1, v1);
    addProductTo(d, 14, u1, v1);
    if (b) {
      const [u0, v0] = [x0 - t.shiftX, y0 - t.shiftY];
      addTo(d, 6, -u0);
      addProductTo(d, 8, -u0, u0);
      addTo(d, 10, -v0);
      addProductTo(d, 12, -v0, v0);
      addProductTo(d, 14, -u0, v0);
    }
    if (t.kind === 'ratio') {
      const after1 = ratioPreTerms(a);
      const before1 = b ? ratioPreTerms(b) : undefined;
      for (let i = 0; i < after1.length; i++) d[RATIO_PRE_AT + i] += after1[i] - (before1?.[i] ?? 0);
    }
    if (t.kind === 'quantile') this.sketches.move(experimentId, variant, t.metricId, sketchValue(t, before), sketchValue(t, after));
  }

  /** An exposed unit's state: the stored one, else the empty state (a first exposure without events stores none). */
  private stateOf(experimentId: string, unitId: string, metricId: string): State {
    return this.io.state(experimentId, unitId, metricId) ?? EMPTY_STATE;
  }
}

const isEmpty = (s: State) => s.x === 0 && s.y === 0 && s.px === 0 && s.py === 0 && s.cx === 0 && s.cy === 0 && s.cpx === 0 && s.cpy === 0;

/** One unit's terms of the RATIO_PRE sums, in that order. */
function ratioPreTerms(s: Values): number[] {
  return [s.px, s.px * s.px, s.py, s.py * s.py, s.x * s.px, s.x * s.py, s.y * s.px, s.y * s.py, s.px * s.py];
}

/** The I/O of a pipeline without a database (PostgreSQL) outside a turn: any call is a bug. */
const NO_IO: FoldIo = new Proxy({} as FoldIo, {
  get: (_t, name) => () => {
    throw new Error(`MetricPipeline.${String(name)} outside a fold turn's working set`);
  },
});
