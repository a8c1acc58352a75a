import type { Db } from './db.js';
import type { Metric } from '../domain/schemas.js';
import { QuantileSketchStore } from './quantile-sketch-store.js';
import { addProductTo, addTo, pairUpsertSql } from './double-double.js';

/** Shifted sums Σ(x − r_x), Σ(x − r_x)², Σ(y − r_y), Σ(y − r_y)², Σ(x − r_x)(y − r_y), each kept as a pair col + col_lo. */
const SHIFTED = ['sum_dx', 'sum_dx2', 'sum_dy', 'sum_dy2', 'sum_dxdy'];
const SHIFTED_COLUMNS = ['shift_x', 'shift_y', ...SHIFTED.flatMap((c) => [c, `${c}_lo`])].join(', ');
/** Ratio metrics' CUPED sums (RatioPreSums): Σpx, Σpx², Σpy, Σpy², Σx·px, Σx·py, Σy·px, Σy·py, Σpx·py; 0 for other kinds. */
const RATIO_PRE = ['sum_px', 'sum_px2', 'sum_py', 'sum_py2', 'sum_x_px', 'sum_x_py', 'sum_y_px', 'sum_y_py', 'sum_px_py'];
const SNAPSHOT_COLUMNS = `${SHIFTED_COLUMNS}, ${RATIO_PRE.join(', ')}`;
/** Slots of an arm's pending delta: n, the 5 raw sums, the 5 shifted pairs, then RATIO_PRE. */
const RATIO_PRE_AT = 16;
const DELTA_LENGTH = RATIO_PRE_AT + RATIO_PRE.length;

/** One analysed metric of an experiment and how a unit's totals map to its value. */
interface Tracked {
  metricId: string;
  kind: Metric['kind'];
  /** Ratio metrics: the component metric ids. */
  numeratorId?: string;
  denominatorId?: string;
  /** References r_x, r_y of the shifted sums Σ(x − r_x)… (issue 10): fixed per (experiment, metric), 0 for binary, ratio and quantile. */
  shiftX: number;
  shiftY: number;
}

interface Exposure {
  experimentId: string;
  variant: string;
  ts: string;
}

/** A unit's totals: x, y as below; px, py the pre-exposure numerator and denominator of a ratio metric (0 otherwise). */
interface State {
  x: number;
  y: number;
  px: number;
  py: number;
}

/**
 * Sufficient statistics kept exact at ingest, in the caller's transaction.
 *
 * For every exposed unit and analysed metric the state (x, y) holds the unit's post-exposure
 * total and its pre-exposure total (the CUPED covariate); for a ratio metric, the post-exposure
 * numerator and denominator totals, with their pre-exposure totals (px, py) as the covariates. Per
 * (experiment, variant, metric) the aggregates hold n and the sums of f(x), f(x)², g(y), g(y)² and
 * f(x)g(y), where f and g are the identity, or the 0/1 indicator for binary metrics; for a ratio
 * metric also the sums of px, py, their squares and their products with x, y and each other
 * (RatioPreSums). Every change to a unit's state applies the exact difference of those terms, so
 * the aggregates never drift and late, out-of-order or pre-exposure events land where they belong.
 */
export class MetricPipeline {
  private readonly tracked = new Map<string, Tracked[]>();
  /** Aggregate deltas of the current transaction, written once per arm and metric at flush(). */
  private readonly pending = new Map<string, { experimentId: string; variant: string; metricId: string; shifts: [number, number]; d: number[] }>();
  private readonly stmts;
  /** Quantile metrics: each arm's histogram of unit values. */
  readonly sketches: QuantileSketchStore;

