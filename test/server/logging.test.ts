import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { SqliteContainer } from '../../src/container.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { createToken } from '../../src/store/tokens-file.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { demoConfig, legacyHttpClient, permissivePolicy, startRunning, testContainer, testHttp, type ToolCallResult } from '../helpers/app.js';

type Line = { level: number; msg: string; [field: string]: unknown };
const DEBUG = 20;
const INFO = 30;
const WARN = 40;

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A container whose logger writes, at `level`, into an array the test reads. */
async function logged(level = 'debug', opts: Parameters<typeof testContainer>[0] = {}) {
  const lines: Line[] = [];
  const logger = createLogger(level, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const app = await testContainer({ logger, policy: permissivePolicy(), ...opts });
  cleanups.push(() => app.close());
  return { app, lines };
}

function http(app: SqliteContainer, opts: Parameters<typeof testHttp>[1] = {}) {
  const h = testHttp(app, opts);
  cleanups.push(() => h.close());
  const send = (method: string, p: string, init: { body?: unknown; headers?: Record<string, string> } = {}) =>
    Promise.resolve(
      h.app.request(p, {
        method,
        headers: { host: '127.0.0.1', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
        body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      }),
    );
  return { h, send };
}

const access = (lines: Line[], p: string) => lines.filter((l) => l.path === p && (l.msg === 'http' || l.msg === 'http refused'));

describe('access lines', () => {
  it('serving routes log at debug, other routes at info: at the default level only the non-serving line is written', async () => {
    const verbose = await logged('debug');
    const { send } = http(verbose.app);
    await startRunning(verbose.app, demoConfig());
    await send('GET', '/v1/surfaces/home/assignment?unit=u1');
    await send('GET', '/v1/surfaces/home/layout?unit=u1');
    await send('POST', '/v1/events', { body: { events: [{ id: 'e1', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 }] } });
    await send('POST', '/ofrep/v1/evaluate/flags/home-focus-shelf', { body: { context: { targetingKey: 'u1' } } });
    await send('GET', '/v1/surfaces');

    for (const p of ['/v1/surfaces/home/assignment', '/v1/surfaces/home/layout', '/v1/events', '/ofrep/v1/evaluate/flags/home-focus-shelf'])
      expect(
        access(verbose.lines, p).map((l) => l.level),
        p,
      ).toEqual([DEBUG]);
    expect(access(verbose.lines, '/v1/surfaces')).toMatchObject([{ level: INFO, status: 200, method: 'GET', ms: expect.any(Number) }]);

    const quiet = await logged('info');
    const q = http(quiet.app);
    await q.send('GET', '/v1/surfaces/home/assignment?unit=u1');
    await q.send('GET', '/v1/surfaces');
    expect(quiet.lines.filter((l) => l.msg.startsWith('http')).map((l) => l.path)).toEqual(['/v1/surfaces']);
  });

  it('refusals log at warn with the error code and the reason', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-log-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'tokens.json');
    const reader = createToken(file, { name: 'reader', scopes: ['read'] }).secret;
    const writer = createToken(file, { name: 'writer', scopes: ['write'] }).secret;
    const { app, lines } = await logged('info');
    const { send } = http(app, { tokensFile: file, maxBodyBytes: 2048 });
    const bearer = { authorization: `Bearer ${reader}` };

    await send('GET', '/v1/surfaces');
    await send('POST', '/v1/experiments', { body: { config: demoConfig() }, headers: bearer });
    await send('POST', '/v1/events', { body: 'x'.repeat(5000), headers: { authorization: `Bearer ${writer}`, 'content-length': '5000' } });
    await send('POST', '/ofrep/v1/evaluate/flags/nope', { body: { context: { targetingKey: 'u1' } }, headers: bearer });
    await send('POST', '/mcp', { body: '{"jsonrpc":', headers: { ...bearer, accept: 'application/json, text/event-stream' } });

    const refused = lines.filter((l) => l.msg === 'http refused');
    expect(refused.every((l) => l.level === WARN)).toBe(true);
    expect(refused).toMatchObject([
      { path: '/v1/surfaces', status: 401, code: 'UNAUTHORIZED', reason: 'missing bearer token' },
      { path: '/v1/experiments', status: 403, code: 'INSUFFICIENT_SCOPE', reason: expect.stringContaining("needs the 'write' scope; token:reader has read") },
      { path: '/v1/events', status: 413, code: 'PAYLOAD_TOO_LARGE', reason: 'request body exceeds 2048 bytes' },
      { path: '/ofrep/v1/evaluate/flags/nope', status: 404, code: 'FLAG_NOT_FOUND', reason: expect.stringContaining('nope') },
      { path: '/mcp', status: 400, code: '-32700', reason: expect.stringMatching(/^Parse error/) },
    ]);
  });

  it('the OFREP fast path logs answers at debug and refusals at warn with the reason, as hono does', async () => {
    const { app, lines } = await logged('debug');
    await startRunning(app, demoConfig());
    const listening = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 2048, token: 'a-very-long-test-token-123' });
    cleanups.push(() => listening.close());
    const post = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${listening.port}/ofrep/v1/evaluate/flags/home-focus-shelf`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ context: { targetingKey: 'u1' } }),
      });

    expect((await post({ authorization: 'Bearer a-very-long-test-token-123' })).status).toBe(200);
    expect((await post({})).status).toBe(401);

    expect(access(lines, '/ofrep/v1/evaluate/flags/home-focus-shelf')).toMatchObject([
      { level: DEBUG, msg: 'http', status: 200 },
      { level: WARN, msg: 'http refused', status: 401, code: 'UNAUTHORIZED', reason: 'missing bearer token' },
    ]);
  });
});

describe('tool lines', () => {
  it('one line per call with tool, experiment id, actor, outcome and duration; refusals at warn', async () => {
    const { app, lines } = await logged('info');
    const { h } = http(app);
    const client = await legacyHttpClient(h);
    cleanups.push(() => client.close());

    const created = (await client.callTool({ name: 'create_experiment', arguments: { config: demoConfig() } })) as ToolCallResult;
    const id = (created.structuredContent as { experiment: { id: string } }).experiment.id;
    await client.callTool({ name: 'get_experiment', arguments: { experimentId: id } });
    await client.callTool({ name: 'get_experiment', arguments: { experimentId: 'exp_missing' } });

    const tools = lines.filter((l) => l.msg === 'tool');
    expect(tools).toMatchObject([
      { level: INFO, tool: 'create_experiment', experimentId: id, actor: 'agent:legacy-agent', outcome: 'ok', durationMs: expect.any(Number) },
      { level: INFO, tool: 'get_experiment', experimentId: id, outcome: 'ok' },
      { level: WARN, tool: 'get_experiment', experimentId: 'exp_missing', outcome: 'NOT_FOUND' },
    ]);
    expect(lines.filter((l) => l.tool === 'create_experiment')).toHaveLength(1);
  });
});

describe('ramp-scheduler decisions', () => {
  it('logs each decision at info with its reason, and a hold that starts at warn', async () => {
    const clock = new SimulatedClock(new Date('2026-03-02T09:00:00Z'));
    const { app, lines } = await logged('info', { clock });
    const exp = await startRunning(app, demoConfig({ rampPlan: { stages: [20, 50] } }));

    await app.ramps.tick();
    await app.ramps.hold(exp.id, 'waiting for the launch review', { actor: 'test', interface: 'cli', operation: 'hold', requestId: 'r' });
    await app.ramps.tick();
    await app.ramps.tick();

    expect(lines.filter((l) => l.msg === 'ramp decision')).toMatchObject([
      { level: INFO, experimentId: exp.id, action: 'waiting', reason: expect.any(String) },
      { level: WARN, experimentId: exp.id, action: 'held', reason: expect.stringContaining('waiting for the launch review') },
      { level: INFO, experimentId: exp.id, action: 'held' },
    ]);
  });
});
