import type { EventProperties } from '../../domain/metric-source.js';
import type { LoggedEntry } from '../event-log.js';
import { EMPTY_STATE, type State } from '../tracked-metrics.js';
import { propsText } from './direct-io.js';
import type { AggregateDelta, BinDelta, Exposure, FoldIo, StoredProductEvent } from './fold-io.js';

/** Rows a working set is loaded from (each engine's loader reads them in bulk). */
export type ExposureRow = Exposure & { unitId: string };
export type StateRow = State & { experimentId: string; unitId: string; metricId: string };
export type MetricEventRow = { eventId: string; metricId: string; unitId: string; value: number; ts: string };
export type ProductEventRow = { id: string; name: string; unitId: string; value: number; props: string | null; ts: string };

/**
 * What a turn leaves known of one unit: its exposures and every state of their (experiment, unit) pairs. PgFold keeps
 * these from turn to turn while no other folder writes between its turns, so a unit seen lately is not read again.
 */
export interface UnitMemo {
  exposures: readonly Exposure[];
  states: readonly { experimentId: string; metricId: string; s: State }[];
}

/** What a turn writes back, collected by the working set for one flush per table. */
export interface Writes {
  /** Exposures stored or moved earlier: upserted by (experiment, unit). */
  exposures: ExposureRow[];
  states: StateRow[];
  metricEvents: MetricEventRow[];
  productEvents: ProductEventRow[];
  deltas: AggregateDelta[];
  bins: BinDelta[];
  day: string | undefined;
  experimentIds: string[];
}

interface StateEntry {
  key: string;
  experimentId: string;
  unitId: string;
  metricId: string;
  s: State;
  dirty: boolean;
}

const k2 = (a: string, b: string) => `${a}\u0000${b}`;
const k3 = (a: string, b: string, c: string) => `${a}\u0000${b}\u0000${c}`;

/**
 * A fold turn's working set (ADR 0020, conversion step 5): everything the pipeline will read for the turn's units,
 * loaded before the turn in a few bulk queries — the units' exposures, the state of every (experiment, unit) pair
 * they or the turn's exposures make, and for units exposed in this turn their stored metric and raw events (what
 * EventTotals recomputes a state from) — then served from memory while the pipeline computes, with every write
 * collected to flush in bulk. The same class on both engines; only loading and flushing are per engine.
 *
 * Load order: units → loadExposures → pairs() → loadStates → eventUnits → loadMetricEvents / loadProductEvents.
 * Reading something that was not loaded is a bug and throws (it would otherwise read as "nothing stored").
 */
export class WorkingSet implements FoldIo {
  /** The turn's units to read from the database: every unit of the turn but those remembered (`memo`). */
  readonly units: string[];
  /** Every unit of the turn. */
  private readonly allUnits: string[];
  /** The turn's units known from earlier turns: exposures and states come from here, not from the database. */
  private readonly remembered = new Map<string, UnitMemo>();
  /** Units with an exposure in the turn: their stored events are loaded (a first or earlier exposure recomputes from them). */
  readonly eventUnits: string[];
  private readonly exposures = new Map<string, Exposure[]>();
  private readonly loadedPairs = new Set<string>();
  /** Loaded and written states by (experiment, unit, metric); `dirty` ones are flushed. A State object is never mutated once stored. */
  private readonly states = new Map<string, StateEntry>();
  private readonly dirty: StateEntry[] = [];
  private readonly metricEvents = new Map<string, MetricEventRow[]>();
  private readonly rawEvents = new Map<string, ProductEventRow[]>();
  private readonly eventsLoaded = new Set<string>();
  private readonly dirtyExposures = new Map<string, ExposureRow>();
  private readonly newMetricEvents: MetricEventRow[] = [];
  private readonly newProductEvents: ProductEventRow[] = [];
  private deltas: AggregateDelta[] = [];
  private bins: BinDelta[] = [];
  private day: string | undefined;
  private touched: string[] = [];
  /** Exposures in the turn: (experiment, unit) pairs whose state may exist even if the unit's stored exposures do not say so yet. */
  private readonly turnPairs: [string, string][] = [];
  private pairList: [string, string][] | undefined;
  private pairKeys: string[] = [];

