import { afterEach, describe, expect, it } from 'vitest';
import { createContainer, type SqliteContainer } from '../../../src/container.js';
import { canonicalJson } from '../../../src/domain/canonical.js';
import { binOf } from '../../../src/domain/quantile-sketch.js';
import type { Metric, MetricSource } from '../../../src/domain/schemas.js';
import { demoConfig, startRunning } from '../../helpers/app.js';
import { prng } from '../../../src/cli/simulate.js';

// Property test of issue 14 item 3 against the definition. Each seed draws metric definitions (every
// aggregation, property filters, conversion windows, caps, a ratio of two metrics, a pre-computed
// capped metric), units with one or more exposures (late ones included), raw and pre-computed events
// on an hour grid that often falls exactly on window edges, with and without ids, in both time fields
// and offsets; delivers them shuffled, with duplicates in one batch and across batches, part of the
// raw events before any metric uses them. The oracle below recomputes every unit's value straight
// from the definition over the deduplicated events; the stored per-arm aggregates, the quantile
// histograms and get_metrics' arm means must match it, and a rebuild from the raw tables must too.

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rand, p: number) => r() < p;

const HOUR = 3_600_000;
const T0 = Date.parse('2026-01-05T00:00:00.000Z');
const UNITS = Array.from({ length: 10 }, (_, i) => `u${i}`);
/** Units are put in arms by index, not by chance: every arm has units whatever the seed. */
const armOf = (unit: string) => (Number(unit.slice(1)) % 2 === 0 ? 'control' : 'focus');
const NAMES = ['play', 'skip', 'buy'] as const;
type Props = Record<string, string | number | boolean>;

interface RawEv {
  type: 'event';
  id?: string;
  name: string;
  unitId: string;
  value?: number;
  properties?: Props;
  at: number;
}
interface MetricEv {
  type: 'metric';
  id: string;
  unitId: string;
  metricId: string;
  value: number;
  at: number;
}
interface ExposureEv {
  type: 'exposure';
  id: string;
  unitId: string;
  at: number;
}
type Ev = RawEv | MetricEv | ExposureEv;

function randomSource(r: Rand, aggregate: MetricSource['aggregate']): MetricSource {
  const where: NonNullable<MetricSource['where']> = {};
  if (chance(r, 0.4)) where.platform = chance(r, 0.5) ? pick(r, ['ios', 'android', 'web']) : ['ios', 'android'];
  if (chance(r, 0.25)) where.premium = chance(r, 0.5);
  if (chance(r, 0.2)) where.tier = pick(r, [1, '1', [1, 2]] as const);
  const windowHours = chance(r, 0.6) ? pick(r, [1, 6, 24, 48]) : undefined;
  return { event: pick(r, NAMES), ...(Object.keys(where).length ? { where } : {}), aggregate, ...(windowHours ? { windowHours } : {}) };
}
const maybeCap = (r: Rand) => (chance(r, 0.4) ? { capMax: pick(r, [2, 5, 12.5]) } : {});

function randomMetrics(r: Rand): Metric[] {
  const base = { description: 'property test', direction: 'increase' as const, isGuardrail: false };
  const den = chance(r, 0.5) ? 'p-den' : 'p-pre';
  return [
    { ...base, id: 'p-any', name: 'Any', kind: 'binary', baselineMean: 0.3, baselineVariance: 0.21, source: randomSource(r, 'any') },
    {
      ...base,
      id: 'p-count',
      name: 'Count',
      kind: 'count',
      baselineMean: 2,
      baselineVariance: 4,
      source: randomSource(r, pick(r, ['count', 'sum'])),
      ...maybeCap(r),
    },
    {
      ...base,
      id: 'p-mean',
      name: 'Mean',
      kind: 'mean',
      baselineMean: 3,
      baselineVariance: 9,
      source: randomSource(r, pick(r, ['mean', 'sum', 'count'])),
      ...maybeCap(r),
    },
    { ...base, id: 'p-den', name: 'Den', kind: 'count', baselineMean: 2, baselineVariance: 4, source: randomSource(r, 'count') },
    { ...base, id: 'p-pre', name: 'Pre-computed', kind: 'mean', baselineMean: 3, baselineVariance: 9, isGuardrail: true, ...maybeCap(r) },
    { ...base, id: 'p-ratio', name: 'Ratio', kind: 'ratio', baselineMean: 0.5, baselineVariance: 0.1, numeratorId: 'p-count', denominatorId: den },
    {
      ...base,
      id: 'p-q',
      name: 'Median',
      kind: 'quantile',
      quantile: 0.5,
      isGuardrail: true,
      direction: 'decrease',
      baselineMean: 3,
      baselineVariance: 9,
      source: randomSource(r, 'mean'),
      ...maybeCap(r),
    },
  ] as Metric[];
}

