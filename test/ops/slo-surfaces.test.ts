import { afterEach, describe, expect, it } from 'vitest';
import { appFetch, memoryClient, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';
import { serve } from './slo-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server whose assignment availability pages: ten minutes at 10% server errors after a clean hour. */
async function burning() {
  let now = Date.parse('2026-11-02T09:00:00Z');
  const app = await testContainer({ clock: { now: () => new Date(now) } });
  cleanups.push(() => app.close());
  await app.slo.sample();
  await serve(app, (ms) => (now += ms), 60, { ok: 1000, errors: 0 });
  await serve(app, (ms) => (now += ms), 10, { ok: 900, errors: 100 });
  return app;
}

describe('SLO status surfaces', () => {
  it('real serving requests (HTTP assignment and OFREP) are the assignment SLIs', async () => {
    let now = Date.parse('2026-11-02T09:00:00Z');
    const app = await testContainer({ clock: { now: () => new Date(now) } });
    cleanups.push(() => app.close());
    const call = appFetch(testHttp(app));
    await app.slo.sample();
    for (let i = 0; i < 5; i++) expect((await call(`http://127.0.0.1/v1/surfaces/home/assignment?unit=u${i}`)).status).toBe(200);
    const ofrep = await call('http://127.0.0.1/ofrep/v1/evaluate/flags', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'u1' } }),
    });
    expect(ofrep.status).toBe(200);
    now += 60_000;
    await app.slo.sample();
    const [availability, latency] = app.slo.status().slos;
    expect(availability).toMatchObject({ name: 'assignment-availability', state: 'ok', sli: 1, budgetLeft: 1 });
    expect(availability!.burnRates.find((b) => b.window === '5m')).toMatchObject({ events: 6, burnRate: 0 });
    expect(latency).toMatchObject({ name: 'assignment-latency' });
    expect(latency!.burnRates.find((b) => b.window === '5m')!.events).toBe(6);
  });

  it('get_slo_status (ops toolset) answers objective, SLI, budget left, burn rates and alerts', async () => {
    const app = await burning();
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const r = (await client.callTool({ name: 'get_slo_status', arguments: { slo: 'assignment-availability' } })) as ToolCallResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    const out = r.structuredContent as { samples: number; slos: Record<string, any>[] };
    expect(out.samples).toBe(71);
    expect(out.slos).toHaveLength(1);
    expect(out.slos[0]).toMatchObject({ name: 'assignment-availability', objective: 0.999, state: 'page' });
    expect(out.slos[0]!.burnRates['5m']).toBeCloseTo(100, 6);
    expect(out.slos[0]!.alerts.map((a: { long: string }) => a.long)).toEqual(['1h', '6h', '3d']);
    expect(textOf(r)).toMatch(/^SLO file 2026-12-default, 71 samples since 2026-11-02T09:00:00\.000Z\.\nPAGE assignment-availability: SLI 98\.571%/);

    const unknown = (await client.callTool({ name: 'get_slo_status', arguments: { slo: 'nope' } })) as ToolCallResult;
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/^NOT_FOUND: no SLO named 'nope'[\s\S]*\nNext: Use one of: assignment-availability, assignment-latency/);
  });

  it('is not in the default tool list (ops toolset), and is refused there with the flag that enables it', async () => {
    const app = await testContainer();
    cleanups.push(() => app.close());
    const client = await memoryClient(app, { tools: {} });
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('get_slo_status');
    const r = (await client.callTool({ name: 'get_slo_status', arguments: {} })) as ToolCallResult;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("'ops' toolset");
  });

  it('sealab://ops/slo shows the objectives as declared and the current status', async () => {
    const app = await burning();
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const listed = (await client.listResources()).resources.find((x) => x.uri === 'sealab://ops/slo');
    expect(listed?.title).toBe("sealab's own SLOs");
    const read = await client.readResource({ uri: 'sealab://ops/slo' });
    const doc = JSON.parse((read.contents[0] as { text: string }).text) as {
      objectives: { slos: { name: string; sli: unknown }[] };
      status: { slos: { name: string; state: string }[] };
    };
    expect(doc.objectives.slos[0]).toMatchObject({
      name: 'assignment-availability',
      sli: { kind: 'ratio', bad: { metric: 'sealab_serving_requests_total', match: { outcome: ['server_error'] } } },
    });
    expect(doc.status.slos.find((s) => s.name === 'assignment-availability')!.state).toBe('page');
    expect(doc.status.slos).toHaveLength(11);
  });

  it('GET /v1/ops/slo answers the same view; an unknown name is a 404 problem with a hint', async () => {
    const app = await burning();
    const call = appFetch(testHttp(app));
    const res = await call('http://127.0.0.1/v1/ops/slo');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { slos: { name: string; state: string; budgetLeft: number }[] };
    const availability = body.slos.find((s) => s.name === 'assignment-availability')!;
    expect(availability.state).toBe('page');
    expect(availability.budgetLeft).toBeCloseTo(1 - 1000 / 70000 / 0.001, 6);
    const one = (await (await call('http://127.0.0.1/v1/ops/slo?slo=assignment-latency')).json()) as { slos: { name: string }[] };
    expect(one.slos.map((s) => s.name)).toEqual(['assignment-latency']);
    const missing = await call('http://127.0.0.1/v1/ops/slo?slo=nope');
    expect(missing.status).toBe(404);
    const problem = (await missing.json()) as { code: string; hint: string };
    expect(problem.code).toBe('NOT_FOUND');
    expect(problem.hint).toContain('assignment-availability');
  });
});
