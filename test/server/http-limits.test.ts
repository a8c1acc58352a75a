import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { SqliteContainer } from '../../src/container.js';
import { listenHttp, type ListenLimits } from '../../src/server/http-listen.js';
import { demoConfig, testContainer } from '../helpers/app.js';

// Small configured limits, generous bounds on what the test waits for: nothing here races a clock.
const SHORT = 300;
const BOUND = 3_000;

let app: SqliteContainer;
let cleanups: Array<() => Promise<unknown> | unknown> = [];
beforeEach(async () => {
  app = await testContainer();
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  app.close();
});

async function listen(limits: ListenLimits) {
  const http = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, ...limits });
  cleanups.push(() => http.close());
  return http.port;
}

/** A raw socket; what it received and whether the server has closed it. */
function rawSocket(port: number) {
  const socket = connect(port, '127.0.0.1');
  const state = { received: '', closed: false, socket };
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (state.received += d));
  socket.on('error', () => undefined); // a reset is one way of being closed
  socket.on('close', () => (state.closed = true));
  cleanups.push(() => socket.destroy());
  return state;
}

const connected = (socket: Socket) => new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Requests /healthz on `socket`, keeping the connection open; resolves with the whole answer. */
async function healthzOn(state: ReturnType<typeof rawSocket>, port: number) {
  const before = state.received.length;
  state.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
  await vi.waitFor(() => expect(state.received.slice(before)).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\n\r\n[\s\S]*"ok"/), { timeout: BOUND, interval: 10 });
}

describe('listenHttp connection limits', () => {
  it('closes a socket that sends part of its headers and then nothing, within headersTimeout', async () => {
    const port = await listen({ headersTimeoutMs: SHORT, requestTimeoutMs: 10 * SHORT });
    const slow = rawSocket(port);
    await connected(slow.socket);
    slow.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const silent = rawSocket(port); // connects and never sends a byte
    await connected(silent.socket);

    await vi.waitFor(() => expect(slow.closed && silent.closed).toBe(true), { timeout: BOUND, interval: 20 });
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a socket that trickles its headers a byte at a time (slowloris)', async () => {
    const port = await listen({ headersTimeoutMs: SHORT, requestTimeoutMs: 10 * SHORT });
    const slow = rawSocket(port);
    await connected(slow.socket);
    const header = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`;
    let i = 0;
    const drip = setInterval(() => !slow.closed && i < header.length && slow.socket.write(header[i++]!), 20);
    cleanups.push(() => clearInterval(drip));

    await vi.waitFor(() => expect(slow.closed).toBe(true), { timeout: BOUND, interval: 20 });
    expect(slow.received).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it('closes a request whose body does not arrive within requestTimeout', async () => {
    const port = await listen({ headersTimeoutMs: SHORT / 2, requestTimeoutMs: SHORT });
    const slow = rawSocket(port);
    await connected(slow.socket);
    slow.socket.write(`POST /v1/experiments HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);

    await vi.waitFor(() => expect(slow.closed).toBe(true), { timeout: BOUND, interval: 20 });
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('refuses a connection beyond maxConnections while the others are held open, and accepts again once one closes', async () => {
    const port = await listen({ maxConnections: 5, keepAliveTimeoutMs: 60_000 });
    const held = Array.from({ length: 5 }, () => rawSocket(port));
    // Each answered request proves the server has accepted (and counts) that connection.
    for (const s of held) await healthzOn(s, port);

    const extra = rawSocket(port);
    extra.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await vi.waitFor(() => expect(extra.closed).toBe(true), { timeout: BOUND, interval: 20 });
    expect(extra.received).toBe('');
    expect(held.map((s) => s.closed)).toEqual([false, false, false, false, false]);
    await healthzOn(held[0]!, port); // the held ones still serve

    held[4]!.socket.destroy();
    // Once the server has seen that close, a new connection is served (each try is dropped or answered, never left hanging).
    await vi.waitFor(
      async () => {
        const again = rawSocket(port);
        again.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
        await vi.waitFor(() => expect(again.closed || /\r\n\r\n/.test(again.received)).toBe(true), { timeout: BOUND, interval: 10 });
        expect(again.received).toMatch(/^HTTP\/1\.1 200/);
      },
      { timeout: 2 * BOUND, interval: 50 },
    );
  });

  it('keeps a keep-alive connection and the MCP GET stream open well past requestTimeout', async () => {
    const port = await listen({ headersTimeoutMs: SHORT / 2, requestTimeoutMs: SHORT, keepAliveTimeoutMs: 60_000 });
    const base = `http://127.0.0.1:${port}`;

    // A keep-alive connection idle for longer than requestTimeout still serves its next request.
    const idle = rawSocket(port);
    await healthzOn(idle, port);
    await sleep(2 * SHORT + 100);
    await healthzOn(idle, port);
    expect(idle.closed).toBe(false);

    // The MCP streamable-HTTP GET stream: a response that outlives requestTimeout and keeps delivering.
    const version = '2025-06-18';
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(body),
      });
    const opened = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'limits-test', version: '0.0.0' } },
    });
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();
    await opened.text();
    const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
    const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    expect(initialized.status).toBe(202);
    await initialized.text();

    const stream = { data: '', ended: false, status: 0 };
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/mcp', headers: { accept: 'text/event-stream', ...session } }, resolve);
      req.on('error', reject);
      req.end();
      cleanups.push(() => req.destroy());
    });
    stream.status = res.statusCode!;
    res.setEncoding('utf8').on('data', (d: string) => (stream.data += d));
    res.on('close', () => (stream.ended = true));
    res.on('error', () => undefined);
    expect(stream.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);

    await sleep(2 * SHORT + 100);
    expect(stream.ended).toBe(false);

    // Still delivering: a change to the experiments reaches the open stream.
    app.experiments.create({ config: demoConfig() }, { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' });
    await vi.waitFor(() => expect(stream.data).toMatch(/notifications\/resources\/list_changed/), { timeout: BOUND, interval: 20 });
    expect(stream.ended).toBe(false);
  });
});