function randomEvents(r: Rand): Ev[] {
  const out: Ev[] = [];
  const exposures = new Map<string, number[]>();
  for (const unitId of UNITS) {
    if (chance(r, 0.15)) continue; // never exposed: its events feed nothing
    const times = Array.from({ length: 1 + Math.floor(r() * 3) }, () => T0 + Math.floor(r() * 72) * HOUR);
    exposures.set(unitId, times);
    times.forEach((at, k) => out.push({ type: 'exposure', id: `x-${unitId}-${k}`, unitId, at }));
  }
  const edge = (unitId: string) => {
    const at = exposures.get(unitId);
    if (!at || !chance(r, 0.3)) return T0 + Math.floor(r() * 96) * HOUR;
    // On a window edge of one of its exposures, or a millisecond either side.
    return pick(r, at) + pick(r, [0, 1, -1, 6, -6, 24, -24, 48, -48]) * HOUR + pick(r, [0, 0, 1, -1]);
  };
  const raws = 30 + Math.floor(r() * 90);
  for (let i = 0; i < raws; i++) {
    const unitId = pick(r, UNITS);
    const properties: Props = {};
    if (chance(r, 0.7)) properties.platform = pick(r, ['ios', 'android', 'web']);
    if (chance(r, 0.5)) properties.premium = chance(r, 0.5);
    if (chance(r, 0.4)) properties.tier = pick(r, [1, 2, '1']);
    out.push({
      type: 'event',
      ...(chance(r, 0.7) ? { id: `e${i}` } : {}),
      name: chance(r, 0.1) ? 'noise' : pick(r, NAMES),
      unitId,
      ...(chance(r, 0.5) ? { value: pick(r, [-1, 0, 0.25, 0.5, 1, 2.5, 7, 20]) } : {}),
      ...(Object.keys(properties).length ? { properties } : {}),
      at: edge(unitId),
    });
  }
  const metrics = 5 + Math.floor(r() * 25);
  for (let i = 0; i < metrics; i++) {
    const unitId = pick(r, UNITS);
    out.push({ type: 'metric', id: `m${i}`, unitId, metricId: 'p-pre', value: pick(r, [0, 1, 3, 8]), at: edge(unitId) });
  }
  return out;
}

/** The wire form: ts or timestamp, in UTC or at +01:00 (the same instant). */
function wire(e: Ev, experimentId: string, r: Rand): Record<string, unknown> {
  const field = chance(r, 0.5) ? 'ts' : 'timestamp';
  const time = chance(r, 0.7) ? new Date(e.at).toISOString() : new Date(e.at + HOUR).toISOString().replace('Z', '+01:00');
  const { at: _at, ...rest } = e;
  if (e.type === 'exposure') return { ...rest, experimentId, variant: armOf(e.unitId), [field]: time };
  return { ...rest, [field]: time };
}

/** Identity under which the store deduplicates: the id per type, or for an id-less raw event its content. */
const dedupeKey = (e: Ev) =>
  e.type === 'event' && !e.id
    ? `h:${canonicalJson({ name: e.name, unitId: e.unitId, value: e.value ?? 1, properties: e.properties ?? {}, at: e.at })}`
    : `${e.type}:${e.id}`;

// ---- the oracle: the definition, applied naively ----

type Phase = 'post' | 'pre';
function inPhase(at: number, exposedAt: number, windowHours: number | undefined, phase: Phase): boolean {
  const w = windowHours === undefined ? Number.POSITIVE_INFINITY : windowHours * HOUR;
  return phase === 'post' ? at >= exposedAt && at < exposedAt + w : at < exposedAt && at >= exposedAt - w;
}
function matches(where: MetricSource['where'], props: Props | undefined): boolean {
  return Object.entries(where ?? {}).every(([k, want]) => {
    const got = props?.[k];
    return got !== undefined && (Array.isArray(want) ? want.some((w) => w === got) : want === got);
  });
}
const cap = (v: number, m: Metric) => (m.capMax === undefined ? v : Math.min(v, m.capMax));