  constructor(private readonly db: Db) {
    this.sketches = new QuantileSketchStore(db);
    this.stmts = {
      exposuresOfUnit: db.prepare('SELECT experiment_id AS experimentId, variant, first_exposed_at AS ts FROM exposures WHERE unit_id = ?'),
      experimentConfig: db.prepare('SELECT config FROM experiments WHERE id = ?'),
      metricDoc: db.prepare('SELECT doc FROM metrics WHERE id = ?'),
      state: db.prepare('SELECT x, y, px, py FROM unit_metric_state WHERE experiment_id = ? AND unit_id = ? AND metric_id = ?'),
      shifts: db.prepare('SELECT shift_x AS shiftX, shift_y AS shiftY FROM metric_aggregates WHERE experiment_id = ? AND metric_id = ? LIMIT 1'),
      addToState: db.prepare(
        'UPDATE unit_metric_state SET x = x + ?, y = y + ?, px = px + ?, py = py + ? WHERE experiment_id = ? AND unit_id = ? AND metric_id = ? RETURNING x, y, px, py',
      ),
      upsertState: db.prepare(
        `INSERT INTO unit_metric_state (experiment_id, unit_id, metric_id, x, y, px, py) VALUES (?,?,?,?,?,?,?)
         ON CONFLICT(experiment_id, unit_id, metric_id) DO UPDATE SET x = excluded.x, y = excluded.y, px = excluded.px, py = excluded.py`,
      ),
      bump: db.prepare(
        `INSERT INTO metric_aggregates (experiment_id, variant, metric_id, shift_x, shift_y, n, sum_x, sum_x2, sum_y, sum_y2, sum_xy,
           ${SHIFTED.flatMap((c) => [c, `${c}_lo`]).join(', ')}, ${RATIO_PRE.join(', ')}, updated_at)
         VALUES (${new Array(5 + DELTA_LENGTH + 1).fill('?').join(',')})
         ON CONFLICT(experiment_id, variant, metric_id) DO UPDATE SET
           n = n + excluded.n, sum_x = sum_x + excluded.sum_x, sum_x2 = sum_x2 + excluded.sum_x2,
           sum_y = sum_y + excluded.sum_y, sum_y2 = sum_y2 + excluded.sum_y2, sum_xy = sum_xy + excluded.sum_xy,
           ${SHIFTED.map(pairUpsertSql).join(',\n           ')},
           ${RATIO_PRE.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
           updated_at = excluded.updated_at`,
      ),
      totals: db.prepare(
        `SELECT COALESCE(SUM(CASE WHEN ts >= ? THEN value END), 0) AS post, COALESCE(SUM(CASE WHEN ts < ? THEN value END), 0) AS pre
         FROM metric_events WHERE unit_id = ? AND metric_id = ?`,
      ),
      postValues: db.prepare(
        'SELECT COALESCE(SUM(value), 0) AS x, COUNT(*) AS y, 0 AS px, 0 AS py FROM metric_events WHERE unit_id = ? AND metric_id = ? AND ts >= ?',
      ),
      snapshot: db.prepare(
        `INSERT INTO metric_daily (experiment_id, variant, metric_id, day, n, sum_x, sum_x2, sum_y, sum_y2, sum_xy,
           ${SNAPSHOT_COLUMNS})
         SELECT experiment_id, variant, metric_id, ?, n, sum_x, sum_x2, sum_y, sum_y2, sum_xy,
           ${SNAPSHOT_COLUMNS} FROM metric_aggregates WHERE experiment_id = ?
         ON CONFLICT(experiment_id, metric_id, day, variant) DO UPDATE SET
           n = excluded.n, sum_x = excluded.sum_x, sum_x2 = excluded.sum_x2, sum_y = excluded.sum_y, sum_y2 = excluded.sum_y2, sum_xy = excluded.sum_xy,
           ${SNAPSHOT_COLUMNS.split(', ')
             .map((c) => `${c} = excluded.${c}`)
             .join(', ')}`,
      ),
    };
  }

  /** A unit's first exposure, or an earlier one for a unit already exposed: (re)compute its state from its events. */
  onExposure(e: Exposure & { unitId: string }, isNew: boolean): void {
    for (const t of this.trackedOf(e.experimentId)) {
      const before = isNew ? undefined : this.readState(e.experimentId, e.unitId, t.metricId);
      const after = this.stateFromEvents(t, e.unitId, e.ts);
      this.write(e.experimentId, e.variant, e.unitId, t, before, after);
    }
  }

