import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createContainer, type SqliteContainer } from '../../src/container.js';
import { APPROVED, demoConfig } from '../helpers/app.js';
import { varianceSums, type RatioPreSums } from '../../src/domain/analysis/compare-arms.js';
import { meanAndVariance, summarize } from '../../src/domain/stats/index.js';

// The oracle: the definitions in the issue, computed directly from the accepted raw events.
// A unit's value is its total since first exposure (binary: 1 if that total is > 0); the CUPED
// covariate is its total before first exposure; a ratio carries post-exposure numerator and
// denominator totals, and as covariates their pre-exposure totals (the RatioPreSums of an arm, absent
// when no unit of the arm has a pre-exposure numerator or denominator). The pipeline must match this
// whatever the order, batching and duplicates.

const UNITS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
const METRICS = ['stream-rate', 'minutes-played', 'crash-rate', 'skips', 'streams-per-user'];
const BINARY = new Set(['stream-rate', 'crash-rate']);
const variantOf = (unit: string) => (Number(unit.slice(1)) % 2 === 0 ? 'control' : 'focus');
const day = (d: number, h: number) => new Date(Date.UTC(2026, 0, 1 + d, h)).toISOString();

type Ev =
  | { id: string; type: 'exposure'; unitId: string; experimentId: string; variant: string; timestamp: string }
  | { id: string; type: 'metric'; unitId: string; metricId: string; value: number; timestamp: string };

const evArb = fc.oneof(
  fc.record({ kind: fc.constant('exposure' as const), unit: fc.constantFrom(...UNITS), d: fc.integer({ min: 0, max: 6 }), h: fc.integer({ min: 0, max: 23 }) }),
  fc
    .record({
      kind: fc.constant('metric' as const),
      unit: fc.constantFrom(...UNITS),
      metric: fc.constantFrom(...METRICS),
      value: fc.integer({ min: 0, max: 5 }),
      d: fc.integer({ min: 0, max: 6 }),
      h: fc.integer({ min: 0, max: 23 }),
    })
    // Ingest refuses a binary metric's value other than 0 or 1; several 1s still make a unit's total > 1.
    .map((e) => (BINARY.has(e.metric) ? { ...e, value: e.value % 2 } : e)),
);