  /** `memo`: what earlier turns left known of units, valid for the database as this turn starts from it (PgFold checks). */
  constructor(batch: readonly LoggedEntry[], memo?: ReadonlyMap<string, UnitMemo>) {
    const units = new Set<string>();
    const exposed = new Set<string>();
    for (const e of batch) {
      units.add(e.unitId);
      if (e.type === 'exposure') {
        exposed.add(e.unitId);
        this.turnPairs.push([e.ref, e.unitId]);
      }
    }
    this.allUnits = [...units];
    if (memo)
      for (const u of this.allUnits) {
        const m = memo.get(u);
        if (m) this.remembered.set(u, m);
      }
    this.units = this.remembered.size ? this.allUnits.filter((u) => !this.remembered.has(u)) : this.allUnits;
    this.eventUnits = [...exposed];
  }

  loadExposures(rows: readonly ExposureRow[]): void {
    this.pairList = undefined;
    for (const u of this.units) this.exposures.set(u, []);
    for (const r of rows) this.exposures.get(r.unitId)?.push({ experimentId: r.experimentId, variant: r.variant, ts: r.ts });
    for (const [u, m] of this.remembered)
      this.exposures.set(
        u,
        m.exposures.map((e) => ({ experimentId: e.experimentId, variant: e.variant, ts: e.ts })),
      );
  }

  /**
   * The (experiment, unit) pairs whose states the turn reads from the database: the stored exposures of the units read
   * from it and the turn's own exposures (but those of a remembered pair, whose states are known). Computed once,
   * after loadExposures (the loader and loadStates both ask).
   */
  pairs(): [experimentId: string, unitId: string][] {
    if (this.pairList) return this.pairList;
    const out = new Map<string, [string, string]>();
    for (const unit of this.units) for (const e of this.exposures.get(unit) ?? []) out.set(k2(e.experimentId, unit), [e.experimentId, unit]);
    for (const [exp, unit] of this.turnPairs) {
      const m = this.remembered.get(unit);
      if (!m?.exposures.some((e) => e.experimentId === exp)) out.set(k2(exp, unit), [exp, unit]);
    }
    this.pairKeys = [...out.keys()];
    this.pairList = [...out.values()];
    return this.pairList;
  }

  /** The experiments the turn can touch (for the tracked metrics' preload). */
  experimentIds(): string[] {
    const ids = new Set(this.pairs().map(([e]) => e));
    for (const m of this.remembered.values()) for (const e of m.exposures) ids.add(e.experimentId);
    return [...ids];
  }

  loadStates(rows: readonly StateRow[]): void {
    this.pairs();
    for (const key of this.pairKeys) this.loadedPairs.add(key);
    for (const r of rows) {
      const key = k3(r.experimentId, r.unitId, r.metricId);
      const s = { x: r.x, y: r.y, px: r.px, py: r.py, cx: r.cx, cy: r.cy, cpx: r.cpx, cpy: r.cpy };
      this.states.set(key, { key, experimentId: r.experimentId, unitId: r.unitId, metricId: r.metricId, s, dirty: false });
    }
    for (const [unitId, m] of this.remembered) {
      for (const e of m.exposures) this.loadedPairs.add(k2(e.experimentId, unitId));
      for (const { experimentId, metricId, s } of m.states) {
        const key = k3(experimentId, unitId, metricId);
        this.states.set(key, { key, experimentId, unitId, metricId, s, dirty: false });
      }
    }
  }

  /**
   * What this turn leaves known of each of its units once computed (its writes included): every exposure and the
   * states of every pair they make, all of which the turn loaded or wrote. For PgFold's memo; call once the turn is
   * computed (the lists are handed over, not copied).
   */
  memos(): Map<string, UnitMemo> {
    const out = new Map<string, { exposures: Exposure[]; states: { experimentId: string; metricId: string; s: State }[] }>();
    // The lists themselves: this working set is done with them, and a later one copies them as it loads.
    for (const u of this.allUnits) out.set(u, { exposures: this.exposuresOf(u), states: [] });
    for (const e of this.states.values()) out.get(e.unitId)?.states.push({ experimentId: e.experimentId, metricId: e.metricId, s: e.s });
    return out;
  }

