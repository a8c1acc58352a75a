import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { createToken, listTokens, revokeToken } from '../../src/store/tokens-file.js';
import { tools } from '../../tools/index.js';
import { demoConfig, legacyHttpClient, modernHttpClient, tableCounts, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';

const LEGACY_TOKEN = 'a-very-long-test-token-123';
const READ_ONLY_TOOLS = tools
  .filter((t) => t.annotations.readOnlyHint)
  .map((t) => t.name)
  .sort();

let dir: string;
let file: string;
let app: SqliteContainer;
let http: HttpApp;
let cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-tokens-'));
  file = path.join(dir, 'tokens.json');
  app = await testContainer();
  http = testHttp(app, { tokensFile: file, token: LEGACY_TOKEN });
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
  await http.close();
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rest(method: string, p: string, secret: string | undefined, body?: unknown) {
  const headers: Record<string, string> = { host: '127.0.0.1', ...(secret ? { authorization: `Bearer ${secret}` } : {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await http.app.request(p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

const token = (name: string, scopes: Parameters<typeof createToken>[1]['scopes'], expiresDays?: number, now?: Date) =>
  createToken(file, { name, scopes, ...(expiresDays !== undefined ? { expiresDays } : {}) }, now).secret;

describe('named tokens and scopes', () => {
  it('stores only hashes: the secret is in no file, and list shows names, scopes and expiry', () => {
    const secret = token('ci', ['read', 'write'], 30);
    expect(secret).toMatch(/^slb_[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(4));
    expect(JSON.parse(text).tokens[0].hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(listTokens(file)).toEqual([{ name: 'ci', scopes: ['read', 'write'], expiresAt: expect.any(String), createdAt: expect.any(String) }]);
    expect(() => token('ci', ['read'])).toThrow(/exists/);
  });

  it('gives a read token 403 insufficient_scope on POST /v1/experiments, naming write, with nothing written', async () => {
    const secret = token('viewer', ['read']);
    const before = tableCounts(app);

    const list = await rest('GET', '/v1/experiments', secret);
    const create = await rest('POST', '/v1/experiments', secret, { config: demoConfig() });

    expect(list.status).toBe(200);
    expect(create.status).toBe(403);
    expect(create.json).toMatchObject({ code: 'INSUFFICIENT_SCOPE', details: { needed: 'write', granted: ['read'] } });
    expect(create.json.detail).toMatch(/'write' scope; token:viewer has read/);
    expect(create.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="write"/);
    expect(tableCounts(app)).toEqual(before);
  });

  it('lets a write token create but not deploy (403 naming deploy), audited as token:<name>', async () => {
    const secret = token('ci', ['read', 'write']);
    const created = await rest('POST', '/v1/experiments', secret, { config: demoConfig() });
    const id = created.json.experiment.id;
    const before = tableCounts(app);

    const deploy = await rest('POST', `/v1/experiments/${id}/deploy`, secret, { planHash: 'x', dryRun: true });

    expect(created.status).toBe(201);
    expect((await app.deps.store.audit.forEntity('experiment', id)).at(-1)).toMatchObject({ actor: 'rest:token:ci' });
    expect(deploy.status).toBe(403);
    expect(deploy.json).toMatchObject({ code: 'INSUFFICIENT_SCOPE', details: { needed: 'deploy' } });
    expect(tableCounts(app)).toEqual(before);
  });

  it('refuses an expired token and a revoked one with 401, and keeps the legacy SEALAB_TOKEN with every scope', async () => {
    const old = token('old', ['admin'], 1, new Date(Date.now() - 2 * 86_400_000));
    const gone = token('gone', ['admin']);
    expect((await rest('GET', '/v1/experiments', gone)).status).toBe(200);
    expect(revokeToken(file, 'gone')).toBe(true);
    // The server re-reads the file at most once a second: poll until the revocation holds.
    await vi.waitFor(async () => expect((await rest('GET', '/v1/experiments', gone)).status).toBe(401), { timeout: 5000, interval: 100 });

    const expired = await rest('GET', '/v1/experiments', old);
    const revoked = await rest('GET', '/v1/experiments', gone);
    const none = await rest('GET', '/v1/experiments', undefined);
    const legacy = await rest('POST', '/v1/clock/advance', LEGACY_TOKEN, {});

    expect(expired.status).toBe(401);
    expect(expired.json.detail).toMatch(/'old' expired at/);
    expect(expired.json.hint).toMatch(/sealab token create/);
    expect(revoked.status).toBe(401);
    expect(none.status).toBe(401);
    expect(legacy.status).not.toBe(401);
    expect(legacy.status).not.toBe(403);
  });

  it('turns auth on once a tokens file exists, without SEALAB_TOKEN; before that the loopback caller is anonymous', async () => {
    const open = testHttp(app, { tokensFile: file });
    cleanups.push(() => open.close());
    const get = (secret?: string) =>
      open.app.request('/v1/experiments', { headers: { host: '127.0.0.1', ...(secret ? { authorization: `Bearer ${secret}` } : {}) } });

    expect((await get()).status).toBe(200);
    const secret = token('ci', ['read']);
    await vi.waitFor(async () => expect((await get()).status).toBe(401), { timeout: 5000, interval: 100 });
    expect((await get(secret)).status).toBe(200);
  });

  it('lists only read-only tools to a read token over both MCP eras and refuses a write tool naming its scope', async () => {
    const secret = token('viewer', ['read']);
    const auth = { authorization: `Bearer ${secret}` };
    const modern = await modernHttpClient(http, auth);
    cleanups.push(() => modern.close());
    const legacy = await legacyHttpClient(http, auth);
    cleanups.push(() => legacy.close());
    const before = tableCounts(app);

    const modernTools = (await modern.listTools()).tools.map((t) => t.name).sort();
    const legacyTools = (await legacy.listTools()).tools.map((t) => t.name).sort();
    const surfaces = (await modern.callTool({ name: 'list_surfaces', arguments: {} })) as ToolCallResult;
    const refused = modern.callTool({ name: 'create_experiment', arguments: { config: demoConfig() } });

    expect(modernTools).toEqual(READ_ONLY_TOOLS);
    expect(legacyTools).toEqual(READ_ONLY_TOOLS);
    expect(surfaces.isError, textOf(surfaces)).toBeFalsy();
    (await expect(refused)).rejects.toThrow(/Insufficient scope: required "write"/);
    expect(tableCounts(app)).toEqual(before);
  });

  it('gives a write token the write tools but not deploy_to_surface, and audits MCP calls as token:<name>', async () => {
    const secret = token('ci', ['write']);
    const client = await modernHttpClient(http, { authorization: `Bearer ${secret}` });
    cleanups.push(() => client.close());

    const names = (await client.listTools()).tools.map((t) => t.name);
    const created = (await client.callTool({ name: 'create_experiment', arguments: { config: demoConfig() } })) as ToolCallResult;

    expect(names).toContain('create_experiment');
    expect(names).not.toContain('deploy_to_surface');
    expect(names).not.toContain('stop_experiment');
    expect(created.isError, textOf(created)).toBeFalsy();
    const id = (created.structuredContent as any).experiment.id;
    expect((await app.deps.store.audit.forEntity('experiment', id)).at(-1)).toMatchObject({ actor: 'token:ci', interface: 'mcp-http' });
    await expect(client.callTool({ name: 'deploy_to_surface', arguments: { experimentId: id } })).rejects.toThrow(/Insufficient scope: required "deploy"/);
  });

  it('caps every principal at read with --read-only', async () => {
    const ro = testHttp(app, { token: LEGACY_TOKEN, readOnly: true });
    cleanups.push(() => ro.close());
    const client = await modernHttpClient(ro, { authorization: `Bearer ${LEGACY_TOKEN}` });
    cleanups.push(() => client.close());
    const res = await ro.app.request('/v1/experiments', {
      method: 'POST',
      headers: { host: '127.0.0.1', authorization: `Bearer ${LEGACY_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ config: demoConfig() }),
    });

    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(READ_ONLY_TOOLS);
    expect(res.status).toBe(403);
  });
});
