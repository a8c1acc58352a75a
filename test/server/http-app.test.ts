import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { tools as toolDefinitions } from '../../tools/index.js';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { appFetch, demoConfig, legacyHttpClient, modernHttpClient, tableCounts, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';

const CORE_TOOLS = [
  'create_experiment',
  'deploy_to_surface',
  'get_experiment',
  'get_metrics',
  'list_experiments',
  'list_surfaces',
  'stop_experiment',
  'validate_config',
];
/** What a client must see: exactly the server's tool list, which holds at least the eight core tools. */
const TOOLS = toolDefinitions.map((t) => t.name).sort();
const HOME = 'sealab://surface/home';
const TOKEN = 'a-very-long-test-token-123';

let app: SqliteContainer;
let cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  app = await testContainer();
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
  app.close();
});

function useHttp(opts: Parameters<typeof testHttp>[1] = {}): HttpApp {
  const http = testHttp(app, opts);
  cleanups.push(() => http.close());
  return http;
}

async function useClient<T extends { close(): Promise<void> }>(connecting: Promise<T>): Promise<T> {
  const client = await connecting;
  cleanups.push(() => client.close());
  return client;
}

type AnyClient = Client | V1Client;
async function callOk(client: AnyClient, name: string, args: Record<string, unknown>) {
  const r = (await client.callTool({ name, arguments: args })) as ToolCallResult;
  expect(r.isError, textOf(r)).toBeFalsy();
  return r.structuredContent as Record<string, any>;
}

