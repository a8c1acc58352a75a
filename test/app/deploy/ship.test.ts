import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../../src/container.js';
import { DeploySaga } from '../../../src/app/deploy/deploy-saga.js';
import { AppError } from '../../../src/errors.js';
import type { WriteContext } from '../../../src/app/context.js';
import type { ContentDelivery, ContentWrite, ExperimentBackend } from '../../../src/systems/contracts.js';
import { listenHttp } from '../../../src/server/http-listen.js';
import { APPROVED, demoConfig, memoryClient, permissivePolicy, tableCounts, testContainer, testHttp, textOf, type ToolCallResult } from '../../helpers/app.js';

const DAY = 86_400_000;
const ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A config whose ship decision a focused test can reach: a large effect on stream-rate, a guardrail
 * (skip-rate) with a generous margin and data in both arms, half the surface, a week planned.
 */
const SHIPPABLE = demoConfig({
  allocationPercent: 50,
  guardrails: [{ metricId: 'skip-rate', margin: 0.2 }],
  analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.2, durationDays: 7, sequential: true },
});
/** No required guardrail (crash-rate needs millions of units to judge): the focused tests use skip-rate. */
const POLICY = permissivePolicy({ requiredGuardrails: [] });

async function setup(opts: Parameters<typeof testContainer>[0] = {}) {
  let now = Date.parse('2026-11-02T09:00:00Z');
  const app = await testContainer({ clock: { now: () => new Date(now) }, policy: POLICY, ...opts });
  cleanups.push(() => app.close());
  const http = testHttp(app);
  cleanups.push(() => http.close());
  /** One REST call through the hono app, as a client on loopback sends it. */
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await http.app.request(path, {
      method,
      headers: { host: '127.0.0.1', 'x-actor': 'dana', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  return { app, rest, advance: (ms: number) => (now += ms) };
}

/** 8000 units through POST /v1/events: focus streams twice as often (60% vs 30%), 40% skip in both arms. */
async function clearWin(rest: Awaited<ReturnType<typeof setup>>['rest'], experimentId: string) {
  for (let b = 0; b < 4; b++) {
    const events: Record<string, unknown>[] = [];
    for (let i = b * 2000; i < (b + 1) * 2000; i++) {
      const variant = i % 2 ? 'focus' : 'control';
      const unitId = `pop-${i}`;
      events.push({ id: `x-${i}`, type: 'exposure', unitId, experimentId, variant });
      if ((variant === 'focus' ? i % 10 < 6 : i % 10 < 3) || (variant === 'focus' && i % 10 === 9))
        events.push({ id: `s-${i}`, type: 'metric', unitId, metricId: 'stream-rate', value: 1 });
      if (i % 10 < 4) events.push({ id: `k-${i}`, type: 'metric', unitId, metricId: 'skip-rate', value: 1 });
    }
    const r = await rest('POST', '/v1/events', { events });
    expect(r.status).toBe(200);
    expect(r.json.rejected).toEqual([]);
  }
}

async function running(rest: Awaited<ReturnType<typeof setup>>['rest'], config = SHIPPABLE): Promise<string> {
  const created = await rest('POST', '/v1/experiments', { config });
  const id: string = created.json.experiment.id;
  const v = await rest('POST', `/v1/experiments/${id}/validate`);
  expect(v.json.valid, JSON.stringify(v.json.findings)).toBe(true);
  const d = await rest('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: v.json.planHash, confirmation: APPROVED });
  expect(d.status, JSON.stringify(d.json)).toBe(200);
  return id;
}

/** A unit the experiment does not assign (the other half of the surface). */
function outsider(app: SqliteContainer, experimentId: string): string {
  for (let i = 0; ; i++) if (!app.assignments.view('home', `visitor-${i}`)!.assignments.some((a) => a.experimentId === experimentId)) return `visitor-${i}`;
}

const slot = (layout: { slotId: string; contentId: string | null }[], id: string) => layout.find((l) => l.slotId === id)?.contentId;

describe('ship: the winning layout becomes the surface default', () => {
  it('changes what GET /v1/surfaces/home/layout serves for a unit in no experiment, is audited, and revert_ship restores it', async () => {
    const { app, rest, advance } = await setup();
    const id = await running(rest);
    const unit = outsider(app, id);
    const before = await rest('GET', `/v1/surfaces/home/layout?unit=${unit}`);
    expect(slot(before.json.layout, 'shelf-2')).toBe('mx-daily-1');
    const defaultBefore = await app.catalog.defaultLayout('home');

    await clearWin(rest, id);
    advance(8 * DAY);
    expect((await app.metrics.report(id, { alwaysValid: true })).decision).toMatchObject({ decision: 'ship', variant: 'focus' });

    const shipped = await rest('POST', `/v1/experiments/${id}/stop`, { reason: 'focus wins stream-rate', outcome: 'shipped', confirmation: APPROVED });
    expect(shipped.status, JSON.stringify(shipped.json)).toBe(200);
    expect(shipped.json.experiment).toMatchObject({ status: 'concluded', outcome: 'shipped', buckets: [] });
    expect(shipped.json.conclusion).toMatchObject({
      outcome: 'shipped',
      variant: 'focus',
      actor: 'rest:local:anonymous',
      reason: 'focus wins stream-rate',
      revert: null,
      decision: { decision: 'ship', variant: 'focus', method: 'always-valid', alpha: 0.05, sample: expect.objectContaining({ observedTotal: 8000 }) },
    });

    // Every unit, in no experiment now, gets the shipped layout; the other slots keep their defaults.
    const after = await rest('GET', `/v1/surfaces/home/layout?unit=${unit}`);
    expect(slot(after.json.layout, 'shelf-2')).toBe('sh-focus');
    expect(after.json.layout.filter((l: { slotId: string }) => l.slotId !== 'shelf-2')).toEqual(
      before.json.layout.filter((l: { slotId: string }) => l.slotId !== 'shelf-2'),
    );
    expect(slot(app.assignments.view('home', 'someone-else')!.layout, 'shelf-2')).toBe('sh-focus');
    expect(await app.catalog.defaultLayout('home')).toEqual({ ...defaultBefore, 'shelf-2': 'sh-focus' });
    expect(app.localSystems.content.getSync(id)).toMatchObject({ serving: false, shipped: 'focus' });
    expect(app.localSystems.backend.getSync(id)).toMatchObject({ status: 'released', buckets: [] });
    expect((await app.deployments.ops.list(id)).at(-1)).toMatchObject({ kind: 'ship', status: 'completed', steps: ['backend.release', 'content.ship'] });

    const audit = (await rest('GET', `/v1/experiments/${id}/audit`)).json.audit as { actor: string; after: any; rationale: string }[];
    expect(audit.find((a) => a.after?.shipped)).toMatchObject({
      actor: 'rest:local:anonymous',
      onBehalfOf: 'dana',
      rationale: 'focus wins stream-rate',
      after: { shipped: { variant: 'focus', surfaceId: 'home', decision: expect.objectContaining({ decision: 'ship' }) } },
    });
    const got = await rest('GET', `/v1/experiments/${id}`);
    expect(got.json.conclusion).toEqual(shipped.json.conclusion);

    // Reverting: the default layout is what it was; the conclusion and the audit log say who and why.
    const refused = await rest('POST', `/v1/experiments/${id}/revert-ship`, { reason: 'x' });
    expect(refused.status).toBe(400);
    const reverted = await rest('POST', `/v1/experiments/${id}/revert-ship`, { reason: 'retention dropped', confirmation: APPROVED });
    expect(reverted.status, JSON.stringify(reverted.json)).toBe(200);
    expect(reverted.json.conclusion.revert).toMatchObject({ actor: 'rest:local:anonymous', reason: 'retention dropped' });
    expect(slot((await rest('GET', `/v1/surfaces/home/layout?unit=${unit}`)).json.layout, 'shelf-2')).toBe('mx-daily-1');
    expect(await app.catalog.defaultLayout('home')).toEqual(defaultBefore);
    expect(app.localSystems.content.getSync(id)).toMatchObject({ shipped: null });
    expect((await rest('GET', `/v1/experiments/${id}/audit`)).json.audit[0]).toMatchObject({
      rationale: 'retention dropped',
      after: { shipReverted: expect.objectContaining({ reason: 'retention dropped' }) },
    });
    const again = await rest('POST', `/v1/experiments/${id}/revert-ship`, { reason: 'again', confirmation: APPROVED });
    expect(again.status).toBe(412);
    expect(again.json.detail).toMatch(/already reverted/);
  });

  it('is refused while the decision is not ship: the message lists the blockers and nothing changes', async () => {
    const { app, rest } = await setup();
    const id = await running(rest);
    const counts = tableCounts(app);
    const r = await rest('POST', `/v1/experiments/${id}/stop`, { reason: 'looks good', outcome: 'shipped', confirmation: APPROVED });
    expect(r.status).toBe(412);
    expect(r.json).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(r.json.detail).toMatch(/^the analysis does not say ship for 'focus' of 'home-focus-shelf' \(it says keep_running\): .*/);
    expect(r.json.details.blockers.length).toBeGreaterThan(0);
    expect(r.json.detail).toContain(r.json.details.blockers[0]);
    expect(tableCounts(app)).toEqual(counts);
    expect((await app.experiments.get(id)).status).toBe('running');

    // The MCP tool says the same, and a control variant cannot be shipped.
    const c = await memoryClient(app);
    cleanups.push(() => c.close());
    const tool = (await c.callTool({ name: 'stop_experiment', arguments: { experimentId: id, reason: 'ship it', outcome: 'shipped' } })) as ToolCallResult;
    expect(textOf(tool)).toMatch(/^PRECONDITION_FAILED: the analysis does not say ship/);
    const control = (await c.callTool({
      name: 'stop_experiment',
      arguments: { experimentId: id, reason: 'ship it', outcome: 'shipped', variant: 'control' },
    })) as ToolCallResult;
    expect(textOf(control)).toMatch(/^INVALID_INPUT: 'control' is not a treatment variant/);
  });
});

describe('ship across remote systems', () => {
  /** As the remote client reports a refused connection. */
  const down = () => new AppError('UPSTREAM_UNAVAILABLE', 'down', 'retry', { delivered: false });

  it('content delivery down during a ship: compensated, nothing shipped, the experiment still running; then it ships', async () => {
    const { app, rest, advance } = await setup();
    const remote = await testContainer({ policy: POLICY });
    cleanups.push(() => remote.close());
    let contentDown = false;
    const content = remote.localSystems.content;
    const flakyContent = {
      kind: 'remote',
      put: async (id: string, w: ContentWrite) => {
        if (contentDown && !w.step.startsWith('compensate.')) throw down();
        return content.putSync(id, w);
      },
      get: async (id: string) => content.getSync(id),
      list: async (s?: string) => content.listSync(s),
    } as ContentDelivery;
    const b = remote.localSystems.backend;
    const backend = {
      kind: 'remote',
      put: async (id: string, w: any) => b.putSync(id, w),
      get: async (id: string) => b.getSync(id),
      list: async () => b.listSync(),
    };
    const saga = new DeploySaga(
      app.deps,
      app.experiments,
      app.deploys,
      app.stops,
      { embedded: false, backend: backend as ExperimentBackend, content: flakyContent },
      app.deps.store.operations,
    );

    const { experiment } = await app.experiments.create({ config: SHIPPABLE }, ctx);
    const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
    await saga.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx);
    await clearWin(rest, experiment.id);
    advance(8 * DAY);

    contentDown = true;
    await expect(saga.stop({ experimentId: experiment.id, reason: 'ship', outcome: 'shipped', confirmation: APPROVED }, ctx)).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(await app.experiments.get(experiment.id)).toMatchObject({ status: 'running', outcome: null });
    expect(await app.deps.store.experiments.conclusion(experiment.id)).toBeNull();
    expect(content.getSync(experiment.id)).toMatchObject({ serving: true, shipped: null });
    expect(b.getSync(experiment.id)).toMatchObject({ status: 'running' });
    expect((await saga.ops.list(experiment.id)).at(-1)).toMatchObject({ kind: 'ship', status: 'compensated' });
    expect(slot(remote.assignments.view('home', 'anyone')!.layout, 'shelf-2')).not.toBe('sh-focus');

    contentDown = false;
    await saga.stop({ experimentId: experiment.id, reason: 'ship', outcome: 'shipped', confirmation: APPROVED }, ctx);
    expect(content.getSync(experiment.id)).toMatchObject({ serving: false, shipped: 'focus' });
    // The content system serves the shipped default to every unit.
    for (const u of ['a', 'b', 'c']) expect(slot(remote.assignments.view('home', u)!.layout, 'shelf-2')).toBe('sh-focus');
  });

  it('backend and content roles over loopback: the gateway ships through their contracts and the content role serves the shipped default', async () => {
    let now = Date.parse('2026-11-02T09:00:00Z');
    const roles = await Promise.all(
      (['backend', 'content'] as const).map(async (role) => {
        const c = await testContainer({ policy: POLICY });
        const http = await listenHttp(c, { role, host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
        cleanups.push(async () => {
          await http.close();
          c.close();
        });
        return { c, url: `http://127.0.0.1:${http.port}` };
      }),
    );
    const [backend, content] = roles;
    const app = await testContainer({
      clock: { now: () => new Date(now) },
      policy: POLICY,
      remote: { backendUrl: backend.url, contentUrl: content.url, timeoutMs: 2000 },
    });
    cleanups.push(() => app.close());
    const http = testHttp(app);
    cleanups.push(() => http.close());
    const rest = async (method: string, path: string, body?: unknown) => {
      const res = await http.app.request(path, {
        method,
        headers: { host: '127.0.0.1', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    const id = await running(rest);
    await clearWin(rest, id);
    now += 8 * DAY;
    const shipped = await rest('POST', `/v1/experiments/${id}/stop`, { reason: 'focus wins', outcome: 'shipped', confirmation: APPROVED });
    expect(shipped.status, JSON.stringify(shipped.json)).toBe(200);
    expect(backend.c.localSystems.backend.getSync(id)).toMatchObject({ status: 'released' });
    const served = await fetch(`${content.url}/v1/surfaces/home/layout?unit=visitor-1`);
    expect(slot(((await served.json()) as { layout: { slotId: string; contentId: string }[] }).layout, 'shelf-2')).toBe('sh-focus');
    expect(slot((await rest('GET', '/v1/surfaces/home/layout?unit=visitor-1')).json.layout, 'shelf-2')).toBe('sh-focus');
    const state = await fetch(`${content.url}/v1/content-delivery/experiments/${id}`);
    expect(await state.json()).toMatchObject({ shipped: 'focus', shippedAt: '2026-11-10T09:00:00.000Z' });
  });
});
