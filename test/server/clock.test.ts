import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createContainer, type SqliteContainer } from '../../src/container.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { appFetch, demoConfig, permissivePolicy, testHttp } from '../helpers/app.js';

const START = '2026-01-05T00:00:00.000Z';
const HOUR = 3_600_000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { simulated?: boolean; token?: string } = {}) {
  let n = 0;
  const clock = opts.simulated === false ? undefined : new SimulatedClock(new Date(START));
  const app: SqliteContainer = await createContainer({
    dbFile: ':memory:',
    policy: permissivePolicy(),
    newId: (prefix) => `${prefix}_clk${String(++n).padStart(12, '0')}`,
    ...(clock ? { clock } : {}),
  });
  const http: HttpApp = testHttp(app, opts.token ? { token: opts.token } : {});
  cleanups.push(
    () => app.close(),
    () => http.close(),
  );
  const f = appFetch(http, opts.token ? { authorization: `Bearer ${opts.token}` } : {});
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await f(`http://127.0.0.1/v1${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { app, http, call };
}

/** Create, validate and deploy through REST; returns the experiment id. */
async function deploy(call: Awaited<ReturnType<typeof setup>>['call'], config: Record<string, unknown>): Promise<string> {
  const created = await call('POST', '/experiments', { config });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const v = await call('POST', `/experiments/${created.body.experiment.id}/validate`);
  expect(v.body.valid, JSON.stringify(v.body.findings)).toBe(true);
  const d = await call('POST', `/experiments/${created.body.experiment.id}/deploy`, { version: created.body.experiment.version, planHash: v.body.planHash });
  expect(d.status, JSON.stringify(d.body)).toBe(200);
  return created.body.experiment.id;
}

describe('GET /v1/clock and POST /v1/clock/advance', () => {
  it('a simulated clock only moves when told', async () => {
    const { call } = await setup();
    const a = await call('GET', '/clock');
    const b = await call('GET', '/clock');
    expect(a.body).toEqual({ now: START, simulated: true });
    expect(b.body).toEqual(a.body);
    const moved = await call('POST', '/clock/advance', { hours: 2.5 });
    expect(moved.body).toMatchObject({ from: START, now: '2026-01-05T02:30:00.000Z', steps: 3, ticks: [] });
    expect((await call('GET', '/clock')).body.now).toBe('2026-01-05T02:30:00.000Z');
    expect((await call('POST', '/clock/advance', { to: '2026-01-06T00:00:00Z' })).body).toMatchObject({ now: '2026-01-06T00:00:00.000Z', steps: 22 });
    expect((await call('POST', '/clock/advance', { days: 1 })).body).toMatchObject({ now: '2026-01-07T00:00:00.000Z', steps: 24 });
  });

  it('refuses to move backwards and bodies that do not say exactly how far', async () => {
    const { call } = await setup();
    const back = await call('POST', '/clock/advance', { to: '2026-01-04T00:00:00Z' });
    expect(back.status).toBe(409);
    expect(back.body).toMatchObject({ code: 'CONFLICT' });
    for (const body of [{}, { hours: 1, days: 1 }, { hours: -1 }, { hours: 0 }, { minutes: 5 }]) {
      const r = await call('POST', '/clock/advance', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe('INVALID_INPUT');
    }
    expect((await call('GET', '/clock')).body.now).toBe(START);
  });

  it('on the wall clock: reads it, and refuses to move it with a problem that says how to start a simulated server', async () => {
    const { call } = await setup({ simulated: false });
    const read = await call('GET', '/clock');
    expect(read.body.simulated).toBe(false);
    expect(Math.abs(Date.parse(read.body.now) - Date.now())).toBeLessThan(60_000);
    const r = await call('POST', '/clock/advance', { hours: 1 });
    expect(r.status).toBe(412);
    expect(r.body).toMatchObject({ code: 'PRECONDITION_FAILED', detail: expect.stringMatching(/wall clock/) });
    expect(r.body.hint).toMatch(/sealab serve --simulated-clock/);
  });

  it('needs the bearer token like every /v1 write', async () => {
    const { http } = await setup({ token: 'a-very-long-test-token-123' });
    const res = await appFetch(http)('http://127.0.0.1/v1/clock/advance', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hours: 1 }),
    });
    expect(res.status).toBe(401);
  });

  it('advancing 36 h ticks the ramp scheduler every hour: stages of 12 h advance exactly at +12 h and +24 h', async () => {
    const { app, call } = await setup();
    const id = await deploy(call, demoConfig({ rampPlan: { stages: [20, 30], minHours: 12, gate: { minUnitsPerArm: 20 } } }));
    // Traffic at the start: units exposed through the assignment endpoint, each with a stream and one in ten with a crash.
    const events: unknown[] = [];
    for (let i = 0; i < 1500; i++) {
      const unit = `clock-unit-${i}`;
      const a = await call('GET', `/surfaces/home/assignment?unit=${unit}`);
      if (!a.body.assignments.some((x: { experimentId: string }) => x.experimentId === id)) continue;
      events.push({ id: `${unit}-s`, type: 'metric', unitId: unit, metricId: 'stream-rate', value: 1 });
      if (i % 10 === 0) events.push({ id: `${unit}-c`, type: 'metric', unitId: unit, metricId: 'crash-rate', value: 1 });
    }
    expect((await call('POST', '/events', { events })).body.rejected).toEqual([]);
    const moved = await call('POST', '/clock/advance', { hours: 36 });
    expect(moved.body.steps).toBe(36);
    expect(moved.body.ticks.map((t: { action: string; at: string; experimentId: string }) => [t.experimentId, t.action, t.at])).toEqual([
      [id, 'advanced', new Date(Date.parse(START) + 12 * HOUR).toISOString()],
      [id, 'advanced', new Date(Date.parse(START) + 24 * HOUR).toISOString()],
    ]);
    expect((await call('GET', `/experiments/${id}`)).body.experiment.allocationPercent).toBe(30);
    expect(await app.ramps.status(id)).toMatchObject({ nextAction: 'complete', stageStartedAt: new Date(Date.parse(START) + 24 * HOUR).toISOString() });
  });

  it('exposures recorded by assignment carry the simulated time they were served at', async () => {
    const { app, call } = await setup();
    const id = await deploy(call, demoConfig({ allocationPercent: 50 }));
    const exposedUnit = async (from: number) => {
      for (let i = from; ; i++) {
        const a = await call('GET', `/surfaces/home/assignment?unit=ts-${i}`);
        if (a.body.assignments.some((x: { experimentId: string }) => x.experimentId === id)) return { unit: `ts-${i}`, next: i + 1 };
      }
    };
    const first = await exposedUnit(0);
    await call('POST', '/clock/advance', { hours: 5 });
    const second = await exposedUnit(first.next);
    await app.exposures.flush();
    app.fold.catchUp();
    const at = (unit: string) =>
      (app.deps.db.prepare('SELECT first_exposed_at AS ts FROM exposures WHERE experiment_id = ? AND unit_id = ?').get(id, unit) as { ts: string }).ts;
    expect(at(first.unit)).toBe(START);
    expect(at(second.unit)).toBe('2026-01-05T05:00:00.000Z');
    // The daily snapshot of the metric pipeline is dated by the simulated day too.
    const days = app.deps.db.prepare('SELECT DISTINCT day FROM metric_daily WHERE experiment_id = ?').all(id) as { day: string }[];
    expect(days.map((d) => d.day)).toEqual(['2026-01-05']);
  });
});

describe('a restarted simulated server', () => {
  it('resumes at the latest time its database recorded, never behind it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-clock-'));
    try {
      const dbFile = path.join(dir, 'sealab.db');
      const first = await createContainer({ dbFile, policy: permissivePolicy(), clock: new SimulatedClock(new Date(START)) });
      await first.clock.advance({ days: 2 }, { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' });
      first.close();
      const clock = new SimulatedClock(new Date(START));
      const second = await createContainer({ dbFile, policy: permissivePolicy(), clock });
      expect(clock.now().toISOString()).toBe('2026-01-07T00:00:00.000Z');
      second.close();
      const later = new SimulatedClock(new Date('2026-02-01T00:00:00Z'));
      (await createContainer({ dbFile, policy: permissivePolicy(), clock: later })).close();
      expect(later.now().toISOString()).toBe('2026-02-01T00:00:00.000Z');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
