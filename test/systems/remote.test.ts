import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { serve, type ServerType } from '@hono/node-server';
import { RemoteBackend, RemoteContent } from '../../src/systems/remote.js';
import { createLogger } from '../../src/logger.js';

/** A stand-in upstream whose answers are chosen per experiment id. */
let server: ServerType;
let base = '';
const calls: Record<string, number> = {};
const state = {
  experimentId: 'ok',
  surfaceId: 'home',
  key: 'k',
  status: 'running',
  buckets: [[0, 10]],
  allocationPercent: 1,
  variants: [],
  updatedAt: '2026-01-01T00:00:00.000Z',
};

beforeAll(async () => {
  const app = new Hono();
  app.all('/v1/backend/experiments/:id', async (c) => {
    const id = c.req.param('id');
    calls[id] = (calls[id] ?? 0) + 1;
    if (id === 'missing') return c.json({ code: 'NOT_FOUND', detail: "surface 'nope' does not exist" }, 404);
    if (id === 'boom') return c.text('stack trace with secrets', 500);
    if (id === 'flaky' && calls[id] === 1) return c.text('busy', 503);
    if (id === 'slow') await new Promise((r) => setTimeout(r, 400));
    if (id === 'odd') return c.json({ state: { nope: true }, replayed: false });
    return c.json(c.req.method === 'PUT' ? { state: { ...state, experimentId: id }, replayed: false } : { ...state, experimentId: id });
  });
  app.get('/v1/content-delivery/experiments/:id', (c) => c.json({ code: 'NOT_FOUND' }, 404));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
});
afterAll(() => {
  (server as import('node:http').Server).closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

const write = {
  opId: 'op_1',
  step: 'backend.allocate',
  surfaceId: 'home',
  key: 'k',
  status: 'allocated' as const,
  buckets: [[0, 10]] as [number, number][],
  allocationPercent: 1,
  variants: [],
};
const backend = (timeoutMs = 1000) => new RemoteBackend({ baseUrl: base, timeoutMs, logger: createLogger('silent') });

describe('remote systems over HTTP (ky)', () => {
  it('parses answers with zod', async () => {
    expect(await backend().put('exp_1', write)).toMatchObject({ replayed: false, state: { experimentId: 'exp_1', status: 'running' } });
    expect(await backend().get('exp_1')).toMatchObject({ experimentId: 'exp_1' });
  });

  it('keeps the meaning of a 4xx and maps 404 on a read to null', async () => {
    await expect(backend().put('missing', write)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining("surface 'nope'") });
    expect(await new RemoteContent({ baseUrl: base, timeoutMs: 500, logger: createLogger('silent') }).get('exp_1')).toBeNull();
  });

  it('maps 5xx, timeouts and unexpected shapes to UPSTREAM_UNAVAILABLE without the upstream body', async () => {
    const boom = (await backend()
      .put('boom', write)
      .then(
        () => null,
        (e: unknown) => e,
      )) as Error & { code: string };
    expect(boom).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(boom.message).not.toContain('secrets');
    await expect(backend(100).put('slow', write)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/within 100 ms/) });
    await expect(backend().put('odd', write)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/unexpected shape/) });
    await expect(new RemoteBackend({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 300, logger: createLogger('silent') }).get('x')).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: expect.stringMatching(/could not be reached/),
    });
  });

  it('retries an idempotent PUT on 503 and does not retry a 500', async () => {
    expect(await backend().put('flaky', write)).toMatchObject({ state: { experimentId: 'flaky' } });
    expect(calls.flaky).toBe(2);
    expect(calls.boom).toBe(1);
  });
});