function oracle(events: Ev[]) {
  const seen = new Set<string>();
  const accepted = events.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  const exposedAt = new Map<string, string>();
  for (const e of accepted)
    if (e.type === 'exposure' && (!exposedAt.has(e.unitId) || e.timestamp < exposedAt.get(e.unitId)!))
      exposedAt.set(e.unitId, new Date(e.timestamp).toISOString());
  const total = (unit: string, metric: string, post: boolean) =>
    accepted
      .filter((e): e is Extract<Ev, { type: 'metric' }> => e.type === 'metric' && e.unitId === unit && e.metricId === metric)
      .filter((e) => new Date(e.timestamp).toISOString() >= exposedAt.get(unit)! === post)
      .reduce((s, e) => s + e.value, 0);
  const arms = (_metric: string, f: (unit: string) => [number, number]) => {
    const out: Record<string, { n: number; sumX: number; sumX2: number; sumY: number; sumY2: number; sumXY: number }> = {};
    for (const unit of exposedAt.keys()) {
      const a = (out[variantOf(unit)] ??= { n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 });
      const [x, y] = f(unit);
      Object.assign(a, { n: a.n + 1, sumX: a.sumX + x, sumX2: a.sumX2 + x * x, sumY: a.sumY + y, sumY2: a.sumY2 + y * y, sumXY: a.sumXY + x * y });
    }
    return out;
  };
  const ind = (v: number) => (v > 0 ? 1 : 0);
  const ratio = arms('skips-per-stream', (u) => [total(u, 'skips', true), total(u, 'streams-per-user', true)]);
  const ratioPre: Record<string, Record<string, number> | undefined> = {};
  for (const unit of exposedAt.keys()) {
    const [m, d, mp, dp] = [
      total(unit, 'skips', true),
      total(unit, 'streams-per-user', true),
      total(unit, 'skips', false),
      total(unit, 'streams-per-user', false),
    ];
    const terms = {
      preNumSum: mp,
      preNumSumSquares: mp * mp,
      preDenSum: dp,
      preDenSumSquares: dp * dp,
      numPreNumSum: m * mp,
      numPreDenSum: m * dp,
      denPreNumSum: d * mp,
      denPreDenSum: d * dp,
      preNumPreDenSum: mp * dp,
    };
    const a = (ratioPre[variantOf(unit)] ??= Object.fromEntries(Object.keys(terms).map((k) => [k, 0])));
    for (const [k, v] of Object.entries(terms)) a[k] += v;
  }
  for (const [variant, pre] of Object.entries(ratioPre)) if (pre!.preNumSumSquares === 0 && pre!.preDenSumSquares === 0) ratioPre[variant] = undefined;
  return {
    'stream-rate': arms('stream-rate', (u) => [ind(total(u, 'stream-rate', true)), ind(total(u, 'stream-rate', false))]),
    'minutes-played': arms('minutes-played', (u) => [total(u, 'minutes-played', true), total(u, 'minutes-played', false)]),
    'crash-rate': arms('crash-rate', (u) => [ind(total(u, 'crash-rate', true)), ind(total(u, 'crash-rate', false))]),
    'skips-per-stream': ratio,
    ratioPre,
  };
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
    successMetrics: ['stream-rate', 'minutes-played', 'skips-per-stream'],
    guardrails: [{ metricId: 'crash-rate', margin: 0.02 }],
  });
  const { experiment } = await app.experiments.create({ config }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  expect(v.valid).toBe(true);
  return (await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
}

const stored = (experimentId: string, metricId: string) =>
  Object.fromEntries(app.deps.events.aggregates(experimentId, metricId).map(({ variant, ...rest }) => [variant, rest]));

describe('metric pipeline: sufficient statistics kept exact at ingest', () => {
  it('matches the definition for any order, batching and duplication of events', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(evArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (raw, cuts, dupes) => {
          app.close();
          app = await createContainer({ dbFile: ':memory:' }); // units are shared across experiments, so each run starts clean
          const exp = await runningExperiment(`prop-${round++}`);
          const events: Ev[] = raw.map((r, i) =>
            r.kind === 'exposure'
              ? { id: `${exp.id}-x${i}`, type: 'exposure', unitId: r.unit, experimentId: exp.id, variant: variantOf(r.unit), timestamp: day(r.d, r.h) }
              : { id: `${exp.id}-m${i}`, type: 'metric', unitId: r.unit, metricId: r.metric, value: r.value, timestamp: day(r.d, r.h) },
          );
          const sent = dupes ? [...events, ...events.slice(0, Math.ceil(events.length / 3))] : events;
          for (let i = 0, c = 0; i < sent.length; c++) {
            const size = cuts[c % cuts.length];
            const r = await ingest({ events: sent.slice(i, i + size) });
            expect(r.rejected).toEqual([]);
            i += size;
          }
          const { ratioPre, ...expected } = oracle(sent);
          for (const [metricId, arms] of Object.entries(expected)) {
            const got = stored(exp.id, metricId);
            expect(Object.keys(got).sort()).toEqual(Object.keys(arms).sort());
            for (const [variant, a] of Object.entries(arms)) {
              for (const k of Object.keys(a) as (keyof typeof a)[]) expect(got[variant][k]).toBeCloseTo(a[k], 9);
            }
          }
          const ratioArms = stored(exp.id, 'skips-per-stream');
          for (const [variant, pre] of Object.entries(ratioPre)) {
            if (pre === undefined) expect(ratioArms[variant].ratioPre).toBeUndefined();
            else for (const [k, v] of Object.entries(pre)) expect(ratioArms[variant].ratioPre?.[k as keyof RatioPreSums]).toBeCloseTo(v, 9);
          }
          // Every run lands within one day, so the day's snapshot is the aggregates, ratio pre sums included.
          const daily = app.deps.events.dailyAggregates(exp.id, 'skips-per-stream').map(({ day: _day, variant, ...rest }) => [variant, rest]);
          expect(Object.fromEntries(daily)).toEqual(ratioArms);
          // A rebuild from the raw tables gives the same aggregates as the incremental path.
          const before = Object.fromEntries(Object.keys(expected).map((m) => [m, stored(exp.id, m)]));
          app.deps.events.pipeline.rebuild(exp.id, new Date().toISOString());
          for (const m of Object.keys(expected)) expect(stored(exp.id, m)).toEqual(before[m]);
        },
      ),
      { numRuns: 150, seed: 20261126 },
    );
  });

  it('keeps a daily snapshot of the aggregates for the look history', async () => {
    const exp = await runningExperiment('daily');
    await ingest({
      events: [
        { id: 'a', type: 'exposure', unitId: 'u0', experimentId: exp.id, variant: 'control', timestamp: day(0, 1) },
        { id: 'b', type: 'metric', unitId: 'u0', metricId: 'minutes-played', value: 7, timestamp: day(0, 2) },
      ],
    });
    const daily = app.deps.events.dailyAggregates(exp.id, 'minutes-played');
    expect(daily).toHaveLength(1);
    expect(daily[0]).toMatchObject({ variant: 'control', n: 1, sumX: 7, sumX2: 49, day: new Date().toISOString().slice(0, 10) });
  });

  it('stores no state for a unit exposed without events, counts it all the same, and creates its state at its first event', async () => {
    const exp = await runningExperiment('no-state');
    const states = () => (app.deps.db.prepare('SELECT COUNT(*) AS n FROM unit_metric_state WHERE experiment_id = ?').get(exp.id) as { n: number }).n;
    await ingest({ events: [{ id: 'x', type: 'exposure', unitId: 'u0', experimentId: exp.id, variant: 'control', timestamp: day(0, 1) }] });
    expect(states()).toBe(0);
    expect(stored(exp.id, 'minutes-played').control).toMatchObject({ n: 1, sumX: 0 });
    await ingest({ events: [{ id: 'm', type: 'metric', unitId: 'u0', metricId: 'minutes-played', value: 7, timestamp: day(0, 2) }] });
    expect(states()).toBe(1);
    expect(stored(exp.id, 'minutes-played').control).toMatchObject({ n: 1, sumX: 7, sumX2: 49 });
  });
});

