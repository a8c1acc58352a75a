import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import type { WriteContext } from '../../src/app/context.js';
import type { Diagnosis } from '../../src/ops/diagnosis.js';
import { createHttpApp } from '../../src/server/http-app.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { APPROVED, demoConfig, memoryClient, permissivePolicy, tableCounts, testContainer, testHttp, type ToolCallResult } from '../helpers/app.js';

const ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };
const DELAY_MS = 400;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A content-delivery role on loopback whose experiment PUTs answer 503 once, then take DELAY_MS each
 * (a slow, flaky system); `refuse` answers them 409 instead (a refusal, not retried).
 */
async function slowContent(refuse = false): Promise<string> {
  const c = await testContainer({ policy: permissivePolicy() });
  const http = createHttpApp(c, { role: 'content', host: '127.0.0.1', maxBodyBytes: 1_048_576 });
  let refused = false;
  const server = createServer(
    getRequestListener(async (req) => {
      if (req.method === 'PUT' && new URL(req.url).pathname.startsWith('/v1/content-delivery/experiments/')) {
        if (refuse) return Response.json({ detail: 'surface frozen' }, { status: 409 });
        if (!refused) {
          refused = true;
          return new Response('busy', { status: 503 });
        }
        await new Promise((r) => setTimeout(r, DELAY_MS));
      }
      return http.app.fetch(req);
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    await new Promise((r) => server.close(r));
    await http.close();
    c.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function backendRole(): Promise<string> {
  const c = await testContainer({ policy: permissivePolicy() });
  const http = await listenHttp(c, { role: 'backend', host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
  cleanups.push(async () => {
    await http.close();
    c.close();
  });
  return `http://127.0.0.1:${http.port}`;
}

async function client(app: SqliteContainer): Promise<Client> {
  const c = await memoryClient(app);
  cleanups.push(() => c.close());
  return c;
}

async function diagnosis(c: Client, args: Record<string, unknown> = {}): Promise<Diagnosis> {
  const r = (await c.callTool({ name: 'diagnose_orchestration', arguments: args })) as ToolCallResult;
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return r.structuredContent as unknown as Diagnosis;
}

async function validated(app: SqliteContainer, key: string) {
  const { experiment } = await app.experiments.create({ config: demoConfig({ key, rampPlan: { stages: [20] } }) }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  return { experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED };
}

describe('diagnose_orchestration', () => {
  it('names the slow step and system of a deploy over a slow remote content delivery, with its retry', async () => {
    const app = await testContainer({
      policy: permissivePolicy(),
      remote: { backendUrl: await backendRole(), contentUrl: await slowContent(), timeoutMs: 5000 },
    });
    cleanups.push(() => app.close());
    // Warm both connections first, so the only slow call is the one the content system delays.
    await Promise.all([app.deployments.systems.backend.list(), app.deployments.systems.content.list()]);
    const deployed = await app.deployments.deploy(await validated(app, 'slow-content'), ctx);
    expect(deployed.experiment.status).toBe('running');
    const c = await client(app);

    const d = await diagnosis(c);
    const [op] = d.slowest;
    expect(op).toMatchObject({ kind: 'deploy', status: 'completed', experimentId: deployed.experiment.id });
    expect(op!.dominant).toMatchObject({ step: 'content.apply', system: 'content' });
    expect(op!.dominant.ms).toBeGreaterThanOrEqual(DELAY_MS);
    expect(op!.dominant.share).toBeGreaterThan(0.5);
    const [slowestSystem, other] = d.systems;
    expect(slowestSystem).toMatchObject({ system: 'content', count: 1, errors: 0, retries: 1 });
    expect(slowestSystem!.p95Ms).toBeGreaterThanOrEqual(DELAY_MS);
    expect(other).toMatchObject({ system: 'backend', count: 2, errors: 0, retries: 0 });
    expect(other!.p95Ms).toBeLessThan(slowestSystem!.p95Ms);
    // Every step of the operation is timed: waiting to start, each call, the local commit.
    expect(d.steps.map((s) => s.step).sort()).toEqual(['backend.activate', 'backend.allocate', 'commit', 'content.apply', 'queued']);
    expect(d.steps[0]).toMatchObject({ step: 'content.apply', phase: 'call', retries: 1 });
    expect(d.queues).toMatchObject({ pendingOperations: 0, compensatingOperations: 0, inFlightHere: 0 });
    expect(d.stuck).toEqual([]);

    // The tool call just made is in the ring of recent tool calls.
    const again = await diagnosis(c);
    expect(again.tools).toContainEqual(expect.objectContaining({ tool: 'diagnose_orchestration', count: 1, errors: 0 }));

    // The resource and the REST route show the same diagnosis.
    const res = await c.readResource({ uri: 'sealab://ops/operations' });
    const fromResource = JSON.parse((res.contents[0] as { text: string }).text) as Diagnosis;
    expect(fromResource.slowest[0]!.dominant.step).toBe('content.apply');
    const http = testHttp(app);
    cleanups.push(() => http.close());
    const rest = await http.app.request('/v1/ops/operations?limit=1', { headers: { host: '127.0.0.1' } });
    expect(rest.status).toBe(200);
    const fromRest = (await rest.json()) as Diagnosis;
    expect(fromRest.slowest).toHaveLength(1);
    expect(fromRest.systems[0]).toMatchObject({ system: 'content' });
  });

  it('records a refused step with its error code and the compensation that followed', async () => {
    const app = await testContainer({
      policy: permissivePolicy(),
      remote: { backendUrl: await backendRole(), contentUrl: await slowContent(true), timeoutMs: 5000 },
    });
    cleanups.push(() => app.close());
    await expect(app.deployments.deploy(await validated(app, 'refused-content'), ctx)).rejects.toMatchObject({ code: 'CONFLICT' });

    const d = await diagnosis(await client(app));
    expect(d.slowest[0]).toMatchObject({ kind: 'deploy', status: 'compensated' });
    const step = (name: string) => d.steps.find((s) => s.step === name);
    expect(step('content.apply')).toMatchObject({ system: 'content', count: 1, errors: 1, retries: 0 });
    expect(step('backend.allocate')).toMatchObject({ count: 1, errors: 0 });
    // The refused step was not delivered: only the backend, which the operation touched, is restored; nothing is committed.
    expect(step('compensate.backend')).toMatchObject({ system: 'backend', count: 1, errors: 0 });
    expect(step('compensate.content')).toBeUndefined();
    expect(step('commit')).toBeUndefined();
    expect(d.systems.find((s) => s.system === 'content')).toMatchObject({ count: 1, errors: 1 });
    const recorded = (await app.deployments.ops.timings.since(d.window.from)).find((r) => r.step === 'content.apply');
    expect(recorded).toMatchObject({ phase: 'call', outcome: 'CONFLICT', retries: 0 });
  });

  it('lists an operation left unfinished long ago with its owner and lapsed lease, not a fresh one', async () => {
    const clock = new SimulatedClock(new Date('2026-03-02T09:00:00Z'));
    const app = await testContainer({ policy: permissivePolicy(), clock });
    cleanups.push(() => app.close());
    const a = await validated(app, 'stuck-one');
    const b = await validated(app, 'fresh-one');
    const op = (id: string, experimentId: string, owner: string, leaseUntil: string) => ({
      id,
      kind: 'deploy',
      idempotencyKey: null,
      requestHash: id,
      experimentId,
      payload: {},
      owner,
      leaseUntil,
    });
    app.deployments.ops.start(op('op_stuck', a.experimentId, 'other-host/4242/beef', '2026-03-02T09:00:30.000Z'), '2026-03-02T09:00:00.000Z');
    app.deployments.ops.attempt('op_stuck', 'content.apply', '2026-03-02T09:00:01.000Z');
    clock.advance(10 * 60_000);
    app.deployments.ops.start(op('op_fresh', b.experimentId, app.deployments.owner, '2026-03-02T09:10:30.000Z'), '2026-03-02T09:09:50.000Z');

    const d = await diagnosis(await client(app), { stuckAfterSeconds: 60 });
    expect(d.stuck).toEqual([
      {
        opId: 'op_stuck',
        kind: 'deploy',
        experimentId: a.experimentId,
        status: 'pending',
        startedAt: '2026-03-02T09:00:00.000Z',
        ageSeconds: 600,
        owner: 'other-host/4242/beef',
        ownerIsThisProcess: false,
        leaseUntil: '2026-03-02T09:00:30.000Z',
        leaseExpired: true,
        attempting: 'content.apply',
        stepsDone: [],
      },
    ]);
    expect(d.queues).toMatchObject({ pendingOperations: 2, compensatingOperations: 0, inFlightHere: 1 });
  });

  it('refuses an out-of-range window with a typed error and writes nothing', async () => {
    const app = await testContainer();
    cleanups.push(() => app.close());
    const c = await client(app);
    const before = tableCounts(app);
    const r = (await c.callTool({ name: 'diagnose_orchestration', arguments: { windowMinutes: 0 } })) as ToolCallResult;
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/INVALID_INPUT|windowMinutes/);
    expect(tableCounts(app)).toEqual(before);
  });
});
