import type { FoldIo } from './fold/fold-io.js';
import { type EventProperties, matchesWhere, phaseOf, windowsOf } from '../domain/metric-source.js';
import { type Component, EMPTY_STATE, type State, type Tracked } from './tracked-metrics.js';

/** Where a component's post- or pre-exposure events go in a State: the key of their sum and of their count. */
export type Cell = readonly [sum: keyof State, count: keyof State];
const CELL_X: Cell = ['x', 'cx'];
const CELL_Y: Cell = ['y', 'cy'];
const CELL_PX: Cell = ['px', 'cpx'];
const CELL_PY: Cell = ['py', 'cpy'];
/** Quantile metrics keep the sum of the post-exposure values in x and their count in y (the layout from before counts existed). */
const CELL_QUANTILE: Cell = ['x', 'y'];

/** Each component of a tracked metric with the cells its post- and pre-exposure events fill (quantile: none before exposure). */
export function feedsOf(t: Tracked): { c: Component; post: Cell; pre: Cell | null }[] {
  if (t.kind === 'ratio')
    return [
      { c: t.num!, post: CELL_X, pre: CELL_PX },
      { c: t.den!, post: CELL_Y, pre: CELL_PY },
    ];
  if (t.kind === 'quantile') return [{ c: t.self, post: CELL_QUANTILE, pre: null }];
  return [{ c: t.self, post: CELL_X, pre: CELL_Y }];
}

/**
 * A unit's totals for one analysed metric computed from the stored events, as of its first exposure:
 * pre-computed `metric` events (every event after exposure, every one before as the covariate) and
 * raw product events (the source's filters and windows). What a first or an earlier exposure (re)starts from,
 * so a metric defined after its raw events arrived sees them.
 */
export class EventTotals {
  constructor(private readonly io: () => FoldIo) {}

  stateOf(t: Tracked, unitId: string, exposedAt: string): State {
    const s = { ...EMPTY_STATE };
    const io = this.io();
    for (const { c, post, pre } of feedsOf(t)) {
      if (c.source) this.addRaw(io, s, c, unitId, exposedAt, post, pre);
      else if (t.kind === 'quantile') {
        const v = io.metricPostValues(unitId, c.metricId, exposedAt);
        s[post[0]] += v.sum;
        s[post[1]] += v.count;
      } else {
        const v = io.metricTotals(unitId, c.metricId, exposedAt);
        s[post[0]] += v.post;
        if (pre) s[pre[0]] += v.pre;
      }
    }
    return s;
  }

  /** Folds the unit's matching raw events into the cells of their phase. */
  private addRaw(io: FoldIo, s: State, c: Component, unitId: string, exposedAt: string, post: Cell, pre: Cell | null): void {
    const source = c.source!;
    const w = windowsOf(exposedAt, source.windowHours);
    const rows = io.productEvents(unitId, source.event, pre ? (w.preFrom ?? '') : exposedAt, w.postTo ?? '~');
    for (const r of rows) {
      if (source.where && !matchesWhere(source.where, r.props ? (JSON.parse(r.props) as EventProperties) : null)) continue;
      const phase = phaseOf(w, r.ts);
      const cell = phase === 'post' ? post : phase === 'pre' ? pre : null;
      if (!cell) continue;
      s[cell[0]] += r.value;
      s[cell[1]] += 1;
    }
  }
}