  /**
   * Lays the writes of the turn just before this one over what was loaded (PgFold's read-ahead loads while that turn
   * is still committing, so a read may or may not include them): its exposures, states and stored events replace or
   * join the loaded ones for this turn's units. Anything it did not write is the same before and after its commit.
   * An exposure it added gives a pair whose states are exactly its writes: states are stored only for stored
   * exposures (the pipeline reaches states through exposuresOf), so that pair had none before it. Call after loading.
   */
  carry(prev: Writes): void {
    for (const x of prev.exposures) {
      const list = this.exposures.get(x.unitId);
      if (!list) continue;
      const copy = { experimentId: x.experimentId, variant: x.variant, ts: x.ts };
      const at = list.findIndex((e) => e.experimentId === x.experimentId);
      if (at !== -1) {
        list[at] = copy;
        continue;
      }
      list.push(copy);
      const key = k2(x.experimentId, x.unitId);
      if (this.loadedPairs.has(key)) continue;
      this.loadedPairs.add(key);
      this.pairKeys.push(key);
      this.pairList?.push([x.experimentId, x.unitId]);
    }
    for (const r of prev.states) {
      if (!this.loadedPairs.has(k2(r.experimentId, r.unitId))) continue;
      const key = k3(r.experimentId, r.unitId, r.metricId);
      const s = { x: r.x, y: r.y, px: r.px, py: r.py, cx: r.cx, cy: r.cy, cpx: r.cpx, cpy: r.cpy };
      const hit = this.states.get(key);
      if (hit) hit.s = s;
      else this.states.set(key, { key, experimentId: r.experimentId, unitId: r.unitId, metricId: r.metricId, s, dirty: false });
    }
    for (const r of prev.metricEvents) {
      if (!this.eventsLoaded.has(r.unitId)) continue;
      const key = k2(r.unitId, r.metricId);
      if (!this.metricEvents.get(key)?.some((x) => x.eventId === r.eventId && x.ts === r.ts)) push(this.metricEvents, key, r);
    }
    for (const r of prev.productEvents) {
      if (!this.eventsLoaded.has(r.unitId)) continue;
      const key = k2(r.unitId, r.name);
      if (!this.rawEvents.get(key)?.some((x) => x.id === r.id && x.ts === r.ts)) push(this.rawEvents, key, r);
    }
  }

  loadMetricEvents(rows: readonly MetricEventRow[]): void {
    for (const u of this.eventUnits) this.eventsLoaded.add(u);
    for (const r of rows) push(this.metricEvents, k2(r.unitId, r.metricId), r);
  }

  loadProductEvents(rows: readonly ProductEventRow[]): void {
    for (const r of rows) push(this.rawEvents, k2(r.unitId, r.name), r);
  }

  exposure(experimentId: string, unitId: string): Exposure | undefined {
    return this.exposuresOf(unitId).find((e) => e.experimentId === experimentId);
  }

  exposuresOf(unitId: string): Exposure[] {
    const list = this.exposures.get(unitId);
    if (!list) throw new Error(`working set: unit ${unitId} was not loaded`);
    return list;
  }

  putExposure(unitId: string, e: Exposure, isNew: boolean): void {
    const list = this.exposuresOf(unitId);
    const at = list.findIndex((x) => x.experimentId === e.experimentId);
    if (isNew !== (at === -1)) throw new Error(`working set: exposure of ${unitId} to ${e.experimentId} is ${at === -1 ? 'not ' : ''}stored`);
    const copy = { experimentId: e.experimentId, variant: e.variant, ts: e.ts };
    if (at === -1) list.push(copy);
    else list[at] = copy;
    this.dirtyExposures.set(k2(e.experimentId, unitId), { ...copy, unitId });
  }

  state(experimentId: string, unitId: string, metricId: string): State | undefined {
    const hit = this.states.get(k3(experimentId, unitId, metricId));
    if (hit) return hit.s;
    this.checkPair(experimentId, unitId);
    return undefined;
  }

  putState(experimentId: string, unitId: string, metricId: string, s: State): void {
    const key = k3(experimentId, unitId, metricId);
    const hit = this.states.get(key);
    if (hit) this.set(hit, { ...s });
    else {
      this.checkPair(experimentId, unitId);
      const entry = { key, experimentId, unitId, metricId, s: { ...s }, dirty: false };
      this.states.set(key, entry);
      this.set(entry, entry.s);
    }
  }

