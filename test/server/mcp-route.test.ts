import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMcpHonoApp } from '@modelcontextprotocol/hono';
import { McpServer } from '@modelcontextprotocol/server';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { createMcpRoute, type McpRouteOptions } from '../../src/server/mcp-route.js';

const SURFACES = 'sealab://surfaces';
const MCP_URL = new URL('http://127.0.0.1/mcp');

function factory() {
  const server = new McpServer({ name: 'route-test', version: '0.0.0' });
  server.registerTool('echo', { description: 'Echoes text.', inputSchema: z.object({ text: z.string() }) }, ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool('confirm', { description: 'Asks the user to confirm.' }, async (ctx) => {
    const answer = await ctx.mcpReq.elicitInput({
      message: 'Launch the experiment?',
      requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
    });
    return { content: [{ type: 'text', text: `${answer.action} ${JSON.stringify(answer.content)}` }] };
  });
  server.registerResource('surfaces', SURFACES, { description: 'Surfaces', mimeType: 'application/json' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: '["checkout"]' }],
  }));
  return server;
}

/** A hono app serving the route, and a fetch that reaches it without a port. */
function harness(options?: McpRouteOptions) {
  const route = createMcpRoute(factory, options);
  const app = createMcpHonoApp();
  // Stands in for the auth middleware: the test names the principal a request authenticated as.
  app.all('/mcp', (c) => {
    const principal = c.req.header('x-test-principal');
    return route.fetch(c.req.raw, { parsedBody: c.get('parsedBody'), ...(principal ? { principal } : {}) });
  });
  const fetch = (url: string | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set('host', '127.0.0.1'); // the DNS-rebinding guard refuses a request without one
    return Promise.resolve(app.request(String(url), { ...init, headers }));
  };
  return { route, fetch };
}

const postJson = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
  body: JSON.stringify(body),
});

let cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