function oracle(events: Ev[], metrics: Map<string, Metric>) {
  const seen = new Set<string>();
  const accepted = events.filter((e) => !seen.has(dedupeKey(e)) && seen.add(dedupeKey(e)));
  const exposedAt = new Map<string, number>();
  for (const e of accepted) if (e.type === 'exposure') exposedAt.set(e.unitId, Math.min(e.at, exposedAt.get(e.unitId) ?? Number.POSITIVE_INFINITY));
  /** Sum and count of the events that feed metric m for the unit in a phase. */
  const totals = (m: Metric, unit: string, phase: Phase) => {
    const t0 = exposedAt.get(unit)!;
    const feeding = accepted.filter((e) =>
      m.source
        ? e.type === 'event' && e.unitId === unit && e.name === m.source.event && matches(m.source.where, e.properties)
        : e.type === 'metric' && e.unitId === unit && e.metricId === m.id,
    );
    const inside = feeding.filter((e) => inPhase(e.at, t0, m.source?.windowHours, phase));
    return { sum: inside.reduce((s, e) => s + ((e as RawEv | MetricEv).value ?? 1), 0), count: inside.length };
  };
  const unitValue = (m: Metric, unit: string, phase: Phase) => {
    const { sum, count } = totals(m, unit, phase);
    if (!m.source) return cap(m.kind === 'binary' ? (sum > 0 ? 1 : 0) : sum, m);
    const agg = { count, sum, any: count > 0 ? 1 : 0, mean: count > 0 ? sum / count : 0 }[m.source.aggregate];
    return cap(agg, m);
  };
  const arms = (f: (unit: string) => [number, number]) => {
    const out: Record<string, { n: number; sumX: number; sumX2: number; sumY: number; sumY2: number; sumXY: number }> = {};
    for (const unit of exposedAt.keys()) {
      const a = (out[armOf(unit)] ??= { n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 });
      const [x, y] = f(unit);
      Object.assign(a, { n: a.n + 1, sumX: a.sumX + x, sumX2: a.sumX2 + x * x, sumY: a.sumY + y, sumY2: a.sumY2 + y * y, sumXY: a.sumXY + x * y });
    }
    return out;
  };
  const expected: Record<string, ReturnType<typeof arms>> = {};
  for (const id of ['p-any', 'p-count', 'p-mean', 'p-pre']) {
    const m = metrics.get(id)!;
    expected[id] = arms((u) => [unitValue(m, u, 'post'), unitValue(m, u, 'pre')]);
  }
  const ratio = metrics.get('p-ratio')!;
  const [num, den] = [metrics.get(ratio.numeratorId!)!, metrics.get(ratio.denominatorId!)!];
  expected['p-ratio'] = arms((u) => [unitValue(num, u, 'post'), unitValue(den, u, 'post')]);
  const ratioPre: Record<string, number> = {};
  for (const u of exposedAt.keys()) {
    const [x, y, px, py] = [unitValue(num, u, 'post'), unitValue(den, u, 'post'), unitValue(num, u, 'pre'), unitValue(den, u, 'pre')];
    const terms = {
      preNumSum: px,
      preNumSumSquares: px * px,
      preDenSum: py,
      preDenSumSquares: py * py,
      numPreNumSum: x * px,
      numPreDenSum: x * py,
      denPreNumSum: y * px,
      denPreDenSum: y * py,
      preNumPreDenSum: px * py,
    };
    for (const [k, v] of Object.entries(terms)) ratioPre[`${armOf(u)}.${k}`] = (ratioPre[`${armOf(u)}.${k}`] ?? 0) + v;
  }
  // Quantile: the aggregates keep each unit's post-exposure sum and count; the histogram its capped mean, if it has events.
  const q = metrics.get('p-q')!;
  expected['p-q'] = arms((u) => {
    const t = totals(q, u, 'post');
    return [t.sum, t.count];
  });
  const bins: Record<string, Record<number, number>> = {};
  for (const u of exposedAt.keys()) {
    const t = totals(q, u, 'post');
    if (t.count === 0) continue;
    const b = binOf(cap(t.sum / t.count, q));
    const arm = (bins[armOf(u)] ??= {});
    arm[b] = (arm[b] ?? 0) + 1;
  }
  return { expected, ratioPre, bins, accepted };
}

// ---- the run ----

let app: SqliteContainer | undefined;
afterEach(() => app?.close());

const close = (got: number, want: number, what: string) =>
  expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));

