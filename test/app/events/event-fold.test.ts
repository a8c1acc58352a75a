import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, type SqliteContainer } from '../../../src/container.js';
import { SimulatedClock } from '../../../src/systems/clock.js';
import { nextTurnSize } from '../../../src/app/events/fold-runner.js';
import type { MetricSource } from '../../../src/domain/schemas.js';
import { APPROVED, demoConfig } from '../../helpers/app.js';
import { EventFold } from '../../../src/store/event-fold.js';
import type { LogEntry } from '../../../src/store/event-log.js';
import { PgEventLog } from '../../../src/store/pg/pg-event-log.js';
import { EventReads } from '../../../src/store/event-reads.js';
import { PgFold } from '../../../src/store/pg/pg-fold.js';
import type { Sql } from '../../../src/store/sql/sql.js';
import { ENGINES, type EngineDb, engineTitle } from '../../helpers/sql-engines.js';

// ADR 0018: acknowledging appends to the event log; the fold applies it later, in unit-sorted turns.
// The oracle is the synchronous path as it was: every event applied through the same EventRepo calls
// (addExposure, addMetricEvent, addProductEvent) inside the ack's transaction, one pipeline flush per
// batch at the batch's time. Two containers get the same experiment (same ids, same catalog) and the
// same shuffled delivery — late exposures that move a unit's first exposure earlier and re-split it,
// metric and raw events before any exposure, duplicates within and across batches, batches spread over
// several simulated days — one through the oracle, one through ingest with fold turns of random size at
// random points and a small backlog bound. Aggregates, daily snapshots, quantile histograms, exposure
// counts and get_metrics must agree.

const UNITS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
/** Units are put in arms by index, never by chance: both arms have units whatever the run. */
const armOf = (unit: string) => (Number(unit.slice(1)) % 2 === 0 ? 'control' : 'focus');
const PRECOMPUTED = ['stream-rate', 'skips', 'streams-per-user', 'latency-p90'];
const SOURCES: Record<string, MetricSource> = {
  'minutes-played': { event: 'stream_end', aggregate: 'sum', windowHours: 48 },
  'crash-rate': { event: 'crash', where: { platform: ['ios', 'android'] }, aggregate: 'any' },
};
const NAMES = ['stream_end', 'crash', 'unused'];
const T0 = Date.parse('2026-03-02T00:00:00.000Z');
const HOUR = 3_600_000;

type Ev =
  | { id: string; type: 'exposure'; unitId: string; experimentId: string; variant: string; ts: string }
  | { id: string; type: 'metric'; unitId: string; metricId: string; value: number; ts: string }
  | { id: string; type: 'event'; unitId: string; name: string; value: number; properties: { platform: string }; ts: string };

const evArb = fc.oneof(
  fc.record({ kind: fc.constant('exposure' as const), unit: fc.constantFrom(...UNITS), h: fc.integer({ min: 0, max: 96 }) }),
  fc.record({
    kind: fc.constant('metric' as const),
    unit: fc.constantFrom(...UNITS),
    metric: fc.constantFrom(...PRECOMPUTED),
    value: fc.integer({ min: 0, max: 5 }),
    h: fc.integer({ min: 0, max: 96 }),
  }),
  fc.record({
    kind: fc.constant('event' as const),
    unit: fc.constantFrom(...UNITS),
    name: fc.constantFrom(...NAMES),
    platform: fc.constantFrom('ios', 'web'),
    value: fc.integer({ min: 1, max: 9 }),
    h: fc.integer({ min: 0, max: 96 }),
  }),
);

const sourceNamesOf = (app: SqliteContainer) => () => new Set(app.deps.catalog.metrics().flatMap((m) => (m.source ? [m.source.event] : [])));

/** Random deliveries of the oracle's shape: raw arbitrary events become events of one experiment. */
const deliveryArb = fc.tuple(
  fc.array(evArb, { minLength: 1, maxLength: 70 }),
  fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
  fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 8 }),
  fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 }),
  fc.boolean(),
);

type RawEv = { kind: string; unit: string; h: number; metric?: string; value?: number; name?: string; platform?: string };

function eventsOf(raw: readonly RawEv[], expId: string): Ev[] {
  return raw.map((r, i) => {
    const ts = new Date(T0 - 48 * HOUR + r.h * HOUR).toISOString();
    if (r.kind === 'exposure') return { id: `x${i}`, type: 'exposure', unitId: r.unit, experimentId: expId, variant: armOf(r.unit), ts };
    if (r.kind === 'metric') {
      const value = r.metric === 'stream-rate' ? r.value! % 2 : r.value!;
      return { id: `m${i}`, type: 'metric', unitId: r.unit, metricId: r.metric!, value, ts };
    }
    return { id: `e${i}`, type: 'event', unitId: r.unit, name: r.name!, value: r.value!, properties: { platform: r.platform! }, ts };
  });
}