async function connectLegacy(fetch: ReturnType<typeof harness>['fetch'], capabilities = {}, headers: Record<string, string> = {}) {
  const client = new LegacyClient({ name: 'legacy-client', version: '1.32' }, { capabilities });
  const transport = new LegacyTransport(MCP_URL, { fetch, requestInit: { headers } });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

function useRoute(options?: McpRouteOptions) {
  const h = harness(options);
  cleanups.push(() => h.route.close());
  return h;
}

describe('createMcpRoute, 2025-era clients', () => {
  it('gives a 1.32 client a session and delivers resources/updated for its subscription', async () => {
    const { route, fetch } = useRoute();
    const { client, transport } = await connectLegacy(fetch);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: SURFACES });

    // The client opens its GET stream after the handshake; repeat until it is there.
    await vi.waitFor(
      () => {
        route.resourceUpdated(SURFACES);
        expect(updates).toContain(SURFACES);
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });
  });

  it('lets a tool elicit input from a 2025-era client over the session', async () => {
    const { fetch } = useRoute();
    const { client } = await connectLegacy(fetch, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      expect(request.params.message).toBe('Launch the experiment?');
      return { action: 'accept', content: { ok: true } };
    });

    const result = await client.callTool({ name: 'confirm', arguments: {} });

    expect(result.content).toEqual([{ type: 'text', text: 'accept {"ok":true}' }]);
  });

  it('ends a session on DELETE and answers its id with 404 afterwards', async () => {
    const { fetch } = useRoute();
    const { transport } = await connectLegacy(fetch);
    const sessionId = transport.sessionId!;

    await transport.terminateSession();
    const response = await fetch(MCP_URL, postJson({ jsonrpc: '2.0', id: 9, method: 'ping' }, { 'mcp-session-id': sessionId }));

    expect(transport.sessionId).toBeUndefined();
    expect(response.status).toBe(404);
  });

  it('answers an unknown session id with 404 and a missing one with 400', async () => {
    const { fetch } = useRoute();
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };

    const unknown = await fetch(MCP_URL, postJson(ping, { 'mcp-session-id': 'no-such-session' }));
    const missing = await fetch(MCP_URL, postJson(ping));

    expect(unknown.status).toBe(404);
    expect(missing.status).toBe(400);
  });

  it('answers a session id presented by another principal as unknown (404), for requests and DELETE, and changes nothing', async () => {
    const { fetch } = useRoute();
    const { client, transport } = await connectLegacy(fetch, {}, { 'x-test-principal': 'client:alice' });
    const sessionId = transport.sessionId!;
    const as = (principal: string | undefined, init: RequestInit) => {
      const headers = new Headers(init.headers);
      headers.set('mcp-session-id', sessionId);
      if (principal) headers.set('x-test-principal', principal);
      return fetch(MCP_URL, { ...init, headers });
    };
    const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hijacked' } } };

    for (const other of ['client:mallory', undefined]) {
      expect((await as(other, postJson(call))).status).toBe(404);
      expect((await as(other, { method: 'GET', headers: { accept: 'text/event-stream' } })).status).toBe(404);
      expect((await as(other, { method: 'DELETE' })).status).toBe(404);
    }

    expect(await client.callTool({ name: 'echo', arguments: { text: 'still mine' } })).toMatchObject({ content: [{ type: 'text', text: 'still mine' }] });
    expect((await as('client:alice', { method: 'DELETE' })).status).toBe(200);
    expect((await as('client:alice', postJson(call))).status).toBe(404);
  });

  it('closes the least recently used session to admit one past maxSessions', async () => {
    const { fetch } = useRoute({ maxSessions: 1 });
    const first = await connectLegacy(fetch);
    const firstId = first.transport.sessionId!;

    await connectLegacy(fetch);
    const response = await fetch(MCP_URL, postJson({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'mcp-session-id': firstId }));

    expect(response.status).toBe(404);
  });

  it('closes a session that has been idle for sessionIdleMs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'Date'] });
    cleanups.push(async () => vi.useRealTimers());
    const { fetch } = useRoute({ sessionIdleMs: 60_000 });
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    const opened = await fetch(MCP_URL, postJson(initialize));
    const sessionId = opened.headers.get('mcp-session-id')!;
    await opened.text(); // the initialize stream ends with its response; no stream stays open
    const ping = () =>
      fetch(MCP_URL, postJson({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }));

    vi.advanceTimersByTime(30_000);
    const stillOpen = await ping();
    await stillOpen.text();
    vi.advanceTimersByTime(121_000);
    const evicted = await ping();

    expect(stillOpen.status).toBe(200);
    expect(evicted.status).toBe(404);
  });

  it('closes a session whose GET stream ended and that stayed silent for orphanIdleMs; one that calls again, or never listened, keeps sessionIdleMs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'Date'] });
    cleanups.push(async () => vi.useRealTimers());
    const { fetch } = useRoute({ sessionIdleMs: 30 * 60_000, orphanIdleMs: 60_000 });
    const headers = (id: string) => ({ 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
    const open = async () => {
      const params = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } };
      const opened = await fetch(MCP_URL, postJson({ jsonrpc: '2.0', id: 1, method: 'initialize', params }));
      await opened.text();
      return opened.headers.get('mcp-session-id')!;
    };
    /** A client that opens its GET stream and then goes away: the stream is cancelled, no DELETE. */
    const listenThenVanish = async (id: string) => {
      const stream = await fetch(MCP_URL, { method: 'GET', headers: { accept: 'text/event-stream', ...headers(id) } });
      expect(stream.status).toBe(200);
      await stream.body!.cancel();
      await new Promise((resolve) => setImmediate(resolve)); // the route sees the stream end
    };
    const ping = async (id: string) => {
      const response = await fetch(MCP_URL, postJson({ jsonrpc: '2.0', id: 2, method: 'ping' }, headers(id)));
      await response.text();
      return response.status;
    };
    const [crashed, back, neverListened] = [await open(), await open(), await open()];
    await listenThenVanish(crashed);
    await listenThenVanish(back);

    vi.advanceTimersByTime(30_000);
    expect(await ping(back)).toBe(200); // it came back: the 30-minute idle rule again
    vi.advanceTimersByTime(91_000);

    expect(await ping(crashed)).toBe(404);
    expect(await ping(back)).toBe(200);
    expect(await ping(neverListened)).toBe(200);
  });

  it('refuses a POST that is not JSON with 415', async () => {
    const { fetch } = useRoute();

    const response = await fetch(MCP_URL, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'ping' });

    expect(response.status).toBe(415);
  });
});

describe('createMcpRoute, 2026-07-28 clients', () => {
  async function connectModern(fetch: ReturnType<typeof harness>['fetch']) {
    const client = new Client({ name: 'modern-client', version: '2.4' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StreamableHTTPClientTransport(MCP_URL, { fetch }));
    cleanups.push(() => client.close());
    return client;
  }

  it('lists and calls a tool', async () => {
    const { fetch } = useRoute();
    const client = await connectModern(fetch);

    const { tools } = await client.listTools();
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });

    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(tools.map((t) => t.name).sort()).toEqual(['confirm', 'echo']);
    expect(result.content).toEqual([{ type: 'text', text: 'hello' }]);
  });

  it('delivers resources/updated on a subscriptions/listen stream that asked for the URI', async () => {
    const { route, fetch } = useRoute();
    const client = await connectModern(fetch);
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => {
      updates.push(n.params.uri);
    });

    const subscription = await client.listen({ resourceSubscriptions: [SURFACES] });
    cleanups.push(() => subscription.close());
    route.resourceUpdated('sealab://elsewhere');
    route.resourceUpdated(SURFACES);

    await vi.waitFor(() => expect(updates).toEqual([SURFACES]), { timeout: 5_000, interval: 20 });
  });
});
