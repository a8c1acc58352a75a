import { prepared, type Db } from './db.js';
import type { Sql } from './sql/sql.js';
import type { Metric, MetricSource } from '../domain/schemas.js';
import { aggregateValue, capped } from '../domain/metric-source.js';

/** One metric as a unit's value is made of it: its raw source (absent: pre-computed `metric` events) and its cap. */
export interface Component {
  metricId: string;
  source?: MetricSource;
  capMax?: number;
}

/** One analysed metric of an experiment and how a unit's totals map to its value. */
export interface Tracked {
  metricId: string;
  kind: Metric['kind'];
  /** The metric itself (every kind but ratio). */
  self: Component;
  /** Ratio metrics: the component metrics. */
  num?: Component;
  den?: Component;
  /** References r_x, r_y of the shifted sums Σ(x − r_x)… (issue 10): fixed per (experiment, metric), 0 for binary, ratio and quantile. */
  shiftX: number;
  shiftY: number;
}

/**
 * A unit's raw totals for one analysed metric (table unit_metric_state): four sums, each with the
 * number of raw events in it. Every kind but quantile and ratio: x, y the post- and pre-exposure sums;
 * ratio: x, y the post-exposure numerator and denominator sums, px, py the pre-exposure ones; quantile:
 * x the sum of the post-exposure values and y their count. The counts (cx…) are kept for raw-event
 * sources only (count, any and mean need them); pre-computed events leave them 0.
 */
export interface State {
  x: number;
  y: number;
  px: number;
  py: number;
  cx: number;
  cy: number;
  cpx: number;
  cpy: number;
}

export const EMPTY_STATE: State = { x: 0, y: 0, px: 0, py: 0, cx: 0, cy: 0, cpx: 0, cpy: 0 };

/** What enters the per-arm sums for one unit: its value x and covariate y (ratio: numerator, denominator and their pre values). */
export interface Values {
  x: number;
  y: number;
  px: number;
  py: number;
}

/** A component's value from a sum and its event count: the source's aggregate (pre-computed: the sum), then the cap. */
const componentValue = (c: Component, sum: number, count: number) => capped(c.source ? aggregateValue(c.source.aggregate, sum, count) : sum, c.capMax);

/** The unit's value and covariate(s) from its raw totals: the aggregation, binary's indicator and the cap applied here, once. */
export function valuesOf(t: Tracked, s: State): Values {
  if (t.kind === 'ratio') {
    const [num, den] = [t.num!, t.den!];
    return { x: componentValue(num, s.x, s.cx), y: componentValue(den, s.y, s.cy), px: componentValue(num, s.px, s.cpx), py: componentValue(den, s.py, s.cpy) };
  }
  if (t.kind === 'quantile') return { x: s.x, y: s.y, px: 0, py: 0 };
  const value = (sum: number, count: number) =>
    t.self.source ? componentValue(t.self, sum, count) : capped(t.kind === 'binary' ? (sum > 0 ? 1 : 0) : sum, t.self.capMax);
  return { x: value(s.x, s.cx), y: value(s.y, s.cy), px: 0, py: 0 };
}

/** A quantile metric's unit value: the mean of its post-exposure values, capped; none before its first event. */
export const sketchValue = (t: Tracked, s: State | undefined): number | null => (s && s.y > 0 ? capped(s.x / s.y, t.self.capMax) : null);

/** Where TrackedMetrics reads an experiment's definitions from: the experiment's config, the catalog, the arms' stored shifts. */
interface TrackedSource {
  config(experimentId: string): ExperimentMetrics | undefined;
  metric(id: string): Metric | undefined;
  shifts(experimentId: string, metricId: string): { shiftX: number; shiftY: number } | undefined;
}

type ExperimentMetrics = { successMetrics: string[]; guardrails: { metricId: string }[] };

/**
 * The analysed metrics of each experiment (success metrics and guardrails, which never change after
 * creation), with their definitions as they were when first read: cached per experiment. On SQLite read on
 * demand (`db`); on PostgreSQL loaded before a fold turn (preload), since the pipeline reads synchronously.
 */
export class TrackedMetrics {
  private readonly cache = new Map<string, Tracked[]>();

  constructor(private readonly db?: Db) {}

