import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import type { SqliteContainer } from '../../src/container.js';
import { requestGuard, type HttpApp, type HttpOptions } from '../../src/server/http-app.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { ofrepFastPath, singleFlagKey } from '../../src/server/ofrep-fast-path.js';
import { permissivePolicy, startRunning, demoConfig, testContainer, testHttp } from '../helpers/app.js';

const TOKEN = 'a-very-long-test-token-123';
const LIMIT = 2048;
const UNITS = Array.from({ length: 20 }, (_, i) => `u${i}`);

let app: SqliteContainer;
let cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  app = await testContainer({ policy: permissivePolicy() });
  await startRunning(app, demoConfig({ allocationPercent: 50 })); // home-focus-shelf on home, overriding shelf-2
});
afterEach(async () => {
  await OpenFeature.close();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
  app.close();
});

type Reply = { status: number; headers: IncomingHttpHeaders; body: string };
/** `pauseAfter`: send that many characters of the body, the rest 50 ms later (the body is still arriving once the headers are parsed). */
type Send = { headers?: Record<string, string>; body?: string | string[]; repeated?: [string, string]; pauseAfter?: number };

/** Both paths for the same options: the listening server (node fast path in front of hono) and the hono app in process. */
async function bothPaths(opts: Partial<HttpOptions> = {}) {
  const options = { host: '127.0.0.1', maxBodyBytes: LIMIT, ...opts };
  const listening = await listenHttp(app, { ...options, port: 0 });
  const hono = testHttp(app, options);
  cleanups.push(listening.close, () => hono.close());
  const host = `127.0.0.1:${listening.port}`;
  return {
    host,
    fast: (path: string, init: Send = {}) => overHttp(listening.port, path, { ...init, headers: { host, ...init.headers } }),
    hono: (path: string, init: Send = {}) => inProcess(hono, path, { ...init, headers: { host, ...init.headers } }),
  };
}

/** A POST over a real socket; a body given as chunks is sent chunked (no Content-Length). */
function overHttp(port: number, path: string, init: Send): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const named: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
    // Raw header lines repeat a header; node then adds none of its own (Host and Content-Length are in init).
    if (init.repeated && typeof init.body === 'string') named['content-length'] = String(Buffer.byteLength(init.body));
    const headers = init.repeated ? [...Object.entries(named), init.repeated].flat() : named;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (Array.isArray(init.body)) for (const chunk of init.body) req.write(chunk);
    if (init.pauseAfter !== undefined && typeof init.body === 'string') {
      const rest = init.body.slice(init.pauseAfter);
      req.write(init.body.slice(0, init.pauseAfter));
      return void setTimeout(() => req.end(rest), 50);
    }
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

