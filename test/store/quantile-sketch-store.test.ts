import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContainer, type SqliteContainer } from '../../src/container.js';
import { sketchOf } from '../../src/domain/quantile-sketch.js';
import { APPROVED, demoConfig } from '../helpers/app.js';

// The oracle: a unit's value for a quantile metric is the mean of its events since its first
// exposure (none before its first such event); each arm's histogram counts every such unit once.

const UNITS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
const variantOf = (unit: string) => (Number(unit.slice(1)) % 2 === 0 ? 'control' : 'focus');
const day = (d: number, h: number) => new Date(Date.UTC(2026, 0, 1 + d, h)).toISOString();

type Ev =
  | { id: string; type: 'exposure'; unitId: string; experimentId: string; variant: string; timestamp: string }
  | { id: string; type: 'metric'; unitId: string; metricId: string; value: number; timestamp: string };

const evArb = fc.oneof(
  fc.record({ kind: fc.constant('exposure' as const), unit: fc.constantFrom(...UNITS), d: fc.integer({ min: 0, max: 6 }), h: fc.integer({ min: 0, max: 23 }) }),
  fc.record({
    kind: fc.constant('metric' as const),
    unit: fc.constantFrom(...UNITS),
    value: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0.5, max: 5000, noNaN: true })),
    d: fc.integer({ min: 0, max: 6 }),
    h: fc.integer({ min: 0, max: 23 }),
  }),
);

function oracle(events: Ev[]) {
  const seen = new Set<string>();
  const accepted = events.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  const exposedAt = new Map<string, string>();
  for (const e of accepted)
    if (e.type === 'exposure' && (!exposedAt.has(e.unitId) || e.timestamp < exposedAt.get(e.unitId)!)) exposedAt.set(e.unitId, e.timestamp);
  const values: Record<string, number[]> = {};
  for (const [unit, at] of exposedAt) {
    const post = accepted.filter((e): e is Extract<Ev, { type: 'metric' }> => e.type === 'metric' && e.unitId === unit && e.timestamp >= at);
    if (post.length) (values[variantOf(unit)] ??= []).push(post.reduce((s, e) => s + e.value, 0) / post.length);
  }
  return Object.fromEntries(Object.entries(values).map(([v, xs]) => [v, sketchOf(xs)]));
}

let app: SqliteContainer;
/** Acknowledges a batch and folds it (ADR 0018), so the tables below read what the synchronous path wrote. */
const ingest = async (body: unknown) => {
  const r = await app.events.ingest(body);
  app.fold.catchUp();
  return r;
};
beforeEach(async () => {
  app = await createContainer({ dbFile: ':memory:' });
});
afterEach(() => app.close());

async function runningExperiment(key: string) {
  const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
  const config = demoConfig({
    key,
    guardrails: [
      { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
      { metricId: 'latency-p90', margin: 0.05 },
    ],
  });
  const { experiment } = await app.experiments.create({ config }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  expect(v.valid, JSON.stringify(v.findings)).toBe(true);
  return (await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
}

const stored = (experimentId: string) => Object.fromEntries(app.deps.events.sketches(experimentId, 'latency-p90'));

describe('quantile histograms kept at ingest', () => {
  it('count each unit once at the bin of its current value, for any order, batching and duplication of events', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(evArb, { minLength: 1, maxLength: 50 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (raw, cuts, dupes) => {
          app.close();
          app = await createContainer({ dbFile: ':memory:' });
          const exp = await runningExperiment(`q-${round++}`);
          const events: Ev[] = raw.map((r, i) =>
            r.kind === 'exposure'
              ? { id: `x${i}`, type: 'exposure', unitId: r.unit, experimentId: exp.id, variant: variantOf(r.unit), timestamp: day(r.d, r.h) }
              : { id: `m${i}`, type: 'metric', unitId: r.unit, metricId: 'latency-p90', value: r.value, timestamp: day(r.d, r.h) },
          );
          const sent = dupes ? [...events, ...events.slice(0, Math.ceil(events.length / 3))] : events;
          for (let i = 0, c = 0; i < sent.length; c++) {
            const size = cuts[c % cuts.length];
            expect((await ingest({ events: sent.slice(i, i + size) })).rejected).toEqual([]);
            i += size;
          }
          expect(stored(exp.id)).toEqual(oracle(sent));
          // A rebuild from the raw events gives the same histograms.
          app.deps.events.pipeline.rebuild(exp.id, new Date().toISOString());
          expect(stored(exp.id)).toEqual(oracle(sent));
        },
      ),
      { numRuns: 120, seed: 20261204 },
    );
  });

  it('moves a unit to its new bin when a second event changes its mean, and ignores events before its exposure', async () => {
    const exp = await runningExperiment('moves');
    const ev = (id: string, value: number, h: number) => ({ id, type: 'metric' as const, unitId: 'u0', metricId: 'latency-p90', value, timestamp: day(1, h) });
    await ingest({ events: [{ id: 'x', type: 'exposure', unitId: 'u0', experimentId: exp.id, variant: 'control', timestamp: day(1, 5) }] });
    await ingest({ events: [ev('pre', 9999, 1), ev('a', 100, 6)] });
    expect(stored(exp.id)).toEqual({ control: sketchOf([100]) });
    await ingest({ events: [ev('b', 300, 7)] });
    expect(stored(exp.id)).toEqual({ control: sketchOf([200]) });
  });
});