  /** A new metric event: every experiment the unit is exposed to that analyses the metric (directly or in a ratio). */
  onMetricEvent(ev: { unitId: string; metricId: string; value: number; ts: string }): void {
    const exposures = this.stmts.exposuresOfUnit.all(ev.unitId) as Exposure[];
    for (const e of exposures) {
      for (const t of this.trackedOf(e.experimentId)) {
        const post = ev.ts >= e.ts;
        // Deltas of the unit's x, y, px, py.
        const d = [0, 0, 0, 0];
        if (t.kind === 'quantile') {
          // x, y: the sum and count of the unit's post-exposure values; read first so its old bin is exact.
          if (t.metricId !== ev.metricId || !post) continue;
          const before = this.readState(e.experimentId, ev.unitId, t.metricId);
          this.write(e.experimentId, e.variant, ev.unitId, t, before, { x: (before?.x ?? 0) + ev.value, y: (before?.y ?? 0) + 1, px: 0, py: 0 });
          continue;
        }
        if (t.kind === 'ratio') {
          // Post-exposure events make the ratio (x, y); earlier ones its CUPED covariates (px, py).
          const at = post ? 0 : 2;
          if (t.numeratorId === ev.metricId) d[at] = ev.value;
          if (t.denominatorId === ev.metricId) d[at + 1] = ev.value;
        } else if (t.metricId === ev.metricId) {
          d[post ? 0 : 1] = ev.value;
        }
        if (d.every((v) => v === 0)) continue;
        // One statement: add to the state and read back the new totals; the old ones are new − delta.
        const after = this.stmts.addToState.get(...d, e.experimentId, ev.unitId, t.metricId) as State | undefined;
        const [dx, dy, dpx, dpy] = d;
        if (after) this.accumulate(e.experimentId, e.variant, t, { x: after.x - dx, y: after.y - dy, px: after.px - dpx, py: after.py - dpy }, after);
        else this.write(e.experimentId, e.variant, ev.unitId, t, undefined, { x: dx, y: dy, px: dpx, py: dpy });
      }
    }
  }

  /** Writes the pending aggregate deltas and the day's snapshot of every experiment touched. Call before commit. */
  flush(now: string): void {
    const touched = new Set<string>();
    for (const p of this.pending.values()) {
      this.stmts.bump.run(p.experimentId, p.variant, p.metricId, ...p.shifts, ...p.d, now);
      touched.add(p.experimentId);
    }
    this.pending.clear();
    this.sketches.flush();
    for (const id of touched) this.stmts.snapshot.run(now.slice(0, 10), id);
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
    this.db.prepare('DELETE FROM unit_metric_state WHERE experiment_id = ?').run(experimentId);
    this.db.prepare('DELETE FROM metric_aggregates WHERE experiment_id = ?').run(experimentId);
    this.sketches.clearExperiment(experimentId);
    const rows = this.db
      .prepare('SELECT unit_id AS unitId, variant, first_exposed_at AS ts FROM exposures WHERE experiment_id = ?')
      .all(experimentId) as (Exposure & { unitId: string })[];
    for (const r of rows) this.onExposure({ ...r, experimentId }, true);
    this.flush(now);
  }

  private write(experimentId: string, variant: string, unitId: string, t: Tracked, before: State | undefined, after: State): void {
    this.stmts.upsertState.run(experimentId, unitId, t.metricId, after.x, after.y, after.px, after.py);
    this.accumulate(experimentId, variant, t, before, after);
  }