describe('metric pipeline: variances at a large offset (issue 10, defect 2)', () => {
  // Oracle: the two-pass definitions over the unit values, Σ(x − x̄)²/(n − 1) and Σ(x − x̄)(y − ȳ)/(n − 1),
  // with compensated sums (their own error near 3·10⁶ with unit spread is ~1e-15 relative). The store's
  // shifted sums (reference: the catalog baseline 3·10⁶) must match to 1e-9 relative (variances) and
  // 1e-9·sd_x·sd_y (covariance). Raw sums accumulated one by one keep only ~3 digits here.
  const twoPass = (xs: number[], ys: number[]) => {
    const mx = summarize(xs).sum / xs.length;
    const my = summarize(ys).sum / ys.length;
    const dx = xs.map((x) => x - mx);
    const dy = ys.map((y) => y - my);
    const n1 = xs.length - 1;
    return { varX: summarize(dx).sumSquares / n1, varY: summarize(dy).sumSquares / n1, cov: summarize(dx.map((d, i) => d * dy[i])).sum / n1, mx };
  };
  const unitArb = fc.record({
    pre: fc.integer({ min: -2000, max: 2000 }),
    post: fc.integer({ min: -2000, max: 2000 }),
    extra: fc.integer({ min: 0, max: 1500 }),
  });

  it('matches the two-pass variance and covariance for values near 3·10⁶ ± 1, whatever the batching', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(unitArb, { minLength: 4, maxLength: 24 }), fc.integer({ min: 1, max: 9 }), async (units, cut) => {
        app.close();
        app = await createContainer({ dbFile: ':memory:' });
        const base = (await app.deps.store.catalog.metric('minutes-played'))!;
        await app.deps.store.catalog.upsertMetric({ ...base, id: 'session-start', name: 'Session start', baselineMean: 3e6, baselineVariance: 1 });
        const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
        const config = demoConfig({ key: `offset-${round++}`, successMetrics: ['session-start'] });
        const { experiment } = await app.experiments.create({ config }, ctx);
        const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
        const exp = (await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
        const events: Ev[] = units.flatMap((u, i) => {
          const unitId = `u${i}`;
          const m = (id: string, value: number, d: number) => ({
            id: `${exp.id}-${id}${i}`,
            type: 'metric' as const,
            unitId,
            metricId: 'session-start',
            value,
            timestamp: day(d, 1),
          });
          return [
            m('pre', 3e6 + u.pre / 1000, 0),
            { id: `${exp.id}-x${i}`, type: 'exposure' as const, unitId, experimentId: exp.id, variant: variantOf(unitId), timestamp: day(1, 0) },
            m('post', 3e6 + u.post / 1000, 2),
            ...(u.extra > 0 ? [m('extra', u.extra / 1000, 3)] : []),
          ];
        });
        for (let i = 0; i < events.length; i += cut) expect((await ingest({ events: events.slice(i, i + cut) })).rejected).toEqual([]);
        for (const arm of app.deps.events.aggregates(exp.id, 'session-start')) {
          const mine = units.map((u, i) => ({ u, i })).filter(({ i }) => variantOf(`u${i}`) === arm.variant);
          fc.pre(mine.length >= 2);
          const xs = mine.map(({ u }) => 3e6 + u.post / 1000 + (u.extra > 0 ? u.extra / 1000 : 0));
          const ys = mine.map(({ u }) => 3e6 + u.pre / 1000);
          const want = twoPass(xs, ys);
          const s = varianceSums(arm);
          expect(s.shiftX).toBe(3e6);
          const x = meanAndVariance({ n: s.n, sum: s.sumX, sumSquares: s.sumX2, shift: s.shiftX });
          const y = meanAndVariance({ n: s.n, sum: s.sumY, sumSquares: s.sumY2, shift: s.shiftY });
          const cov = (s.sumXY - (s.sumX * s.sumY) / s.n) / (s.n - 1);
          expect(Math.abs(x!.variance / want.varX - 1)).toBeLessThanOrEqual(1e-9);
          expect(Math.abs(y!.variance / want.varY - 1)).toBeLessThanOrEqual(1e-9);
          expect(Math.abs(cov - want.cov)).toBeLessThanOrEqual(1e-9 * Math.sqrt(want.varX * want.varY));
          expect(Math.abs(x!.mean / want.mx - 1)).toBeLessThanOrEqual(1e-15);
        }
      }),
      { numRuns: 40, seed: 20261206 },
    );
  });
});

