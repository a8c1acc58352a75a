import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createContainer, type SqliteContainer } from '../../../src/container.js';
import { APPROVED } from '../../helpers/app.js';
import { AppError } from '../../../src/errors.js';
import type { WriteContext } from '../../../src/app/context.js';
import type { Experiment } from '../../../src/domain/schemas.js';

const ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };

function config(key: string) {
  return {
    key,
    name: `Experiment ${key}`,
    hypothesis: 'A focus shelf raises stream rate because people work to music.',
    owner: 'home-team',
    surfaceId: 'home',
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
    ],
    allocationPercent: 10,
    successMetrics: ['stream-rate', 'minutes-played'],
    guardrails: [{ metricId: 'crash-rate', margin: 0.02 }],
    // No CUPED here: these tests check the aggregation by hand against raw (unadjusted) differences.
    analysisPlan: { durationDays: 14, cuped: false },
  };
}

async function errorOf(fn: () => unknown): Promise<AppError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError, got none');
}

let app: SqliteContainer;
const count = (table: string) => (app.deps.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

beforeEach(async () => {
  app = await createContainer({ dbFile: ':memory:' });
});
afterEach(() => app.close());

async function running(key: string): Promise<Experiment> {
  const { experiment } = await app.experiments.create({ config: config(key) }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id });
  expect(v.valid).toBe(true);
  return (await app.deploys.deploy({ experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED }, ctx))
    .experiment;
}

const exposure = (id: string, experimentId: string, unitId: string, variant: string, timestamp?: string) => ({
  id,
  type: 'exposure',
  experimentId,
  unitId,
  variant,
  ...(timestamp ? { timestamp } : {}),
});
const metric = (id: string, metricId: string, unitId: string, value: number, timestamp?: string) => ({
  id,
  type: 'metric',
  metricId,
  unitId,
  value,
  ...(timestamp ? { timestamp } : {}),
});

describe('ingest', () => {
  it('accepts the valid events of a mixed batch and reports the invalid ones by index with a code', async () => {
    const exp = await running('a');
    const draft = (await app.experiments.create({ config: config('draft') }, ctx)).experiment;
    const batch = [
      exposure('e0', exp.id, 'u1', 'control'),
      { id: 'e1', type: 'exposure', unitId: 'u1' },
      metric('e2', 'stream-rate', 'u1', 1),
      { id: 'e3', type: 'metric', metricId: 'stream-rate', unitId: 'u1', value: 'yes' },
      42,
      exposure('e5', 'exp_nope', 'u1', 'control'),
      exposure('e6', exp.id, 'u1', 'purple'),
      metric('e7', 'happiness', 'u1', 1),
      exposure('e8', draft.id, 'u1', 'control'),
      exposure('e0', exp.id, 'u1', 'control'),
      metric('e10', 'stream-rate', 'u1', 1, 'yesterday'),
    ];
    const r = await app.events.ingest({ events: batch }, ctx);
    expect(r.accepted).toBe(2);
    expect(r.duplicates).toBe(1);
    expect(r.rejected.map(({ index, id, code }) => ({ index, id, code }))).toEqual([
      { index: 1, id: 'e1', code: 'INVALID_EVENT' },
      { index: 3, id: 'e3', code: 'INVALID_EVENT' },
      { index: 4, id: null, code: 'INVALID_EVENT' },
      { index: 5, id: 'e5', code: 'UNKNOWN_EXPERIMENT' },
      { index: 6, id: 'e6', code: 'UNKNOWN_VARIANT' },
      { index: 7, id: 'e7', code: 'UNKNOWN_METRIC' },
      { index: 8, id: 'e8', code: 'NOT_RUNNING' },
      { index: 10, id: 'e10', code: 'INVALID_EVENT' },
    ]);
    for (const x of r.rejected) expect(x.message.length).toBeGreaterThan(0);
    expect(count('event_log')).toBe(2); // acknowledged: appended to the log, folded later (ADR 0018)
    expect(count('exposures')).toBe(0);
    app.fold.catchUp();
    expect(count('exposures')).toBe(1);
    expect(count('metric_events')).toBe(1);
    const [audit] = app.deps.events.log.batchAudit('r1'); // beside the appends, in the log's file
    expect(audit.after).toMatchObject({ received: batch.length, accepted: 2, duplicates: 1, rejected: 8 });
  });

  it('counts a repeated event id once, across batches too', async () => {
    const exp = await running('a');
    const batch = { events: [exposure('x1', exp.id, 'u1', 'control'), metric('x2', 'minutes-played', 'u1', 5)] };
    expect(await app.events.ingest(batch)).toEqual({ accepted: 2, duplicates: 0, unmatched: 0, rejected: [] });
    expect(await app.events.ingest(batch)).toEqual({ accepted: 0, duplicates: 2, unmatched: 0, rejected: [] });
    // A different payload under a seen id is still the same event.
    expect(await app.events.ingest({ events: [metric('x2', 'minutes-played', 'u1', 500)] })).toEqual({
      accepted: 0,
      duplicates: 1,
      unmatched: 0,
      rejected: [],
    });
    app.fold.catchUp(); // the tables hold what is folded
    expect(count('metric_events')).toBe(1);
    const minutes = (await app.metrics.report(exp.id)).metrics.find((m) => m.metricId === 'minutes-played')!;
    expect(minutes.variants.find((v) => v.variant === 'control')!.mean).toBe(5);
  });

  it('refuses a malformed batch as a whole', async () => {
    for (const body of [{}, { events: [] }, { events: 'x' }, null]) {
      expect((await errorOf(() => app.events.ingest(body))).code).toBe('INVALID_INPUT');
    }
    expect(count('events')).toBe(0);
  });
});