  addToState(experimentId: string, unitId: string, metricId: string, d: readonly number[]): State {
    const hit = this.states.get(k3(experimentId, unitId, metricId));
    if (!hit) {
      const after = { ...EMPTY_STATE, x: d[0], y: d[1], px: d[2], py: d[3] };
      this.putState(experimentId, unitId, metricId, after);
      return after;
    }
    const s = hit.s;
    const after = { x: s.x + d[0], y: s.y + d[1], px: s.px + d[2], py: s.py + d[3], cx: s.cx, cy: s.cy, cpx: s.cpx, cpy: s.cpy };
    this.set(hit, after);
    return after;
  }

  private set(entry: StateEntry, s: State): void {
    entry.s = s;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
  }

  private checkPair(experimentId: string, unitId: string): void {
    if (!this.loadedPairs.has(k2(experimentId, unitId))) throw new Error(`working set: states of ${unitId} in ${experimentId} were not loaded`);
  }

  insertMetricEvent(e: MetricEventRow): boolean {
    const row = { eventId: e.eventId, metricId: e.metricId, unitId: e.unitId, value: e.value, ts: e.ts };
    if (this.eventsLoaded.has(e.unitId)) {
      const key = k2(e.unitId, e.metricId);
      if (this.metricEvents.get(key)?.some((x) => x.eventId === e.eventId && x.ts === e.ts)) return false;
      push(this.metricEvents, key, row);
    }
    this.newMetricEvents.push(row);
    return true;
  }

  insertProductEvent(e: { id: string; name: string; unitId: string; value: number; props: EventProperties | null; ts: string }): boolean {
    const row = { id: e.id, name: e.name, unitId: e.unitId, value: e.value, props: propsText(e.props), ts: e.ts };
    if (this.eventsLoaded.has(e.unitId)) {
      const key = k2(e.unitId, e.name);
      if (this.rawEvents.get(key)?.some((x) => x.id === e.id && x.ts === e.ts)) return false;
      push(this.rawEvents, key, row);
    }
    this.newProductEvents.push(row);
    return true;
  }

  /** Always true: the turn's events are held by (unit, metric or name), and the totals are read from memory anyway. */
  hasEvents(_unitId: string): boolean {
    return true;
  }

  metricTotals(unitId: string, metricId: string, exposedAt: string): { post: number; pre: number } {
    let post = 0;
    let pre = 0;
    for (const r of this.eventsOf(this.metricEvents, unitId, metricId)) {
      if (r.ts >= exposedAt) post += r.value;
      else pre += r.value;
    }
    return { post, pre };
  }

  metricPostValues(unitId: string, metricId: string, exposedAt: string): { sum: number; count: number } {
    let sum = 0;
    let count = 0;
    for (const r of this.eventsOf(this.metricEvents, unitId, metricId))
      if (r.ts >= exposedAt) {
        sum += r.value;
        count++;
      }
    return { sum, count };
  }

  productEvents(unitId: string, name: string, from: string, to: string): StoredProductEvent[] {
    return this.eventsOf(this.rawEvents, unitId, name).filter((r) => r.ts >= from && r.ts < to);
  }

  flushAggregates(deltas: readonly AggregateDelta[], bins: readonly BinDelta[], day: string, experimentIds: readonly string[]): void {
    this.deltas.push(...deltas);
    this.bins.push(...bins);
    this.day = day;
    this.touched = [...new Set([...this.touched, ...experimentIds])];
  }

  /** Everything the turn wrote, for the engine's flush. States and events in key order (b-tree order: fewer pages touched). */
  writes(): Writes {
    const states = [...this.dirty]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((e): StateRow => ({ experimentId: e.experimentId, unitId: e.unitId, metricId: e.metricId, ...e.s }));
    return {
      exposures: [...this.dirtyExposures.values()],
      states,
      metricEvents: this.newMetricEvents,
      productEvents: this.newProductEvents,
      deltas: this.deltas,
      bins: this.bins,
      day: this.day,
      experimentIds: this.touched,
    };
  }

  private eventsOf<T>(map: Map<string, T[]>, unitId: string, key: string): T[] {
    if (!this.eventsLoaded.has(unitId)) throw new Error(`working set: events of ${unitId} were not loaded`);
    return map.get(k2(unitId, key)) ?? [];
  }
}

function push<T>(map: Map<string, T[]>, key: string, row: T): void {
  const list = map.get(key);
  if (list) list.push(row);
  else map.set(key, [row]);
}