describe('get_metrics on corrupted aggregates (issue 10, defect 1)', () => {
  it('reports the cell not_computable with the reason, never significant', async () => {
    const exp = await runningExperiment('corrupt');
    const events = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'].flatMap((unitId, i) => [
      { id: `x${i}`, type: 'exposure' as const, unitId, experimentId: exp.id, variant: variantOf(unitId), timestamp: day(0, 1) },
      { id: `m${i}`, type: 'metric' as const, unitId, metricId: 'minutes-played', value: 10 + i, timestamp: day(0, 2) },
    ]);
    expect((await ingest({ events })).rejected).toEqual([]);
    // Σx² (raw and shifted) set to 0 while Σx is not: no real values give that.
    app.deps.db
      .prepare(
        "UPDATE metric_aggregates SET sum_x2 = 0, sum_dx2 = 0, sum_dx2_lo = 0 WHERE experiment_id = ? AND metric_id = 'minutes-played' AND variant = 'focus'",
      )
      .run(exp.id);
    const report = await app.metrics.report(exp.id);
    const cell = report.metrics.find((m) => m.metricId === 'minutes-played')!.variants.find((v) => v.variant === 'focus')!;
    expect(cell).toMatchObject({ assessment: 'not_computable', significant: false, pValue: null });
    expect(cell.note).toMatch(/^treatment: .*by more than rounding/);
  });
});