  /** Adds the exact change of n, Σf(x), Σf(x)², Σg(y), Σg(y)², Σf(x)g(y) (and a ratio's pre sums) for one unit's state change. */
  private accumulate(experimentId: string, variant: string, t: Tracked, before: State | undefined, after: State): void {
    const f = t.kind === 'binary' ? (v: number) => (v > 0 ? 1 : 0) : (v: number) => v;
    const [x0, y0] = before ? [f(before.x), f(before.y)] : [0, 0];
    const [x1, y1] = [f(after.x), f(after.y)];
    const key = `${experimentId}\u0000${variant}\u0000${t.metricId}`;
    let p = this.pending.get(key);
    if (!p)
      this.pending.set(key, (p = { experimentId, variant, metricId: t.metricId, shifts: [t.shiftX, t.shiftY], d: new Array<number>(DELTA_LENGTH).fill(0) }));
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
    if (before) {
      const [u0, v0] = [x0 - t.shiftX, y0 - t.shiftY];
      addTo(d, 6, -u0);
      addProductTo(d, 8, -u0, u0);
      addTo(d, 10, -v0);
      addProductTo(d, 12, -v0, v0);
      addProductTo(d, 14, -u0, v0);
    }
    if (t.kind === 'ratio') {
      const after1 = ratioPreTerms(after);
      const before1 = before ? ratioPreTerms(before) : undefined;
      for (let i = 0; i < after1.length; i++) d[RATIO_PRE_AT + i] += after1[i] - (before1?.[i] ?? 0);
    }
    if (t.kind === 'quantile') this.sketches.move(experimentId, variant, t.metricId, before, after);
  }

  private readState(experimentId: string, unitId: string, metricId: string): State | undefined {
    return this.stmts.state.get(experimentId, unitId, metricId) as State | undefined;
  }

  private stateFromEvents(t: Tracked, unitId: string, exposedAt: string): State {
    const sum = (metricId: string) => this.stmts.totals.get(exposedAt, exposedAt, unitId, metricId) as { post: number; pre: number };
    if (t.kind === 'ratio') {
      const [num, den] = [sum(t.numeratorId!), sum(t.denominatorId!)];
      return { x: num.post, y: den.post, px: num.pre, py: den.pre };
    }
    if (t.kind === 'quantile') return this.stmts.postValues.get(unitId, t.metricId, exposedAt) as State;
    const s = sum(t.metricId);
    return { x: s.post, y: s.pre, px: 0, py: 0 };
  }

  /** Success metrics and guardrails never change after creation, so this is cached per experiment. */
  private trackedOf(experimentId: string): Tracked[] {
    let list = this.tracked.get(experimentId);
    if (list) return list;
    const row = this.stmts.experimentConfig.get(experimentId) as { config: string } | undefined;
    const config = row ? (JSON.parse(row.config) as { successMetrics: string[]; guardrails: { metricId: string }[] }) : { successMetrics: [], guardrails: [] };
    const ids = [...new Set([...config.successMetrics, ...config.guardrails.map((g) => g.metricId)])];
    list = ids.flatMap((id) => {
      const doc = this.stmts.metricDoc.get(id) as { doc: string } | undefined;
      if (!doc) return [];
      const m = JSON.parse(doc.doc) as Metric;
      if (m.kind === 'ratio' && (!m.numeratorId || !m.denominatorId)) return [];
      return [{ metricId: m.id, kind: m.kind, numeratorId: m.numeratorId, denominatorId: m.denominatorId, ...this.shiftsOf(experimentId, m) }];
    });
    this.tracked.set(experimentId, list);
    return list;
  }

  /**
   * The references of an (experiment, metric)'s shifted sums: those its aggregate rows already use
   * (rows from before the shift have 0), else the catalog baseline mean for both the metric and its
   * covariate (the pre-exposure total of the same metric); 0 where values are counts or 0/1.
   */
  private shiftsOf(experimentId: string, m: Metric): { shiftX: number; shiftY: number } {
    const row = this.stmts.shifts.get(experimentId, m.id) as { shiftX: number; shiftY: number } | undefined;
    if (row) return row;
    const r = (m.kind === 'mean' || m.kind === 'count') && Number.isFinite(m.baselineMean) ? m.baselineMean : 0;
    return { shiftX: r, shiftY: r };
  }
}

/** One unit's terms of the RATIO_PRE sums, in that order. */
function ratioPreTerms(s: State): number[] {
  return [s.px, s.px * s.px, s.py, s.py * s.py, s.x * s.px, s.x * s.py, s.y * s.px, s.y * s.py, s.px * s.py];
}
