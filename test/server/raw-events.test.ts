import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { Metric } from '../../src/domain/schemas.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { demoConfig, permissivePolicy, tableCounts, testContainer, testHttp } from '../helpers/app.js';

// POST /v1/events with raw product events (issue 14 item 3), over HTTP against the hono app.

let app: SqliteContainer;
let http: HttpApp;

beforeEach(async () => {
  app = await testContainer({ policy: permissivePolicy() });
  http = testHttp(app);
});
afterEach(async () => {
  await http.close();
  app.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await http.app.request(path, {
    method,
    headers: { host: '127.0.0.1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
}

const post = (events: unknown[]) => call('POST', '/v1/events', { events });
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const base = { description: 'test', direction: 'increase', isGuardrail: false } as const;
/** Streams per user in the 7 days after exposure, music only on phones; minutes capped at 60 per user. */
const STREAMS: Metric = {
  ...base,
  id: 'phone-streams',
  name: 'Phone streams',
  kind: 'count',
  baselineMean: 2,
  baselineVariance: 4,
  source: { event: 'stream_start', where: { platform: ['ios', 'android'], track_type: 'music' }, aggregate: 'count', windowHours: 168 },
};
const MINUTES: Metric = {
  ...base,
  id: 'stream-minutes',
  name: 'Minutes streamed',
  kind: 'mean',
  baselineMean: 30,
  baselineVariance: 400,
  source: { event: 'stream_end', aggregate: 'sum' },
  capMax: 60,
};

async function deploy(successMetrics: string[]): Promise<string> {
  const created = await call('POST', '/v1/experiments', { config: demoConfig({ successMetrics, allocationPercent: 50 }) });
  expect(created.status, created.text).toBe(201);
  const id: string = created.json.experiment.id;
  const v = await call('POST', `/v1/experiments/${id}/validate`);
  expect(v.json.valid, v.text).toBe(true);
  const d = await call('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: v.json.planHash });
  expect(d.status, d.text).toBe(200);
  return id;
}

describe('POST /v1/events: raw product events', () => {
  it('stores them once by id, or by content without one, and counts those no metric uses yet', async () => {
    await app.deps.store.catalog.upsertMetric(STREAMS);
    const ts = '2026-11-26T10:00:00Z';
    const play = { type: 'event', name: 'stream_start', unitId: 'u1', properties: { platform: 'ios', track_type: 'music' }, ts };
    const r = await post([
      { ...play, id: 'p1' },
      { ...play, id: 'p1' }, // the same id in the same batch
      play, // no id: identified by its content
      { ...play, properties: { track_type: 'music', platform: 'ios' }, value: 1, timestamp: '2026-11-26T11:00:00+01:00' }, // the same content
      { type: 'event', name: 'app_open', unitId: 'u1', ts }, // no metric uses it (yet)
    ]);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ accepted: 3, duplicates: 2, unmatched: 1, rejected: [] });
    app.fold.catchUp(); // acknowledged in the event log, then folded (ADR 0018)
    const rows = app.deps.db.prepare('SELECT id, name, unit_id AS unitId, value, props, ts FROM product_events ORDER BY name, id').all();
    expect(rows).toEqual([
      { id: expect.stringMatching(/^h:[0-9a-f]{64}$/), name: 'app_open', unitId: 'u1', value: 1, props: null, ts: '2026-11-26T10:00:00.000Z' },
      {
        id: expect.stringMatching(/^h:/),
        name: 'stream_start',
        unitId: 'u1',
        value: 1,
        props: '{"platform":"ios","track_type":"music"}',
        ts: '2026-11-26T10:00:00.000Z',
      },
      { id: 'p1', name: 'stream_start', unitId: 'u1', value: 1, props: '{"platform":"ios","track_type":"music"}', ts: '2026-11-26T10:00:00.000Z' },
    ]);
    // A retried batch counts nothing twice.
    const replay = await post([{ ...play, id: 'p1' }, play]);
    expect(replay.json).toEqual({ accepted: 0, duplicates: 2, unmatched: 0, rejected: [] });
  });

  it('refuses bad events one by one with a reason, counted by reason in /metrics, and stores the rest', async () => {
    await app.deps.store.catalog.upsertMetric(STREAMS);
    const ok = { type: 'event', name: 'stream_start', unitId: 'u1', ts: '2026-11-26T10:00:00Z' };
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]));
    const counts = tableCounts(app);
    const r = await post([
      ok,
      { type: 'event', name: 'stream_start', unitId: 'u1' },
      { ...ok, timestamp: '2026-11-26T11:00:00Z' },
      { ...ok, properties: { nested: { a: 1 } } },
      { ...ok, properties: many },
      { ...ok, properties: { long: 'x'.repeat(257) } },
      { ...ok, properties: { ['k'.repeat(65)]: 1 } },
      { ...ok, sessionId: 's1' },
      { ...ok, name: 'has spaces' },
      { ...ok, value: 'seven' },
      { id: 'm1', type: 'metric', unitId: 'u1', metricId: 'phone-streams', value: 3 },
    ]);
    expect(r.status, r.text).toBe(200);
    expect(r.json.accepted).toBe(1);
    expect(r.json.rejected.map((x: { index: number; code: string }) => [x.index, x.code])).toEqual([
      [1, 'INVALID_EVENT'],
      [2, 'INVALID_EVENT'],
      [3, 'INVALID_EVENT'],
      [4, 'PROPERTIES_TOO_LARGE'],
      [5, 'PROPERTIES_TOO_LARGE'],
      [6, 'PROPERTIES_TOO_LARGE'],
      [7, 'INVALID_EVENT'],
      [8, 'INVALID_EVENT'],
      [9, 'INVALID_EVENT'],
      [10, 'METRIC_FROM_EVENTS'],
    ]);
    const message = (i: number) => r.json.rejected.find((x: { index: number }) => x.index === i).message;
    expect(message(1)).toMatch(/^ts: required/);
    expect(message(2)).toMatch(/disagree/);
    expect(message(3)).toMatch(/properties are flat/);
    expect(message(4)).toMatch(/at most 32 properties/);
    expect(message(7)).toBe("unknown field 'sessionId' (event attributes go in properties)");
    expect(message(10)).toBe(
      `metric 'phone-streams' is computed from raw 'stream_start' events: send {"type":"event","name":"stream_start",...}, not its values`,
    );
    app.fold.catchUp();
    expect(tableCounts(app).product_events).toBe(counts.product_events + 1);
    expect(tableCounts(app).metric_events).toBe(counts.metric_events);

    const scrape = await call('GET', '/metrics');
    expect(sample(scrape.text, 'sealab_events_accepted_total{type="event"}')).toBe(1);
    expect(sample(scrape.text, 'sealab_events_rejected_total{reason="invalid_event"}')).toBe(6);
    expect(sample(scrape.text, 'sealab_events_rejected_total{reason="properties_too_large"}')).toBe(3);
    expect(sample(scrape.text, 'sealab_events_rejected_total{reason="metric_from_events"}')).toBe(1);
  });

  it('answers 422 and writes nothing when every raw event is refused', async () => {
    const counts = tableCounts(app);
    const r = await post([{ type: 'event', name: 'x', unitId: 'u1' }]);
    expect(r.status).toBe(422);
    expect(r.json).toEqual({
      accepted: 0,
      duplicates: 0,
      unmatched: 0,
      rejected: [{ index: 0, id: null, code: 'INVALID_EVENT', message: expect.any(String) }],
    });
    expect(tableCounts(app)).toEqual(counts);
  });

  it('feeds get_metrics: filters, the 7-day window, the cap, and events sent before the metric existed', async () => {
    const exposedAt = Date.parse('2026-11-20T00:00:00Z');
    const at = (hours: number) => new Date(exposedAt + hours * 3_600_000).toISOString();
    const units = ['a0', 'a1', 'a2', 'a3'];
    // Sent before any metric uses the events: stored, counted as unmatched, read when the units are exposed.
    const early = await post([
      { type: 'event', name: 'stream_start', unitId: 'a0', properties: { platform: 'ios', track_type: 'music' }, ts: at(1) },
      { type: 'event', name: 'stream_end', unitId: 'a0', value: 45, ts: at(2) },
    ]);
    expect(early.json).toMatchObject({ accepted: 2, unmatched: 2 });
    await app.deps.store.catalog.upsertMetric(STREAMS);
    await app.deps.store.catalog.upsertMetric(MINUTES);
    const id = await deploy(['phone-streams', 'stream-minutes']);
    const variant = (u: string) => (u === 'a0' || u === 'a1' ? 'control' : 'focus');
    const r = await post([
      ...units.map((unitId) => ({ id: `x-${unitId}`, type: 'exposure', unitId, experimentId: id, variant: variant(unitId), ts: at(0) })),
      { type: 'event', name: 'stream_start', unitId: 'a1', properties: { platform: 'android', track_type: 'music' }, ts: at(5) },
      { type: 'event', name: 'stream_start', unitId: 'a1', properties: { platform: 'web', track_type: 'music' }, ts: at(6) }, // filtered out
      { type: 'event', name: 'stream_start', unitId: 'a1', properties: { platform: 'ios', track_type: 'podcast' }, ts: at(7) }, // filtered out
      { type: 'event', name: 'stream_start', unitId: 'a2', properties: { platform: 'ios', track_type: 'music' }, ts: at(167) },
      { type: 'event', name: 'stream_start', unitId: 'a2', properties: { platform: 'ios', track_type: 'music' }, ts: at(168) }, // window ends
      { type: 'event', name: 'stream_start', unitId: 'a3', properties: { platform: 'ios', track_type: 'music' }, ts: at(-1) }, // pre-exposure
      { type: 'event', name: 'stream_end', unitId: 'a2', value: 50, ts: at(3) },
      { type: 'event', name: 'stream_end', unitId: 'a2', value: 40, ts: at(400) }, // no window: counts; 90 capped at 60
      { type: 'event', name: 'stream_end', unitId: 'a3', value: 12, ts: at(10) },
    ]);
    expect(r.json).toMatchObject({ accepted: 13, duplicates: 0, unmatched: 0, rejected: [] });

    const report = (await call('GET', `/v1/experiments/${id}/metrics`)).json;
    const cell = (metricId: string, v: string) =>
      report.metrics.find((m: { metricId: string }) => m.metricId === metricId).variants.find((x: { variant: string }) => x.variant === v);
    // phone-streams: a0 1 (sent early), a1 1, a2 1, a3 0.
    expect(cell('phone-streams', 'control')).toMatchObject({ units: 2, mean: 1 });
    expect(cell('phone-streams', 'focus')).toMatchObject({ units: 2, mean: 0.5 });
    // stream-minutes: a0 45, a1 0, a2 min(90, 60), a3 12.
    expect(cell('stream-minutes', 'control')).toMatchObject({ units: 2, mean: 22.5 });
    expect(cell('stream-minutes', 'focus')).toMatchObject({ units: 2, mean: 36 });
    // a3's pre-exposure stream is its covariate.
    const [focus] = app.deps.events.aggregates(id, 'phone-streams').filter((a) => a.variant === 'focus');
    expect(focus).toMatchObject({ n: 2, sumX: 1, sumY: 1 });
  });

  it('documents the raw event in the OpenAPI request body', async () => {
    const doc = (await call('GET', '/v1/openapi.json')).json;
    const body = JSON.stringify(doc.paths['/v1/events'].post.requestBody);
    expect(body).toContain('"const":"event"');
    expect(body).toContain('properties');
    expect(JSON.stringify(doc.paths['/v1/events'].post.responses['200'])).toContain('unmatched');
  });
});