describe('metrics report', () => {
  const at = (hhmm: string) => `2026-11-20T${hhmm}:00Z`;

  /**
   * Hand-built data. Exposure times: u1, u2, u3, u4 at 11:00; u5 first reported at 12:00, then a late
   * exposure at 10:30 moves its first exposure back.
   *
   * minutes-played (sum since first exposure): u1 = 10 + 20 (the 100 at 10:00 is before exposure) = 30;
   * u2 = 0 (its 50 at 12:30+02:00 is 10:30Z, before exposure); u3 = 5 + 2 (an event exactly at exposure
   * counts) = 7; u4 = 15; u5 = 40 (at 11:00, after its 10:30 exposure).
   * control: (30 + 0) / 2 = 15; treatment: (7 + 15 + 40) / 3 = 62/3.
   *
   * stream-rate (binary, a unit counts once): u1 has two streams → 1; u2 streamed only before exposure → 0;
   * u3 sent a 0 → 0; u4 → 1; u5 → 1. control 1/2, treatment 2/3.
   */
  async function load(exp: Experiment) {
    const r = await app.events.ingest({
      events: [
        exposure('x1', exp.id, 'u1', 'control', at('11:00')),
        exposure('x2', exp.id, 'u2', 'control', at('11:00')),
        exposure('x3', exp.id, 'u3', 'treatment', at('11:00')),
        exposure('x4', exp.id, 'u4', 'treatment', at('11:00')),
        exposure('x5', exp.id, 'u5', 'treatment', at('12:00')),
        exposure('x5-late', exp.id, 'u5', 'treatment', at('10:30')),
        metric('m1', 'minutes-played', 'u1', 100, at('10:00')),
        metric('m2', 'minutes-played', 'u1', 10, at('11:30')),
        metric('m3', 'minutes-played', 'u1', 20, at('12:00')),
        metric('m4', 'minutes-played', 'u2', 50, '2026-11-20T12:30:00+02:00'),
        metric('m5', 'minutes-played', 'u3', 5, at('11:05')),
        metric('m6', 'minutes-played', 'u3', 2, at('11:00')),
        metric('m7', 'minutes-played', 'u4', 15, at('13:00')),
        metric('m8', 'minutes-played', 'u5', 40, at('11:00')),
        metric('m9', 'minutes-played', 'u-never-exposed', 1000, at('11:00')),
        metric('s1', 'stream-rate', 'u1', 1, at('11:10')),
        metric('s2', 'stream-rate', 'u1', 1, at('11:20')),
        metric('s3', 'stream-rate', 'u2', 1, at('10:00')),
        metric('s4', 'stream-rate', 'u3', 0, at('11:30')),
        metric('s5', 'stream-rate', 'u4', 1, at('12:00')),
        metric('s6', 'stream-rate', 'u5', 1, at('11:00')),
      ],
    });
    expect(r.rejected).toEqual([]);
  }

  it('summarises each variant by hand-computed means', async () => {
    const exp = await running('a');
    await load(exp);
    const report = await app.metrics.report(exp.id);
    expect(report.exposures).toEqual([
      { variant: 'control', weight: 50, units: 2 },
      { variant: 'treatment', weight: 50, units: 3 },
    ]);
    expect(Date.parse(report.dataUpdatedAt!)).toBeGreaterThan(Date.now() - 60_000); // freshness: when the statistics last changed
    expect(report.metrics.map((m) => [m.metricId, m.role])).toEqual([
      ['stream-rate', 'success'],
      ['minutes-played', 'success'],
      ['crash-rate', 'guardrail'],
    ]);

    const byVariant = (metricId: string) => Object.fromEntries(report.metrics.find((m) => m.metricId === metricId)!.variants.map((v) => [v.variant, v]));

    const minutes = byVariant('minutes-played');
    expect(minutes.control).toMatchObject({ isControl: true, units: 2, mean: 15, assessment: 'control', absolute: null });
    expect(minutes.treatment.units).toBe(3);
    expect(minutes.treatment.mean).toBeCloseTo(62 / 3, 12);
    expect(minutes.treatment.absolute!.estimate).toBeCloseTo(62 / 3 - 15, 12);
    expect(minutes.treatment.relative!.estimate).toBeCloseTo((62 / 3 - 15) / 15, 12);
    expect(minutes.treatment.significant).toBe(false);
    expect(minutes.treatment.assessment).toBe('no_detectable_change');

    const streams = byVariant('stream-rate');
    expect(streams.control).toMatchObject({ units: 2, mean: 0.5 });
    expect(streams.treatment.units).toBe(3);
    expect(streams.treatment.mean).toBeCloseTo(2 / 3, 12);

    const crashes = byVariant('crash-rate');
    expect(crashes.control).toMatchObject({ units: 2, mean: 0 });
    expect(crashes.treatment).toMatchObject({ units: 3, mean: 0, significant: false });
  });

  it('keeps the variant of the first exposure when a unit is later reported in another variant', async () => {
    const exp = await running('a');
    await app.events.ingest({ events: [exposure('y1', exp.id, 'u1', 'control', at('11:00')), exposure('y2', exp.id, 'u1', 'treatment', at('12:00'))] });
    expect((await app.metrics.report(exp.id)).exposures.map((e) => e.units)).toEqual([1, 0]);
  });

  it('counts units exposed through the assignment endpoint', async () => {
    const exp = await running('a');
    let assigned = 0;
    for (let i = 0; i < 3000; i++) if (app.events.assign('home', `unit-${i}`).assignments.some((a) => a.experimentId === exp.id)) assigned++;
    // A repeated assignment is the same exposure.
    for (let i = 0; i < 100; i++) app.events.assign('home', `unit-${i}`);
    const report = await app.metrics.report(exp.id);
    expect(report.exposures.reduce((s, e) => s + e.units, 0)).toBe(assigned);
    // 10% of the surface: about 300 of 3000.
    expect(Math.abs(assigned / 3000 - 0.1)).toBeLessThan(4.5 * Math.sqrt(0.09 / 3000));
  });
});