/** An event as the ingest service appends it to the log (its validation is the service's; these are all valid). */
function entryOf(e: Ev): LogEntry {
  if (e.type === 'exposure')
    return { key: `x:${e.id}`, type: 'exposure', unitId: e.unitId, ref: e.experimentId, variant: e.variant, value: null, props: null, ts: e.ts };
  if (e.type === 'metric') return { key: `m:${e.id}`, type: 'metric', unitId: e.unitId, ref: e.metricId, variant: null, value: e.value, props: null, ts: e.ts };
  return { key: `e:${e.id}`, type: 'event', unitId: e.unitId, ref: e.name, variant: null, value: e.value, props: JSON.stringify(e.properties), ts: e.ts };
}

const opened: SqliteContainer[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

/** A container on a simulated clock with the two raw-event metrics and a running experiment on every metric kind. */
async function world(fold = {}) {
  const clock = new SimulatedClock(new Date(T0));
  let n = 0;
  const app = await createContainer({ dbFile: ':memory:', clock, newId: (p) => `${p}_${n++}`, fold });
  opened.push(app);
  for (const [id, source] of Object.entries(SOURCES)) await app.deps.store.catalog.upsertMetric({ ...(await app.deps.store.catalog.metric(id))!, source });
  const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
  const config = demoConfig({
    key: 'fold-prop',
    successMetrics: ['stream-rate', 'minutes-played', 'skips-per-stream'],
    guardrails: [
      { metricId: 'crash-rate', margin: 0.02 },
      { metricId: 'latency-p90', margin: 0.1 },
    ],
  });
  const { experiment } = await app.experiments.create({ config }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  expect(v.valid).toBe(true);
  const exp = (await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
  return { app, clock, exp };
}

/** The synchronous path before the log (the oracle): the same store calls in the ack's transaction, flushed at the batch's time. */
function ingestDirect(app: SqliteContainer, events: Ev[], seen: Set<string>): void {
  const now = app.deps.clock.now().toISOString();
  const used = new Set(Object.values(SOURCES).map((s) => s.event));
  const repo = app.deps.events;
  app.deps.db.transaction(() =>
    repo.pipeline.batch(now, () => {
      for (const e of events) {
        if (e.type === 'exposure') {
          if (seen.has(`x:${e.id}`)) continue;
          seen.add(`x:${e.id}`);
          repo.addExposure({ eventId: e.id, experimentId: e.experimentId, unitId: e.unitId, variant: e.variant, ts: e.ts });
        } else if (e.type === 'metric') repo.addMetricEvent({ eventId: e.id, metricId: e.metricId, unitId: e.unitId, value: e.value, ts: e.ts });
        else repo.addProductEvent({ id: e.id, name: e.name, unitId: e.unitId, value: e.value, props: e.properties, ts: e.ts }, used.has(e.name));
      }
    }),
  )();
}

const snapshot = (app: SqliteContainer, experimentId: string) => {
  const metrics = ['stream-rate', 'minutes-played', 'skips-per-stream', 'crash-rate', 'latency-p90'];
  return {
    aggregates: Object.fromEntries(metrics.map((m) => [m, app.deps.events.aggregates(experimentId, m)])),
    daily: Object.fromEntries(metrics.map((m) => [m, app.deps.events.dailyAggregates(experimentId, m)])),
    sketch: [...app.deps.events.sketches(experimentId, 'latency-p90').entries()],
    exposures: [...app.deps.events.exposureCounts(experimentId).entries()].sort(),
    updated: app.deps.events.lastUpdatedAt(experimentId),
  };
};

/** Equal up to floating-point summation order (the fold adds units in another order than arrival). */
function expectClose(got: unknown, want: unknown, path = ''): void {
  if (typeof want === 'number' && typeof got === 'number') {
    expect(Math.abs(got - want), `${path}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
  } else if (Array.isArray(want)) {
    expect(Array.isArray(got) && got.length, path).toBe(want.length);
    want.forEach((w, i) => expectClose((got as unknown[])[i], w, `${path}[${i}]`));
  } else if (want && typeof want === 'object') {
    expect(Object.keys(got as object).sort(), path).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) expectClose((got as Record<string, unknown>)[k], w, `${path}.${k}`);
  } else expect(got, path).toEqual(want);
}

describe('event log and fold (ADR 0018)', () => {
  it('folds to exactly what the synchronous path computed, whatever the order, duplicates, lateness and fold turns', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(evArb, { minLength: 1, maxLength: 70 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        async (raw, cuts, turns, hoursBetween, dupes, workingSet) => {
          const direct = await world();
          const folded = await world({ turn: 1 + (turns[0] % 5), backlogMax: 12 });
          // Explicit turns go through a turn's working set (ADR 0020, part 2) in half the runs; back-pressure and the
          // catch-up keep the per-statement path, so both paths fold parts of one log.
          const bulk = new EventFold(folded.app.deps.db, folded.app.deps.events.log, folded.app.deps.events, sourceNamesOf(folded.app), { workingSet: true });
          const turn = () => (workingSet ? bulk.turn(1 + (turns[0] % 5)) : folded.app.fold.turn());
          expect(folded.exp.id).toBe(direct.exp.id);
          const expId = direct.exp.id;
          const events: Ev[] = raw.map((r, i) => {
            const ts = new Date(T0 - 48 * HOUR + r.h * HOUR).toISOString();
            if (r.kind === 'exposure') return { id: `x${i}`, type: 'exposure', unitId: r.unit, experimentId: expId, variant: armOf(r.unit), ts };
            if (r.kind === 'metric') {
              const value = r.metric === 'stream-rate' ? r.value % 2 : r.value;
              return { id: `m${i}`, type: 'metric', unitId: r.unit, metricId: r.metric, value, ts };
            }
            return { id: `e${i}`, type: 'event', unitId: r.unit, name: r.name, value: r.value, properties: { platform: r.platform }, ts };
          });
          const sent = dupes ? [...events, ...events.slice(0, Math.ceil(events.length / 3))] : events;
          const seen = new Set<string>();
          for (let i = 0, c = 0; i < sent.length; c++) {
            const batch = sent.slice(i, i + cuts[c % cuts.length]);
            ingestDirect(direct.app, batch, seen);
            const r = await folded.app.events.ingest({ events: batch });
            expect(r.rejected).toEqual([]);
            for (let t = turns[c % turns.length]; t > 0; t--) turn();
            // Every ack leaves the backlog within its bound (back-pressure folds the rest).
            expect(folded.app.fold.status().pending).toBeLessThanOrEqual(12);
            const hours = hoursBetween[c % hoursBetween.length];
            direct.clock.advance(hours * HOUR);
            folded.clock.advance(hours * HOUR);
            i += batch.length;
          }
          const report = await folded.app.metrics.report(expId); // get_metrics folds what is pending first
          expect(report.fold.pending).toBe(0);
          expectClose(snapshot(folded.app, expId), snapshot(direct.app, expId));
          const want = await direct.app.metrics.report(expId);
          expectClose(report.metrics, want.metrics, 'metrics');
          expect(report.exposures).toEqual(want.exposures);
          for (const c of opened.splice(0)) c.close();
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('answers duplicates at ack time, across batches and after the fold, exactly as before', async () => {
    const { app, exp } = await world();
    const batch = [
      { id: 'a', type: 'exposure', unitId: 'u1', experimentId: exp.key, variant: 'focus' },
      { id: 'b', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 },
      { type: 'event', name: 'stream_end', unitId: 'u1', value: 3, ts: new Date(T0).toISOString() },
      { type: 'event', name: 'unused', unitId: 'u1', ts: new Date(T0).toISOString() },
    ];
    expect(await app.events.ingest({ events: batch })).toMatchObject({ accepted: 4, duplicates: 0, unmatched: 1, rejected: [] });
    expect(app.fold.status().pending).toBe(4);
    expect(await app.events.ingest({ events: batch })).toMatchObject({ accepted: 0, duplicates: 4, unmatched: 0 });
    app.fold.catchUp();
    expect(app.fold.status()).toEqual({ pending: 0, lagSeconds: 0 });
    expect(await app.events.ingest({ events: batch })).toMatchObject({ accepted: 0, duplicates: 4, unmatched: 0 });
    expect(app.deps.events.exposureCounts(exp.id)).toEqual(new Map([['focus', 1]]));
  });

  it('refuses an exposure that contradicts one acknowledged but not folded yet, without folding it first', async () => {
    const { app, exp } = await world({ backlogMax: 1_000 });
    await app.events.ingest({ events: [{ id: 'a', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'focus' }] });
    expect(app.fold.status().pending).toBe(1);
    const r = await app.events.ingest({
      events: [
        { id: 'b', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'control' },
        { id: 'c', type: 'exposure', unitId: 'u2', experimentId: exp.id, variant: 'control' },
        { id: 'd', type: 'exposure', unitId: 'u2', experimentId: exp.id, variant: 'focus' },
      ],
    });
    expect(r.rejected.map((x) => [x.id, x.code])).toEqual([
      ['b', 'VARIANT_MISMATCH'],
      ['d', 'VARIANT_MISMATCH'],
    ]);
    expect(app.fold.status().pending).toBe(2); // the ack folded nothing: 'a' and 'c' wait for the fold
    // An exposure another connection appended (the served-exposure writer's thread, another process) counts as well.
    app.deps.events.writeServedExposures([{ experimentId: exp.id, unitId: 'u3', variant: 'focus', ts: new Date().toISOString() }], new Date().toISOString());
    const again = await app.events.ingest({ events: [{ id: 'e', type: 'exposure', unitId: 'u3', experimentId: exp.id, variant: 'control' }] });
    expect(again.rejected.map((x) => [x.id, x.code])).toEqual([['e', 'VARIANT_MISMATCH']]);
    // Folded, the same exposures are read from the exposures table, and the log forgets them.
    app.fold.catchUp();
    const later = await app.events.ingest({
      events: [
        { id: 'f', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'control' },
        { id: 'g', type: 'exposure', unitId: 'u3', experimentId: exp.id, variant: 'focus' },
      ],
    });
    expect(later.rejected.map((x) => [x.id, x.code])).toEqual([['f', 'VARIANT_MISMATCH']]);
    expect(later.accepted).toBe(1);
  });

  it('reports the lag of the oldest unfolded event, and get_metrics folds it before answering', async () => {
    const { app, clock, exp } = await world({ backlogMax: 1_000 });
    await app.events.ingest({ events: [{ id: 'a', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'focus' }] });
    clock.advance(90_000);
    expect(app.fold.status()).toEqual({ pending: 1, lagSeconds: 90 });
    const report = await app.metrics.report(exp.id);
    expect(report.fold).toEqual({ pending: 0, lagSeconds: 0 });
    expect(report.exposures.find((e) => e.variant === 'focus')?.units).toBe(1);
  });

  it('keeps the backlog bounded: an ack past the bound folds down to half of it before answering', async () => {
    const { app, exp } = await world({ backlogMax: 40, turn: 7 });
    const metric = (i: number) => ({ id: `m${i}`, type: 'metric', unitId: `u${i % 5}`, metricId: 'stream-rate', value: i % 2 });
    await app.events.ingest({ events: [{ id: 'x', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'focus' }] });
    app.fold.catchUp();
    const pending: number[] = [];
    for (let b = 0; b < 10; b++) {
      await app.events.ingest({ events: Array.from({ length: 15 }, (_, k) => metric(b * 15 + k)) });
      pending.push(app.fold.status().pending);
    }
    // 15, 30, then 45 > 40 folds down to 20, 35, 50 → 20, ...: never above the bound once an ack returns.
    expect(Math.max(...pending)).toBeLessThanOrEqual(40);
    expect(pending).toEqual([15, 30, 20, 35, 20, 35, 20, 35, 20, 35]);
  });

  it('never folds an entry twice when two connections (two processes) fold one data file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-fold-'));
    try {
      const file = path.join(dir, 'sealab.db');
      const clock = new SimulatedClock(new Date(T0));
      const a = await createContainer({ dbFile: file, clock, fold: { turn: 13, backlogMax: 10_000 } });
      opened.push(a);
      const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
      const config = demoConfig({ key: 'two-folders', successMetrics: ['minutes-played'], guardrails: [{ metricId: 'crash-rate', margin: 0.02 }] });
      const { experiment } = await a.experiments.create({ config }, ctx);
      const v = await a.experiments.validate({ experimentId: experiment.id }, ctx);
      const exp = (await a.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
      const b = await createContainer({ dbFile: file, clock, fold: { turn: 7, backlogMax: 10_000 } });
      opened.push(b);
      const later = new Date(T0 + HOUR).toISOString();
      await a.events.ingest({ events: UNITS.map((u, i) => ({ id: `x${i}`, type: 'exposure', unitId: u, experimentId: exp.id, variant: armOf(u) })) });
      const metric = (i: number) => ({ id: `m${i}`, type: 'metric', unitId: UNITS[i % UNITS.length], metricId: 'minutes-played', value: 1, ts: later });
      for (let k = 0; k < 10; k++) {
        await (k % 2 ? a : b).events.ingest({ events: Array.from({ length: 20 }, (_, j) => metric(k * 20 + j)) });
        for (let t = 0; t < 3; t++) (t % 2 ? b : a).fold.turn();
      }
      b.fold.catchUp();
      a.fold.catchUp();
      expect(a.fold.status().pending).toBe(0);
      const arms = a.deps.events.aggregates(exp.id, 'minutes-played');
      expect(arms.reduce((s, x) => s + x.n, 0)).toBe(UNITS.length);
      expect(arms.reduce((s, x) => s + x.sumX, 0)).toBe(200); // every event once: none lost, none folded twice
    } finally {
      for (const c of opened.splice(0)) c.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the fold and the async configuration transactions on one connection (ADR 0020)', () => {
  it('never joins an open async transaction: a turn folds nothing and an ack is refused (retryable) until it commits', async () => {
    const { app, exp } = await world({ backlogMax: 1_000 });
    const ev = (id: string) => ({ id, type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 });
    await app.events.ingest({ events: [{ id: 'x', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'focus' }, ev('m1')] });
    await app.deps.sql.tx(async (tx) => {
      await tx.get('SELECT 1 AS one');
      // As another request's synchronous work would, between the transaction's statements:
      expect(app.fold.turn()).toBe(0);
      await expect(app.events.ingest({ events: [ev('m2')] })).rejects.toThrow(expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE' }));
    });
    expect(app.fold.status().pending).toBe(2);
    expect((await app.events.ingest({ events: [ev('m2')] })).accepted).toBe(1);
    expect(app.fold.catchUp().pending).toBe(0);
  });
});

describe('the fold on its own thread (a database file)', () => {
  it('folds what the main thread acknowledges, exactly once, and hands the database back when stopped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-fold-thread-'));
    try {
      const file = path.join(dir, 'sealab.db');
      const a = await createContainer({ dbFile: file, fold: { backlogMax: 300 } });
      opened.push(a);
      const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
      const { experiment } = await a.experiments.create({ config: demoConfig({ key: 'fold-thread', successMetrics: ['streams-per-user'] }) }, ctx);
      const v = await a.experiments.validate({ experimentId: experiment.id }, ctx);
      const exp = (await a.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
      expect(a.fold.where).toBe('main');
      a.fold.start();
      expect(a.fold.where).toBe('thread');
      await a.events.ingest({ events: UNITS.map((u, i) => ({ id: `x${i}`, type: 'exposure', unitId: u, experimentId: exp.id, variant: armOf(u) })) });
      // 1,000 metric events of value 1 in batches of 100, each sent twice: the second copy is a duplicate. The backlog
      // bound (300) makes acks wait for the thread now and then; nothing is folded on this thread.
      const metric = (i: number) => ({ id: `m${i}`, type: 'metric', unitId: UNITS[i % UNITS.length], metricId: 'streams-per-user', value: 1 });
      for (let b = 0; b < 10; b++) {
        const batch = { events: Array.from({ length: 100 }, (_, k) => metric(b * 100 + k)) };
        expect((await a.events.ingest(batch)).accepted).toBe(100);
        expect((await a.events.ingest(batch)).duplicates).toBe(100);
        expect(a.fold.status().pending).toBeLessThanOrEqual(300 + 100);
      }
      // get_metrics waits asynchronously for the thread (the event loop serves meanwhile); the thread folds it.
      await a.events.ingest({ events: Array.from({ length: 100 }, (_, k) => metric(3_000 + k)) });
      expect(await a.fold.catchUpAsync()).toEqual({ pending: 0, lagSeconds: 0 });
      expect(a.fold.catchUp()).toEqual({ pending: 0, lagSeconds: 0 });
      expect(a.fold.where).toBe('thread');
      // A trickle below the gathering size is folded too, without anyone waiting: once it has waited intervalMs.
      await a.events.ingest({ events: [metric(2_000), metric(2_001)] });
      await vi.waitFor(() => expect(a.fold.status().pending).toBe(0), { timeout: 10_000, interval: 20 });
      expect(a.fold.foldedHere).toBe(0); // all of it on the fold's thread
      const arms = a.deps.events.aggregates(exp.id, 'streams-per-user');
      expect(arms.reduce((s, x) => s + x.n, 0)).toBe(UNITS.length);
      expect(arms.reduce((s, x) => s + x.sumX, 0)).toBe(1_102);
      // The thread's turns reach the ingest-lag histogram on this thread (by message).
      const lagCount = async () => (await a.opsMetrics!.ingestLag.get()).values.find((x) => x.metricName === 'sealab_ingest_lag_seconds_count')?.value;
      await vi.waitFor(async () => expect(await lagCount()).toBe(1_102 + UNITS.length));
      a.fold.stop();
      expect(a.fold.where).toBe('main');
      // Stopped, the thread has closed its connections: this one writes and folds without waiting on a lock.
      await a.events.ingest({ events: [metric(5_000)] });
      expect(a.fold.turn()).toBe(1);
      expect(a.deps.events.aggregates(exp.id, 'streams-per-user').reduce((s, x) => s + x.sumX, 0)).toBe(1_103);
    } finally {
      for (const c of opened.splice(0)) c.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('background fold turns', () => {
  it('size each turn to the time budget at the measured cost per entry, within the bounds', () => {
    const o = { turnBudgetMs: 5, minTurn: 50, turn: 2_000 };
    expect(nextTurnSize(0, o)).toBe(2_000); // nothing measured yet: the largest turn
    expect(nextTurnSize(Number.NaN, o)).toBe(2_000);
    expect(nextTurnSize(0.01, o)).toBe(500); // 10 µs an entry: 500 fit 5 ms
    expect(nextTurnSize(0.0001, o)).toBe(2_000); // cheap entries: capped
    expect(nextTurnSize(1, o)).toBe(50); // expensive entries: at least minTurn, so the fold always progresses
  });

  it('fold everything in the background, the first turn at the largest size and later ones within the bounds', async () => {
    const { app, exp } = await world({ turn: 400, minTurn: 20, turnBudgetMs: 5, intervalMs: 10 });
    const limits: number[] = [];
    const turn = app.fold.turn.bind(app.fold);
    app.fold.turn = (limit?: number) => {
      limits.push(limit ?? -1);
      return turn(limit);
    };
    const events = Array.from({ length: 1_500 }, (_, i) => ({
      id: `x${i}`,
      type: 'exposure' as const,
      unitId: `u${i}`,
      experimentId: exp.id,
      variant: exp.variants[i % 2].key,
    }));
    await app.events.ingest({ events });
    expect(app.fold.status().pending).toBe(1_500);
    app.fold.start();
    try {
      for (let i = 0; i < 600 && app.fold.status().pending; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      app.fold.stop();
    }
    expect(app.fold.status().pending).toBe(0);
    expect(app.deps.events.exposureCounts(exp.id)).toEqual(new Map(exp.variants.map((v) => [v.key, 750])));
    expect(limits[0]).toBe(400);
    for (const l of limits) expect(l).toBeGreaterThanOrEqual(20), expect(l).toBeLessThanOrEqual(400);
  });
});

const pgEngine = ENGINES.find((e) => e.name === 'postgres')!;

/** Copies the rows an experiment's fold reads (surfaces, the metric catalog, experiments) from a container's SQLite file. */
async function copyCatalog(app: SqliteContainer, sql: Sql): Promise<void> {
  for (const table of ['surfaces', 'metrics', 'experiments']) {
    for (const row of app.deps.db.prepare(`SELECT * FROM ${table}`).all() as Record<string, string | number | null>[]) {
      const cols = Object.keys(row);
      await sql.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`, Object.values(row));
    }
  }
}

const EVENT_TABLES = 'event_log, exposures, unit_metric_state, metric_aggregates, metric_daily, quantile_bins, metric_events, product_events';

async function pgSnapshot(sql: Sql, experimentId: string) {
  const reads = new EventReads(sql);
  const metrics = ['stream-rate', 'minutes-played', 'skips-per-stream', 'crash-rate', 'latency-p90'];
  const aggregates: Record<string, unknown> = {};
  const daily: Record<string, unknown> = {};
  for (const m of metrics) {
    aggregates[m] = await reads.aggregates(experimentId, m);
    daily[m] = await reads.dailyAggregates(experimentId, m);
  }
  return {
    aggregates,
    daily,
    sketch: [...(await reads.sketches(experimentId, 'latency-p90')).entries()],
    exposures: [...(await reads.exposureCounts(experimentId)).entries()].sort(),
    updated: await reads.lastUpdatedAt(experimentId),
  };
}

/** Two turns of 7 where the second reads what the first writes (read-ahead tests). */
function readAheadEvents(expId: string): Ev[] {
  const at = (h: number) => new Date(T0 - h * HOUR).toISOString();
  const x = (id: string, unitId: string, h: number): Ev => ({ id, type: 'exposure', unitId, experimentId: expId, variant: armOf(unitId), ts: at(h) });
  const m = (id: string, unitId: string, metricId: string, value: number, h: number): Ev => ({ id, type: 'metric', unitId, metricId, value, ts: at(h) });
  const raw = (id: string, unitId: string, name: string, value: number, h: number): Ev => ({
    id,
    type: 'event',
    unitId,
    name,
    value,
    properties: { platform: 'ios' },
    ts: at(h),
  });
  // Turn 1 (7 entries) exposes u1 and u2 and stores events of u3 before its exposure; turn 2 (the read-ahead) adds
  // to states turn 1 created, exposes u3 (recomputed from turn 1's stored events) and moves u1's exposure earlier
  // (re-split over turn 1's events). Read before turn 1 commits, none of that is in the database yet.
  return [
    x('x1', 'u1', 10),
    m('m1', 'u1', 'stream-rate', 1, 5),
    raw('e1', 'u1', 'stream_end', 4, 4),
    m('m2', 'u3', 'stream-rate', 2, 20),
    m('m3', 'u1', 'latency-p90', 3, 3),
    x('x2', 'u2', 10),
    m('m4', 'u2', 'stream-rate', 1, 2),
    m('m5', 'u1', 'stream-rate', 2, 1),
    raw('e2', 'u1', 'stream_end', 5, 1),
    x('x3', 'u3', 30),
    m('m6', 'u1', 'latency-p90', 7, 1),
    x('x4', 'u1', 40),
    m('m7', 'u2', 'stream-rate', 2, 1),
    raw('e3', 'u2', 'crash', 1, 1),
    m('m8', 'u3', 'stream-rate', 3, 1),
  ];
}

describe.skipIf(pgEngine.skip)(engineTitle(pgEngine, 'the event side (ADR 0020, part 2)'), () => {
  let db: EngineDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('folds to exactly what the synchronous SQLite path computed (the same oracle), whatever the order, duplicates, lateness and turns', async () => {
    db = await pgEngine.open();
    const sql = db.sql;
    let copied = false;
    await fc.assert(
      fc.asyncProperty(deliveryArb, async ([raw, cuts, turns, hoursBetween, dupes]) => {
        const direct = await world();
        const expId = direct.exp.id;
        if (!copied) await copyCatalog(direct.app, sql);
        copied = true;
        await sql.exec(`TRUNCATE ${EVENT_TABLES} RESTART IDENTITY; UPDATE fold_state SET folded_seq = 0`);
        const log = new PgEventLog(sql);
        const fold = new PgFold(sql);
        const events = eventsOf(raw as RawEv[], expId);
        const sent = dupes ? [...events, ...events.slice(0, Math.ceil(events.length / 3))] : events;
        const seen = new Set<string>();
        for (let i = 0, c = 0; i < sent.length; c++) {
          const batch = sent.slice(i, i + cuts[c % cuts.length]);
          ingestDirect(direct.app, batch, seen);
          await log.append(batch.map(entryOf), direct.clock.now().toISOString());
          for (let t = turns[c % turns.length]; t > 0; t--) await fold.turn(1 + (turns[0] % 5));
          direct.clock.advance(hoursBetween[c % hoursBetween.length] * HOUR);
          i += batch.length;
        }
        await fold.catchUp();
        expect((await log.backlog()).pending).toBe(0);
        expectClose(await pgSnapshot(sql, expId), snapshot(direct.app, expId));
        for (const c of opened.splice(0)) c.close();
      }),
      { numRuns: 25 },
    );
  }, 240_000);

  it('three pools ingesting at once, then two folding at once: every event counted exactly once, duplicates refused by id', async () => {
    db = await pgEngine.open();
    const app = await createContainer({ dbFile: ':memory:' });
    opened.push(app);
    const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
    const { experiment } = await app.experiments.create({ config: demoConfig({ key: 'pg-replicas', successMetrics: ['streams-per-user'] }) }, ctx);
    const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
    const exp = (await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
    await copyCatalog(app, db.sql);
    const [a, b, c] = await db.clients(3);
    const now = new Date(T0 + HOUR).toISOString();
    const units = Array.from({ length: 60 }, (_, i) => `u${i}`);
    await new PgEventLog(a).append(
      units.map((u, i) => entryOf({ id: `x${i}`, type: 'exposure', unitId: u, experimentId: exp.id, variant: armOf(u), ts: new Date(T0).toISOString() })),
      now,
    );
    // 3 pools × 20 batches of 25 metric events (value 1 each, 1,500 in all); every batch is sent twice, by two pools.
    const metric = (i: number): LogEntry =>
      entryOf({ id: `m${i}`, type: 'metric', unitId: units[(i * 7) % units.length], metricId: 'streams-per-user', value: 1, ts: now });
    const batches = Array.from({ length: 60 }, (_, k) => Array.from({ length: 25 }, (_, j) => metric(k * 25 + j)));
    const pools = [a, b, c].map((p) => new PgEventLog(p));
    const results = await Promise.all(
      pools.map(async (log, p) => {
        let accepted = 0;
        for (let k = p; k < batches.length; k += 3) {
          accepted += (await log.append(batches[k], now)).appended.length;
          accepted += (await log.append(batches[(k + 1) % batches.length], now)).appended.length;
        }
        return accepted;
      }),
    );
    expect(results.reduce((x, y) => x + y, 0)).toBe(1_500);
    // Two replicas fold at once in small turns: the watermark row's lock lets one fold at a time.
    const folds = [new PgFold(a), new PgFold(b)];
    const folded = await Promise.all(folds.map((f) => f.catchUp(97)));
    expect(folded[0] + folded[1]).toBe(1_560);
    const reads = new EventReads(c);
    const arms = await reads.aggregates(exp.id, 'streams-per-user');
    expect(arms.reduce((s, x) => s + x.n, 0)).toBe(60);
    expect(arms.reduce((s, x) => s + x.sumX, 0)).toBe(1_500);
    expect(await reads.exposureCounts(exp.id)).toEqual(
      new Map([
        ['control', 30],
        ['focus', 30],
      ]),
    );
    expect((await new PgEventLog(c).backlog()).pending).toBe(0);
    expect(await c.get('SELECT COUNT(*) AS n FROM metric_events')).toEqual({ n: 1_500 });
  }, 120_000);

  it("read-ahead: a turn prepared entirely before the previous one commits lays that turn's writes over what it read, and folds exactly", async () => {
    db = await pgEngine.open();
    const direct = await world();
    const expId = direct.exp.id;
    await copyCatalog(direct.app, db.sql);
    const [a, b] = await db.clients(2);
    const events = readAheadEvents(expId);
    ingestDirect(direct.app, events, new Set());
    await new PgEventLog(a).append(events.map(entryOf), direct.clock.now().toISOString());
    const phases: string[] = [];
    let prepared!: () => void;
    const aheadComputed = new Promise<void>((r) => {
      prepared = r;
    });
    const fold = new PgFold(a, {
      onPhase: (p) => {
        phases.push(p);
        if (p === 'ahead compute') prepared();
      },
    });
    // Turn 1 waits at its aggregate upsert behind a SHARE lock (reads pass) until the read-ahead has computed turn 2.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = b.tx(async (tx) => {
      await tx.exec('LOCK TABLE metric_aggregates IN SHARE MODE');
      locked();
      await held;
    });
    await isLocked;
    const first = fold.turn(7);
    await aheadComputed;
    release();
    await holder;
    expect((await first).folded).toBe(7);
    phases.length = 0;
    expect((await fold.turn(7)).folded).toBe(7);
    expect(phases).not.toContain('read'); // turn 2 was the read-ahead, not a fresh read
    await fold.catchUp(7);
    await fold.idle();
    expect((await new PgEventLog(a).backlog()).pending).toBe(0);
    expectClose(await pgSnapshot(a, expId), snapshot(direct.app, expId));
  }, 60_000);

  it('read-ahead: a turn prepared by one replica is dropped when another replica folded in between', async () => {
    db = await pgEngine.open();
    const direct = await world();
    const expId = direct.exp.id;
    await copyCatalog(direct.app, db.sql);
    const [a, b] = await db.clients(2);
    const events = readAheadEvents(expId);
    ingestDirect(direct.app, events, new Set());
    await new PgEventLog(a).append(events.map(entryOf), direct.clock.now().toISOString());
    const phases: string[] = [];
    const one = new PgFold(a, { onPhase: (p) => phases.push(p) });
    const other = new PgFold(b);
    expect((await one.turn(5)).folded).toBe(5);
    await one.idle(); // its read-ahead of entries 6–10 is ready
    expect((await other.turn(5)).folded).toBe(5); // folds 6–10 itself
    phases.length = 0;
    expect((await one.turn(5)).folded).toBe(5); // the watermark moved: 11–15, read afresh
    expect(phases).toContain('read');
    expect(await one.catchUp(5)).toBe(0);
    await Promise.all([one.idle(), other.idle()]);
    expectClose(await pgSnapshot(a, expId), snapshot(direct.app, expId));
  }, 60_000);

  it('remembered units: a replica reads again what another replica folded since its own last turn', async () => {
    db = await pgEngine.open();
    const direct = await world();
    const expId = direct.exp.id;
    await copyCatalog(direct.app, db.sql);
    const [a, b] = await db.clients(2);
    const [first, second] = [readAheadEvents(expId).slice(0, 7), readAheadEvents(expId).slice(7)];
    const log = new PgEventLog(a);
    const one = new PgFold(a);
    const other = new PgFold(b);
    // One folds the first turn and remembers u1, u2, u3; the other folds the second (the same units) behind its back.
    ingestDirect(direct.app, first, new Set());
    await log.append(first.map(entryOf), direct.clock.now().toISOString());
    expect(await one.catchUp()).toBe(7);
    ingestDirect(direct.app, second, new Set());
    await log.append(second.map(entryOf), direct.clock.now().toISOString());
    expect(await other.catchUp()).toBe(8);
    // More events for the same units: folded by the first replica, which must not trust what it remembers.
    const third: Ev[] = [
      { id: 'm9', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 4, ts: new Date(T0).toISOString() },
      { id: 'm10', type: 'metric', unitId: 'u3', metricId: 'latency-p90', value: 2, ts: new Date(T0).toISOString() },
      { id: 'e4', type: 'event', unitId: 'u2', name: 'stream_end', value: 6, properties: { platform: 'web' }, ts: new Date(T0).toISOString() },
    ];
    ingestDirect(direct.app, third, new Set());
    await log.append(third.map(entryOf), direct.clock.now().toISOString());
    expect(await one.catchUp()).toBe(3);
    await Promise.all([one.idle(), other.idle()]);
    expectClose(await pgSnapshot(a, expId), snapshot(direct.app, expId));
  }, 60_000);
});