async function inProcess(http: HttpApp, path: string, init: Send): Promise<Reply> {
  const body = Array.isArray(init.body) ? new Blob(init.body).stream() : init.body;
  const res = await http.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body,
    ...(Array.isArray(init.body) ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

const evaluation = (unit: string) => JSON.stringify({ context: { targetingKey: unit } });

/** What a client can observe, minus the transport's own headers (date, connection, keep-alive). */
const answer = (r: Reply) => ({
  status: r.status,
  body: r.body,
  type: r.headers['content-type'],
  requestId: r.headers['x-request-id'],
  auth: r.headers['www-authenticate'],
});

describe('OFREP single-flag evaluation on the node fast path', () => {
  it('answers exactly as the hono route for flags, slots, errors and odd paths', async () => {
    const paths = await bothPaths();
    const cases: [string, Send][] = [
      ...UNITS.map((u): [string, Send] => ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation(u) }]),
      ['/ofrep/v1/evaluate/flags/home%2Fshelf-2', { body: evaluation('u1') }],
      ['/ofrep/v1/evaluate/flags/home/shelf-2', { body: evaluation('u2') }],
      ['/ofrep/v1/evaluate/flags/home/hero?cache=no', { body: evaluation('u3') }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: JSON.stringify({ context: { targetingKey: 'u7', platform: 'ios', extra: 1 } }) }],
      ['/ofrep/v1/evaluate/flags/nope', { body: evaluation('u1') }],
      ['/ofrep/v1/evaluate/flags/home/nope', { body: evaluation('u1') }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: '{nope' }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: '' }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: JSON.stringify({ context: {} }) }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: JSON.stringify({ context: { targetingKey: 5 } }) }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: JSON.stringify({ context: { targetingKey: '' } }) }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: '[]' }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: `\uFEFF${evaluation('u8')}` }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: ['{"context":', '{"targetingKey":"u9"}}'] }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation('u10'), pauseAfter: 12 }],
      [
        '/ofrep/v1/evaluate/flags/home-focus-shelf',
        { body: evaluation('u11'), pauseAfter: 12, headers: { 'content-length': String(evaluation('u11').length) } },
      ],
      // Not single-flag evaluations: hono answers them on both paths.
      ['/ofrep/v1/evaluate/flags/a/b/c', { body: evaluation('u1') }],
      ['/ofrep/v1/evaluate/flags/home-focus-shelf/', { body: evaluation('u1') }],
      ['/ofrep/v1/evaluate/flags', { body: evaluation('u1') }],
    ];
    const statuses = new Set<number>();
    for (const [path, init] of cases) {
      const headers = { ...init.headers, 'x-request-id': `same-${path}` };
      const [fast, hono] = [await paths.fast(path, { ...init, headers }), await paths.hono(path, { ...init, headers })];
      expect(answer(fast), `${path} ${String(init.body)}`).toEqual(answer(hono));
      statuses.add(fast.status);
    }
    expect([...statuses].sort()).toEqual([200, 400, 404]);

    const fresh = await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation('u1') });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const inExperiment = await Promise.all(
      UNITS.map(async (u) => JSON.parse((await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation(u) })).body).metadata.inExperiment),
    );
    expect(new Set(inExperiment)).toEqual(new Set([true, false])); // at 50% the units compared above got both answers
  });

  it('refuses a foreign Host or Origin with 403, as hono does', async () => {
    const paths = await bothPaths();
    const before = app.exposures.size;
    const foreign: Record<string, string>[] = [
      { host: 'evil.example' },
      { host: 'evil.example:8787' },
      { origin: 'http://evil.example' },
      { host: `${paths.host}, evil.example` },
    ];
    for (const headers of foreign) {
      const init = { body: evaluation('u1'), headers: { ...headers, 'x-request-id': 'r-403' } };
      const [fast, hono] = [
        await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', init),
        await paths.hono('/ofrep/v1/evaluate/flags/home-focus-shelf', init),
      ];
      expect(fast.status).toBe(403);
      expect(JSON.parse(fast.body)).toMatchObject({ code: 'FORBIDDEN', requestId: 'r-403' });
      expect(answer(fast)).toEqual(answer(hono));
    }
    // A second Host header: hono's adapter reads both values joined, so the fast path must too.
    const twice = await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation('u1'), repeated: ['host', 'evil.example'] });
    expect(twice.status).toBe(403);
    const local = await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation('u1'), headers: { origin: 'http://localhost:5173' } });
    expect(local.status).toBe(200);
    expect(app.exposures.size - before).toBeLessThanOrEqual(1); // only the local request was evaluated
  });

  it('refuses a missing or wrong bearer token with 401 and www-authenticate when a token is set', async () => {
    const paths = await bothPaths({ token: TOKEN });
    for (const authorization of [undefined, 'Bearer a-very-long-test-token-124', `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN}, Bearer x`]) {
      const init = { body: evaluation('u1'), headers: { 'x-request-id': 'r-401', ...(authorization ? { authorization } : {}) } };
      const [fast, hono] = [
        await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', init),
        await paths.hono('/ofrep/v1/evaluate/flags/home-focus-shelf', init),
      ];
      expect(fast.status).toBe(401);
      expect(fast.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(fast.headers['content-type']).toBe('application/problem+json');
      expect(answer(fast)).toEqual(answer(hono));
    }
    const twice = await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', {
      body: evaluation('u1'),
      headers: { authorization: `Bearer ${TOKEN}` },
      repeated: ['authorization', 'Bearer x'],
    });
    expect(twice.status).toBe(401);
    const ok = await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation('u1'), headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
  });

  it('refuses a body over the limit with 413, declared or chunked', async () => {
    const paths = await bothPaths();
    const big = JSON.stringify({ context: { targetingKey: 'u1', padding: 'x'.repeat(LIMIT) } });
    const chunked = [big.slice(0, 1000), big.slice(1000, 2000), big.slice(2000)];
    for (const body of [big, chunked]) {
      const init = { body, headers: { 'x-request-id': 'r-413' } };
      const [fast, hono] = [
        await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', init),
        await paths.hono('/ofrep/v1/evaluate/flags/home-focus-shelf', init),
      ];
      expect(fast.status).toBe(413);
      expect(JSON.parse(fast.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', requestId: 'r-413' });
      expect(answer(fast)).toEqual(answer(hono));
    }
    const under = JSON.stringify({ context: { targetingKey: 'u1', padding: 'x'.repeat(LIMIT - 100) } });
    expect((await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: under })).status).toBe(200);
    expect((await paths.fast('/ofrep/v1/evaluate/flags/home-focus-shelf', { body: [under.slice(0, 1000), under.slice(1000)] })).status).toBe(200);
  });

  it('answers single-flag evaluations itself and hands every other request to hono', async () => {
    const http = testHttp(app, { host: '127.0.0.1', maxBodyBytes: LIMIT });
    cleanups.push(() => http.close());
    const handedOn: string[] = [];
    const hono = getRequestListener(http.app.fetch);
    const server = createServer(
      ofrepFastPath(app, requestGuard({ host: '127.0.0.1', maxBodyBytes: LIMIT }), (req, res) => (handedOn.push(`${req.method} ${req.url}`), hono(req, res))),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as AddressInfo).port;

    expect((await overHttp(port, '/ofrep/v1/evaluate/flags/home-focus-shelf', { body: evaluation('u1') })).status).toBe(200);
    expect((await overHttp(port, '/ofrep/v1/evaluate/flags/home%2Fshelf-2', { body: evaluation('u1') })).status).toBe(200);
    expect((await overHttp(port, '/ofrep/v1/evaluate/flags/nope', { body: evaluation('u1') })).status).toBe(404);
    expect((await overHttp(port, '/ofrep/v1/evaluate/flags', { body: evaluation('u1') })).status).toBe(200);
    expect((await overHttp(port, '/v1/surfaces', { body: '' })).status).toBe(404); // POST: no such route
    expect(handedOn).toEqual(['POST /ofrep/v1/evaluate/flags', 'POST /v1/surfaces']);
  });
});