describe('sticky exposures', () => {
  it('rejects an exposure to a second variant for the same unit and keeps the first', async () => {
    const exp = (await app.experiments.create({ config: config('sticky') }, ctx)).experiment;
    const v = await app.experiments.validate({ experimentId: exp.id }, ctx);
    await app.deploys.deploy({ experimentId: exp.id, version: exp.version, planHash: v.planHash!, confirmation: APPROVED }, ctx);
    const first = await app.events.ingest(
      { events: [{ id: 's1', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'control', timestamp: '2026-01-02T00:00:00Z' }] },
      ctx,
    );
    expect(first.accepted).toBe(1);
    const second = await app.events.ingest(
      { events: [{ id: 's2', type: 'exposure', unitId: 'u1', experimentId: exp.id, variant: 'treatment', timestamp: '2026-01-01T00:00:00Z' }] },
      ctx,
    );
    expect(second).toMatchObject({ accepted: 0, rejected: [{ index: 0, id: 's2', code: 'VARIANT_MISMATCH' }] });
    app.fold.catchUp(); // the exposures table holds what is folded
    const row = app.deps.db.prepare('SELECT variant, first_exposed_at FROM exposures WHERE unit_id = ?').get('u1');
    expect(row).toEqual({ variant: 'control', first_exposed_at: '2026-01-02T00:00:00.000Z' });
  });
});