  of(experimentId: string): Tracked[] {
    const list = this.cache.get(experimentId);
    if (list) return list;
    if (!this.db) throw new Error(`TrackedMetrics: experiment ${experimentId} was not preloaded`);
    const db = this.db;
    return this.build(experimentId, {
      config: (id) => {
        const row = prepared(db, 'SELECT config FROM experiments WHERE id = ?').get(id) as { config: string } | undefined;
        return row ? (JSON.parse(row.config) as ExperimentMetrics) : undefined;
      },
      metric: (id) => {
        const row = prepared(db, 'SELECT doc FROM metrics WHERE id = ?').get(id) as { doc: string } | undefined;
        return row ? (JSON.parse(row.doc) as Metric) : undefined;
      },
      shifts: (e, m) =>
        prepared(db, 'SELECT shift_x AS shiftX, shift_y AS shiftY FROM metric_aggregates WHERE experiment_id = ? AND metric_id = ? LIMIT 1').get(e, m) as
          | { shiftX: number; shiftY: number }
          | undefined,
    });
  }

  /** Reads the definitions of the experiments not cached yet through the async store (once per experiment per process). */
  async preload(sql: Sql, experimentIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(experimentIds)].filter((id) => !this.cache.has(id));
    if (!missing.length) return;
    const configs = new Map<string, ExperimentMetrics>();
    const metrics = new Map<string, Metric>();
    const shifts = new Map<string, { shiftX: number; shiftY: number }>();
    for (const id of missing) {
      const row = await sql.get<{ config: string }>('SELECT config FROM experiments WHERE id = ?', [id]);
      if (row) configs.set(id, JSON.parse(row.config) as ExperimentMetrics);
    }
    const wanted = new Set([...configs.values()].flatMap((c) => [...c.successMetrics, ...c.guardrails.map((g) => g.metricId)]));
    const load = async (id: string) => {
      if (metrics.has(id)) return metrics.get(id);
      const row = await sql.get<{ doc: string }>('SELECT doc FROM metrics WHERE id = ?', [id]);
      if (row) metrics.set(id, JSON.parse(row.doc) as Metric);
      return metrics.get(id);
    };
    for (const id of wanted) {
      const m = await load(id);
      if (m?.kind === 'ratio') for (const part of [m.numeratorId, m.denominatorId]) if (part) await load(part);
    }
    for (const id of missing) {
      const rows = await sql.all<{ metricId: string; shiftX: number; shiftY: number }>(
        'SELECT metric_id AS "metricId", shift_x AS "shiftX", shift_y AS "shiftY" FROM metric_aggregates WHERE experiment_id = ?',
        [id],
      );
      for (const r of rows) if (!shifts.has(`${id}\u0000${r.metricId}`)) shifts.set(`${id}\u0000${r.metricId}`, { shiftX: r.shiftX, shiftY: r.shiftY });
    }
    for (const id of missing) this.build(id, { config: (e) => configs.get(e), metric: (m) => metrics.get(m), shifts: (e, m) => shifts.get(`${e}\u0000${m}`) });
  }

  private build(experimentId: string, src: TrackedSource): Tracked[] {
    const config = src.config(experimentId) ?? { successMetrics: [], guardrails: [] };
    const ids = [...new Set([...config.successMetrics, ...config.guardrails.map((g) => g.metricId)])];
    const list = ids.flatMap((id): Tracked[] => {
      const m = src.metric(id);
      if (!m) return [];
      const self = componentOf(m);
      const shifts = shiftsOf(src, experimentId, m);
      if (m.kind !== 'ratio') return [{ metricId: m.id, kind: m.kind, self, ...shifts }];
      if (!m.numeratorId || !m.denominatorId) return [];
      // A component missing from the catalog sums its pre-computed events, as before sources existed.
      const part = (id: string): Component => {
        const doc = src.metric(id);
        return doc ? componentOf(doc) : { metricId: id };
      };
      return [{ metricId: m.id, kind: m.kind, self, num: part(m.numeratorId), den: part(m.denominatorId), ...shifts }];
    });
    this.cache.set(experimentId, list);
    return list;
  }
}

/**
 * The references of an (experiment, metric)'s shifted sums: those its aggregate rows already use
 * (rows from before the shift have 0), else the catalog baseline mean for both the metric and its
 * covariate (the pre-exposure value of the same metric); 0 where values are counts or 0/1.
 */
function shiftsOf(src: TrackedSource, experimentId: string, m: Metric): { shiftX: number; shiftY: number } {
  const row = src.shifts(experimentId, m.id);
  if (row) return { shiftX: row.shiftX, shiftY: row.shiftY };
  const r = (m.kind === 'mean' || m.kind === 'count') && Number.isFinite(m.baselineMean) ? m.baselineMean : 0;
  return { shiftX: r, shiftY: r };
}

const componentOf = (m: Metric): Component => ({
  metricId: m.id,
  ...(m.source ? { source: m.source } : {}),
  ...(m.capMax !== undefined ? { capMax: m.capMax } : {}),
});