describe('singleFlagKey', () => {
  it('takes the key as hono decodes it, and leaves every other shape to hono', () => {
    expect(singleFlagKey('POST', '/ofrep/v1/evaluate/flags/home-focus-shelf')).toBe('home-focus-shelf');
    expect(singleFlagKey('POST', '/ofrep/v1/evaluate/flags/home%2Fshelf-2')).toBe('home/shelf-2');
    expect(singleFlagKey('POST', '/ofrep/v1/evaluate/flags/home/shelf-2?x=1')).toBe('home/shelf-2');
    expect(singleFlagKey('POST', '/ofrep/v1/evaluate/flags/a%25b')).toBe('a%b');
    for (const url of [
      '/ofrep/v1/evaluate/flags',
      '/ofrep/v1/evaluate/flags/',
      '/ofrep/v1/evaluate/flags/a//b',
      '/ofrep/v1/evaluate/flags/a/b/c',
      '/ofrep/v1/evaluate/flags/a/',
      '/ofrep/v1/evaluate/flags/%E0%A4%A',
      '/ofrep/v1/evaluate/flags/a#b',
      '/OFREP/v1/evaluate/flags/a',
      'http://x/ofrep/v1/evaluate/flags/a',
    ]) {
      expect(singleFlagKey('POST', url), url).toBeUndefined();
    }
    expect(singleFlagKey('GET', '/ofrep/v1/evaluate/flags/a')).toBeUndefined();
  });
});

describe('the OpenFeature server SDK over a listening port', () => {
  it('evaluates flags through the fast path exactly as sealab assigns them', async () => {
    const listening = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: LIMIT });
    cleanups.push(listening.close);
    await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: `http://127.0.0.1:${listening.port}` }));
    const client = OpenFeature.getClient();
    const exp = app.assignments.experiment('home-focus-shelf')!;
    for (let i = 0; i < 40; i++) {
      const unit = `user-${i}`;
      const truth = app.assignments.view('home', unit)!.assignments.find((a) => a.experimentId === exp.id);
      const d = await client.getStringDetails('home-focus-shelf', 'fallback', { targetingKey: unit });
      expect(d).toMatchObject({ value: truth?.variant ?? 'control', reason: 'SPLIT', flagMetadata: { inExperiment: Boolean(truth) } });
      const slot = await client.getStringDetails('home/shelf-2', 'fallback', { targetingKey: unit });
      expect(slot.value).toBe(truth?.variant === 'focus' ? 'sh-focus' : 'mx-daily-1');
    }
    expect(await client.getStringDetails('no-such-flag', 'fallback', { targetingKey: 'u' })).toMatchObject({ value: 'fallback', errorCode: 'FLAG_NOT_FOUND' });
    expect(await client.getStringDetails('home-focus-shelf', 'fallback', {})).toMatchObject({ value: 'fallback', errorCode: 'TARGETING_KEY_MISSING' });
  });
});