function shuffle<T>(r: Rand, xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function runSeed(seed: number) {
  const r = prng(seed);
  app?.close();
  app = await createContainer({ dbFile: ':memory:' });
  const metrics = randomMetrics(r);
  const events = randomEvents(r);
  // Duplicates: some events sent twice, in the same batch or a later one (both happen after the shuffle).
  const sent = shuffle(r, [...events, ...events.filter(() => chance(r, 0.25))]);
  // Raw events that arrive before any metric uses them (and before the experiment exists).
  const early = sent.filter((e) => e.type === 'event' && chance(r, 0.3));
  const late = sent.filter((e) => !early.includes(e));
  let unmatched = 0;
  const freshKeys = new Set<string>();
  const send = async (batch: Ev[], experimentId: string, used: Set<string>) => {
    const res = await app!.events.ingest({ events: batch.map((e) => wire(e, experimentId, r)) });
    expect(res.rejected, `seed ${seed}`).toEqual([]);
    let wantUnmatched = 0;
    for (const e of batch) if (!freshKeys.has(dedupeKey(e)) && freshKeys.add(dedupeKey(e)) && e.type === 'event' && !used.has(e.name)) wantUnmatched++;
    expect(res.unmatched, `seed ${seed}: unmatched`).toBe(wantUnmatched);
    unmatched += res.unmatched;
  };
  for (let i = 0; i < early.length; ) {
    const size = 1 + Math.floor(r() * 20);
    await send(early.slice(i, i + size), 'none', new Set());
    i += size;
  }
  for (const m of metrics) await app.deps.store.catalog.upsertMetric(m);
  const exp = await startRunning(
    app,
    demoConfig({
      key: `raw-${seed}`,
      successMetrics: ['p-any', 'p-count', 'p-mean', 'p-ratio'],
      guardrails: [
        { metricId: 'crash-rate', margin: 0.02 },
        { metricId: 'p-pre', margin: 0.1 },
        { metricId: 'p-q', margin: 0.1 },
      ],
    }),
  );
  const used = new Set(metrics.flatMap((m) => (m.source ? [m.source.event] : [])));
  for (let i = 0; i < late.length; ) {
    const size = 1 + Math.floor(r() * 25);
    await send(late.slice(i, i + size), exp.id, used);
    i += size;
  }
  const byId = new Map(metrics.map((m) => [m.id, m]));
  const { expected, ratioPre, bins, accepted } = oracle(sent, byId);
  app.fold.catchUp();
  expect(app.deps.db.prepare('SELECT COUNT(*) AS n FROM product_events').get(), `seed ${seed}`).toEqual({
    n: accepted.filter((e) => e.type === 'event').length,
  });
  expect(unmatched).toBeGreaterThanOrEqual(0);

  const stored = (metricId: string) => Object.fromEntries(app!.deps.events.aggregates(exp.id, metricId).map(({ variant, ...a }) => [variant, a]));
  for (const [metricId, arms] of Object.entries(expected)) {
    const got = stored(metricId);
    expect(Object.keys(got).sort(), `seed ${seed} ${metricId}`).toEqual(Object.keys(arms).sort());
    for (const [variant, a] of Object.entries(arms))
      for (const k of Object.keys(a) as (keyof typeof a)[]) close(got[variant][k], a[k], `seed ${seed} ${metricId} ${variant} ${k}`);
  }
  const ratioArms = stored('p-ratio');
  for (const [key, want] of Object.entries(ratioPre)) {
    const [variant, k] = key.split('.');
    close((ratioArms[variant].ratioPre as Record<string, number> | undefined)?.[k] ?? 0, want, `seed ${seed} p-ratio ${key}`);
  }
  const sketches = app.deps.events.sketches(exp.id, 'p-q');
  for (const arm of ['control', 'focus']) {
    const got = Object.fromEntries((sketches.get(arm) ?? []).map(([b, c]) => [b, c]));
    expect(got, `seed ${seed} p-q bins ${arm}`).toEqual(bins[arm] ?? {});
  }
  // get_metrics reads the same aggregates: units per arm and the arm means (Σx/n, a ratio's Σx/Σy).
  const report = await app.metrics.report(exp.id);
  for (const id of ['p-any', 'p-count', 'p-mean', 'p-pre', 'p-ratio']) {
    const cells = report.metrics.find((m) => m.metricId === id)!.variants;
    for (const cell of cells) {
      const a = expected[id][cell.variant];
      expect(cell.units, `seed ${seed} ${id} ${cell.variant} units`).toBe(a?.n ?? 0);
      const want = id === 'p-ratio' ? a.sumX / a.sumY : a.sumX / a.n;
      if (cell.mean !== null && Number.isFinite(want)) close(cell.mean, want, `seed ${seed} ${id} ${cell.variant} mean`);
    }
  }
  // A rebuild from the raw tables (exposures, metric events, product events) lands on the same aggregates.
  const before = Object.fromEntries(Object.keys(expected).map((m) => [m, stored(m)]));
  app.deps.events.pipeline.rebuild(exp.id, new Date().toISOString());
  for (const m of Object.keys(expected))
    for (const [variant, a] of Object.entries(before[m]))
      for (const [k, v] of Object.entries(a)) if (typeof v === 'number') close(stored(m)[variant][k as 'n'] as number, v, `seed ${seed} rebuild ${m} ${k}`);
}

describe('metrics from raw events: the pipeline matches the definition', () => {
  it('for random definitions, orders, batches, duplicates, late exposures and window edges (60 seeds)', async () => {
    for (let seed = 1; seed <= 60; seed++) await runSeed(20261207 + seed);
  });
});