/** A raw request to the app, as from the loopback address unless headers say otherwise. */
function send(http: HttpApp, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) {
  const headers: Record<string, string> = { host: '127.0.0.1', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers };
  return http.app.request(path, { method, headers, body: init.body });
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const mcpHeaders = { accept: 'application/json, text/event-stream' };

describe('/mcp serves both protocol eras', () => {
  it('lets a 2026-07-28 client list the tools, read surfaces and create and validate an experiment', async () => {
    const http = useHttp();
    const client = await useClient(modernHttpClient(http));

    const { tools } = await client.listTools();
    const surfaces = await callOk(client, 'list_surfaces', {});
    const { experiment } = await callOk(client, 'create_experiment', { config: demoConfig(), idempotencyKey: 'modern-key-01' });
    const verdict = await callOk(client, 'validate_config', { experimentId: experiment.id });

    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(TOOLS).toEqual(expect.arrayContaining(CORE_TOOLS));
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    expect(surfaces.surfaces.map((s: { id: string }) => s.id)).toEqual(['home', 'now-playing', 'search']);
    expect(experiment).toMatchObject({ status: 'draft', version: 1, surfaceId: 'home' });
    expect(verdict).toMatchObject({ valid: true, recorded: true, version: 1 });
    expect((await app.experiments.get(experiment.id)).key).toBe('home-focus-shelf');
    expect((await app.deps.store.audit.forEntity('experiment', experiment.id)).at(-1)).toMatchObject({
      operation: 'create_experiment',
      interface: 'mcp-http',
      actor: 'agent:modern-agent',
    });
  });

  it('gives a 2025-era client (SDK 1.32) a session and the same tools', async () => {
    const http = useHttp();
    const client = await useClient(legacyHttpClient(http));

    const { tools } = await client.listTools();
    const surfaces = await callOk(client, 'list_surfaces', {});
    const plan = await callOk(client, 'validate_config', { config: demoConfig() });
    const { experiment } = await callOk(client, 'create_experiment', { config: demoConfig() });

    expect((client.transport as V1HttpTransport).sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    expect(surfaces.surfaces).toHaveLength(3);
    expect(plan).toMatchObject({ valid: true, recorded: false });
    expect((await app.experiments.get(experiment.id)).status).toBe('draft');
  });

  it('answers a raw 2025 initialize with an mcp-session-id header', async () => {
    const http = useHttp();
    const res = await send(http, 'POST', '/mcp', { headers: mcpHeaders, body: initialize });
    await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('notifies a 2025-era subscriber of sealab://surface/home when another client deploys there', async () => {
    const http = useHttp();
    const agent = await useClient(modernHttpClient(http));
    const { experiment } = await callOk(agent, 'create_experiment', { config: demoConfig() });
    const { planHash } = await callOk(agent, 'validate_config', { experimentId: experiment.id });

    // The 1.32 client opens its GET stream after the handshake; notifications need it open.
    let getStreamOpen: () => void = () => undefined;
    const streamOpened = new Promise<void>((resolve) => (getStreamOpen = resolve));
    const fetchFn = appFetch(http);
    const watcher = new V1Client({ name: 'watcher', version: '1.0.0' });
    await watcher.connect(
      new V1HttpTransport(new URL('http://127.0.0.1/mcp'), {
        fetch: (async (url: string | URL | Request, init?: RequestInit) => {
          const res = await fetchFn(url, init);
          if (init?.method === 'GET' && res.status === 200) getStreamOpen();
          return res;
        }) as typeof fetch,
      }),
    );
    cleanups.push(() => watcher.close());
    const updates: string[] = [];
    let gotHome: () => void = () => undefined;
    const homeUpdated = new Promise<void>((resolve) => (gotHome = resolve));
    watcher.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
      if (n.params.uri === HOME) gotHome();
    });
    await watcher.subscribeResource({ uri: HOME });
    await withTimeout(streamOpened, 5_000, 'the GET stream did not open');
    expect(updates).toEqual([]);

    await callOk(agent, 'deploy_to_surface', { experimentId: experiment.id, version: 1, planHash, confirmation: { reason: 'approved in the test' } });

    await withTimeout(homeUpdated, 5_000, `no resources/updated for ${HOME}`);
    expect(updates).toEqual([HOME]); // not the experiment's own URI, which it did not subscribe to
  });
});

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('DNS-rebinding protection', () => {
  it('refuses a foreign Host header with 403 on /mcp and /v1', async () => {
    const http = useHttp();
    const before = tableCounts(app);

    const mcp = await send(http, 'POST', '/mcp', { headers: { ...mcpHeaders, host: 'evil.example' }, body: initialize });
    const surfaces = await send(http, 'GET', '/v1/surfaces', { headers: { host: 'evil.example' } });
    const create = await send(http, 'POST', '/v1/experiments', { headers: { host: 'evil.example:8787' }, body: JSON.stringify({ config: demoConfig() }) });

    expect([mcp.status, surfaces.status, create.status]).toEqual([403, 403, 403]);
    expect(mcp.headers.get('mcp-session-id')).toBeNull();
    expect(await surfaces.text()).not.toContain('home');
    expect(tableCounts(app)).toEqual(before);
  });

  it('refuses a foreign Origin on a loopback Host with 403, and lets a local origin through', async () => {
    const http = useHttp();
    const before = tableCounts(app);
    const evil = { origin: 'http://evil.example' };

    const mcp = await send(http, 'POST', '/mcp', { headers: { ...mcpHeaders, ...evil }, body: initialize });
    const surfaces = await send(http, 'GET', '/v1/surfaces', { headers: evil });
    const create = await send(http, 'POST', '/v1/experiments', { headers: evil, body: JSON.stringify({ config: demoConfig() }) });
    const tool = (async () => {
      const client = await legacyHttpClient(http, evil);
      cleanups.push(() => client.close());
      return client.callTool({ name: 'create_experiment', arguments: { config: demoConfig() } });
    })();

    expect([mcp.status, surfaces.status, create.status]).toEqual([403, 403, 403]);
    (await expect(tool)).rejects.toThrow();
    expect(tableCounts(app)).toEqual(before);

    const local = await send(http, 'GET', '/v1/surfaces', { headers: { origin: 'http://localhost:5173' } });
    expect(local.status).toBe(200);
  });
});

describe('bearer token', () => {
  it('refuses /mcp and /v1 without the token: 401 problem JSON with www-authenticate', async () => {
    const http = useHttp({ token: TOKEN });
    const before = tableCounts(app);
    const replies = [
      await send(http, 'POST', '/mcp', { headers: mcpHeaders, body: initialize }),
      await send(http, 'GET', '/v1/surfaces'),
      await send(http, 'POST', '/v1/experiments', { body: JSON.stringify({ config: demoConfig() }) }),
      await send(http, 'GET', '/v1/surfaces', { headers: { authorization: 'Bearer a-very-long-test-token-124' } }),
      await send(http, 'GET', '/v1/surfaces', { headers: { authorization: `Basic ${TOKEN}` } }),
      await send(http, 'GET', '/v1/surfaces', { headers: { authorization: TOKEN } }), // no "Bearer" scheme
    ];
    for (const res of replies) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED', hint: expect.stringMatching(/Authorization: Bearer/) });
    }
    expect(tableCounts(app)).toEqual(before);
    await expect(modernHttpClient(http).then((c) => c.listTools())).rejects.toThrow();
  });

  it('serves MCP clients of both eras and REST with the right token; /healthz needs none', async () => {
    const http = useHttp({ token: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };

    const modern = await useClient(modernHttpClient(http, auth));
    const legacy = await useClient(legacyHttpClient(http, auth));
    const { experiment } = await callOk(modern, 'create_experiment', { config: demoConfig() });
    const legacyTools = await legacy.listTools();
    const rest = await send(http, 'GET', `/v1/experiments/${experiment.id}`, { headers: auth });
    const health = await send(http, 'GET', '/healthz');

    expect(legacyTools.tools.map((t) => t.name).sort()).toEqual(TOOLS);
    expect(rest.status).toBe(200);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    // The token's client id, not the self-reported client name, is who acted.
    expect((await app.deps.store.audit.forEntity('experiment', experiment.id))[0]).toMatchObject({ actor: 'client:bearer', interface: 'mcp-http' });
  });
});

describe('body limit', () => {
  const bigEvents = () =>
    JSON.stringify({ events: Array.from({ length: 150 }, (_, i) => ({ id: `big-${i}`, type: 'metric', unitId: `u${i}`, metricId: 'stream-rate', value: 1 })) });

  it('refuses a REST body over maxBodyBytes with 413 and stores nothing', async () => {
    const http = useHttp({ maxBodyBytes: 2048 });
    const before = tableCounts(app);
    const body = bigEvents();
    expect(body.length).toBeGreaterThan(10_000);

    const json = await send(http, 'POST', '/v1/events', { body });
    const text = await send(http, 'POST', '/v1/events', { headers: { 'content-type': 'text/plain' }, body });

    expect(json.status).toBe(413);
    expect(text.status).toBe(413);
    expect(await text.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', hint: expect.any(String) });
    expect(tableCounts(app)).toEqual(before);
    const small = await send(http, 'POST', '/v1/events', {
      body: JSON.stringify({ events: [{ id: 's1', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 }] }),
    });
    expect(small.status).toBe(200);
  });

  it('refuses an MCP body over maxBodyBytes with 413 and still serves normal requests', async () => {
    const http = useHttp({ maxBodyBytes: 2048 });
    const client = await useClient(legacyHttpClient(http));
    const before = tableCounts(app);
    const sessionId = (client.transport as V1HttpTransport).sessionId!;
    const huge = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'create_experiment', arguments: { config: demoConfig({ hypothesis: 'x'.repeat(10_000) }) } },
    });

    const res = await send(http, 'POST', '/mcp', { headers: { ...mcpHeaders, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }, body: huge });
    const fresh = await send(http, 'POST', '/mcp', {
      headers: mcpHeaders,
      body: JSON.stringify({ ...JSON.parse(initialize), params: { ...JSON.parse(initialize).params, clientInfo: { name: 'x'.repeat(4000), version: '1' } } }),
    });

    expect(res.status).toBe(413);
    expect(fresh.status).toBe(413);
    expect(tableCounts(app)).toEqual(before);
    await callOk(client, 'create_experiment', { config: demoConfig() });
    expect(await app.experiments.list()).toHaveLength(1);
  });
});

describe('plain HTTP', () => {
  it('answers /healthz with status ok and a request id', async () => {
    const http = useHttp();
    const res = await send(http, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: expect.any(String) });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a caller request id', async () => {
    const http = useHttp();
    const res = await send(http, 'GET', '/v1/surfaces', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
  });

  it('answers an unknown route with 404 problem JSON that says where to go', async () => {
    const http = useHttp();
    const res = await send(http, 'GET', '/v2/nothing');
    const body = await res.json();
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('x-request-id')).toBe(body.requestId);
    expect(body).toMatchObject({ status: 404, code: 'NOT_FOUND', detail: 'no route GET /v2/nothing', hint: expect.stringMatching(/\/mcp/) });
  });
});
