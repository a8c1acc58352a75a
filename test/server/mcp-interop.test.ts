import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Container } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { demoConfig, testHttp } from '../helpers/app.js';
import { type EngineApp, engineContainer, tableCountsOf } from '../helpers/engine-container.js';
import { type Engine, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * What the Python MCP SDK (streamable HTTP client) sends, byte for byte where it matters: every
 * request, GET and DELETE included, carries `content-type: application/json`; GET and DELETE have
 * no body. PyPI is not reachable from the build machines, so these raw requests are the test.
 */
const PY_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'user-agent': 'python-httpx/0.28.1' };
const PROTOCOL = '2025-06-18';

let app: Container;
let built: EngineApp | undefined;
let cleanups: Array<() => Promise<unknown>> = [];
/** A fresh app on `engine` before each case of the enclosing describe. */
const onEngine = (engine: Engine) =>
  beforeEach(async () => {
    built = await engineContainer(engine);
    app = built.app;
  });
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
  await built?.close();
  built = undefined;
});

function useHttp(opts: Parameters<typeof testHttp>[1] = {}): HttpApp {
  const http = testHttp(app, opts);
  cleanups.push(() => http.close());
  return http;
}

function send(http: HttpApp, method: string, path: string, headers: Record<string, string>, body?: string) {
  return Promise.resolve(http.app.request(path, { method, headers: { host: '127.0.0.1', ...headers }, body }));
}

/** initialize + notifications/initialized as the Python client sends them; the session's headers. */
async function pythonSession(http: HttpApp) {
  const init = await send(
    http,
    'POST',
    '/mcp',
    PY_HEADERS,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'mcp', version: '0.1.0' } },
    }),
  );
  expect(init.status).toBe(200);
  const sessionId = init.headers.get('mcp-session-id')!;
  expect(sessionId).toBeTruthy();
  await init.text();
  const headers = { ...PY_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL };
  const initialized = await send(http, 'POST', '/mcp', headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  expect(initialized.status).toBe(202);
  return headers;
}

/** Reads an SSE body until `pattern` shows up. */
async function readUntil(body: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

// A session's notifications follow writes to the store (on PostgreSQL: this replica's own, announced at commit): both engines.
for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, '/mcp'), () => {
    describe('with what the Python SDK sends', () => {
      onEngine(engine);

      it('opens the notification stream on a GET with content-type application/json and no body, and delivers a change', async () => {
        const http = useHttp();
        const headers = await pythonSession(http);

        const stream = await send(http, 'GET', '/mcp', headers);

        expect(stream.status).toBe(200);
        expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const created = await send(http, 'POST', '/v1/experiments', { 'content-type': 'application/json' }, JSON.stringify({ config: demoConfig() }));
        expect(created.status).toBe(201);
        expect(await readUntil(stream.body!, /notifications\/resources\/list_changed/)).toContain('"method":"notifications/resources/list_changed"');
      });

      it("opens the stream with httpx-sse's accept header too", async () => {
        const http = useHttp();
        const headers = await pythonSession(http);

        const stream = await send(http, 'GET', '/mcp', { ...headers, accept: 'text/event-stream', 'cache-control': 'no-store' });

        expect(stream.status).toBe(200);
        expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
        await stream.body!.cancel();
      });

      it('ends the session on a DELETE with content-type application/json and no body', async () => {
        const http = useHttp();
        const headers = await pythonSession(http);

        const closed = await send(http, 'DELETE', '/mcp', headers);

        expect(closed.status).toBe(200);
        const after = await send(http, 'POST', '/mcp', headers, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
        expect(after.status).toBe(404);
        expect(await after.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
      });
    });

    describe('errors are JSON-RPC', () => {
      onEngine(engine);

      it('answers malformed JSON with a -32700 parse error and stores nothing', async () => {
        const http = useHttp();
        const before = await tableCountsOf(app);

        const res = await send(http, 'POST', '/mcp', PY_HEADERS, '{"jsonrpc": "2.0", "id": 1, "method": "initialize", ');

        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await res.json()).toEqual({
          jsonrpc: '2.0',
          id: null,
          error: { code: -32700, message: expect.stringMatching(/^Parse error/), data: { hint: expect.any(String) } },
        });
        expect(await tableCountsOf(app)).toEqual(before);
      });

      it('answers an empty POST body with a -32700 parse error', async () => {
        const http = useHttp();
        const res = await send(http, 'POST', '/mcp', PY_HEADERS, '');
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
      });

      it('answers a body over the limit with 413 JSON-RPC and an MCP hint, declared or streamed', async () => {
        const http = useHttp({ maxBodyBytes: 2048 });
        const huge = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { pad: 'x'.repeat(4000) } } });

        const declared = await send(http, 'POST', '/mcp', { ...PY_HEADERS, 'content-length': String(huge.length) }, huge);
        const streamed = await Promise.resolve(
          http.app.request('/mcp', {
            method: 'POST',
            headers: { host: '127.0.0.1', ...PY_HEADERS },
            body: new Blob([huge]).stream(),
            duplex: 'half',
          } as RequestInit),
        );

        for (const res of [declared, streamed]) {
          expect(res.status).toBe(413);
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          const body = await res.json();
          expect(body).toMatchObject({
            jsonrpc: '2.0',
            id: null,
            error: { code: -32600, message: 'request body exceeds 2048 bytes', data: { code: 'PAYLOAD_TOO_LARGE', hint: expect.stringMatching(/JSON-RPC/) } },
          });
          expect(body.error.data.hint).not.toMatch(/batch into smaller requests/);
        }
      });
    });
  });
}

// Refused by the body limit before any route reads the store: engine-free, so on SQLite only.
describe('413 hints per route', () => {
  onEngine(ENGINES[0]);

  const big = 'x'.repeat(4000);
  const cases: Array<[string, string, RegExp]> = [
    ['/v1/events', JSON.stringify({ events: [{ id: 'e1', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1, pad: big }] }), /Split the batch/],
    ['/ofrep/v1/evaluate/flags/home-focus-shelf', JSON.stringify({ context: { targetingKey: 'u1', pad: big } }), /evaluation context/],
    ['/v1/experiments', JSON.stringify({ config: demoConfig({ hypothesis: big }) }), /experiment config/],
    ['/v1/backend/experiments', JSON.stringify({ pad: big }), /SEALAB_MAX_BODY_BYTES on this system/],
  ];
  it.each(cases)('POST %s answers problem JSON with its own hint', async (path, body, hint) => {
    const http = useHttp({ maxBodyBytes: 2048 });
    const before = await tableCountsOf(app);

    const res = await send(http, 'POST', path, { 'content-type': 'application/json', 'content-length': String(body.length) }, body);

    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json();
    expect(problem).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', hint: expect.stringMatching(hint) });
    if (path !== '/v1/events') expect(problem.hint).not.toMatch(/Split the batch/);
    expect(await tableCountsOf(app)).toEqual(before);
  });
});
