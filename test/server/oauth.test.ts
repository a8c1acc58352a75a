import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { generateKeyPair, SignJWT } from 'jose';
import type { SqliteContainer } from '../../src/container.js';
import { createHttpApp, type HttpApp, type HttpOptions } from '../../src/server/http-app.js';
import { listenHttp } from '../../src/server/http-listen.js';
import type { OAuthOptions } from '../../src/server/oauth-resource.js';
import { tools } from '../../tools/index.js';
import { startAuthorizationServer, CLIENT_ID, type AuthorizationServer } from '../helpers/authorization-server.js';
import { APPROVED, demoConfig, legacyHttpClient, modernHttpClient, permissivePolicy, tableCounts, testContainer, testHttp } from '../helpers/app.js';

/** sealab's resource URL in these tests: the MCP URL the in-process clients use (test/helpers/app.ts). */
const RESOURCE = 'http://127.0.0.1/mcp';
const METADATA_URL = 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp';
const LEGACY_TOKEN = 'a-very-long-test-token-123';

let as: AuthorizationServer;
let app: SqliteContainer;
let cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  as = await startAuthorizationServer();
});
afterAll(() => as.close());
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

const oauthOptions = (o: Partial<OAuthOptions> = {}): OAuthOptions => ({ issuer: as.issuer, resource: RESOURCE, ...o });

async function useHttp(opts: Partial<HttpOptions> = {}, container?: SqliteContainer): Promise<HttpApp> {
  const c = container ?? (await testContainer());
  if (!container) cleanups.push(() => c.close());
  app = c;
  const http = testHttp(c, { oauth: oauthOptions(), ...opts });
  cleanups.push(() => http.close());
  return http;
}

async function rest(http: HttpApp, method: string, p: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = { host: '127.0.0.1', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await http.app.request(p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

/** An access token from the real authorization server, client credentials grant. */
async function granted(scope: string, resource = RESOURCE): Promise<string> {
  const t = await as.token({ resource, scope });
  expect(t.status, JSON.stringify(t.body)).toBe(200);
  return t.accessToken!;
}

/** A token with the claims the authorization server would issue, changed as a test needs, signed by `key` (default: the server's own). */
async function crafted(
  o: { iss?: string; aud?: string; exp?: number; scope?: string; alg?: string; kid?: string; key?: CryptoKey | Uint8Array; noExp?: boolean } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ scope: o.scope ?? 'read write', client_id: CLIENT_ID })
    .setProtectedHeader({ alg: o.alg ?? 'ES256', typ: 'at+jwt', kid: o.kid ?? as.kid })
    .setIssuer(o.iss ?? as.issuer)
    .setAudience(o.aud ?? RESOURCE)
    .setSubject(CLIENT_ID)
    .setIssuedAt(now - 60);
  if (!o.noExp) jwt.setExpirationTime(o.exp ?? now + 300);
  return jwt.sign(o.key ?? as.privateKey);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('OAuth resource server: metadata and challenges', () => {
  it('serves the RFC 9728 metadata document without auth, at the path-suffixed and the root well-known URL', async () => {
    const http = await useHttp();
    for (const p of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await http.app.request(p, { headers: { host: '127.0.0.1' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [as.issuer],
        scopes_supported: ['read', 'write', 'deploy', 'admin', 'approve'],
        bearer_methods_supported: ['header'],
        resource_name: 'sealab',
      });
    }
    const prefixed = await useHttp({ oauth: oauthOptions({ scopePrefix: 'sealab:' }) });
    const doc = (await (await prefixed.app.request('/.well-known/oauth-protected-resource/mcp', { headers: { host: '127.0.0.1' } })).json()) as any;
    expect(doc.scopes_supported).toEqual(['sealab:read', 'sealab:write', 'sealab:deploy', 'sealab:admin', 'sealab:approve']);
  });

  it('answers a request without a token 401 naming the metadata URL, on REST and MCP, and writes nothing', async () => {
    const http = await useHttp();
    const before = tableCounts(app);
    const replies = [await rest(http, 'GET', '/v1/experiments'), await rest(http, 'POST', '/v1/experiments', undefined, { config: demoConfig() })];
    const mcp = await http.app.request('/mcp', {
      method: 'POST',
      headers: { host: '127.0.0.1', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    for (const r of [...replies, { status: mcp.status, headers: mcp.headers, json: await mcp.json() }]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(`Bearer realm="sealab", resource_metadata="${METADATA_URL}"`);
      expect(r.json).toMatchObject({ code: 'UNAUTHORIZED', hint: expect.stringMatching(/OAuth access token/) });
    }
    expect(tableCounts(app)).toEqual(before);
  });
});

describe('OAuth resource server: client credentials end to end (oidc-provider)', () => {
  it('REST: a read+write token lists and creates (audited as oauth:<client_id>); deploy is 403 naming deploy, nothing written', async () => {
    const http = await useHttp();
    const token = await granted('read write');

    const list = await rest(http, 'GET', '/v1/experiments', token);
    const created = await rest(http, 'POST', '/v1/experiments', token, { config: demoConfig() });
    expect(list.status).toBe(200);
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.experiment.id;
    expect((await app.deps.store.audit.forEntity('experiment', id)).at(-1)).toMatchObject({ actor: `rest:oauth:${CLIENT_ID}` });

    const before = tableCounts(app);
    const deploy = await rest(http, 'POST', `/v1/experiments/${id}/deploy`, token, { planHash: 'x', version: 1 });
    expect(deploy.status).toBe(403);
    expect(deploy.json).toMatchObject({ code: 'INSUFFICIENT_SCOPE', details: { needed: 'deploy', granted: ['read', 'write'] } });
    expect(deploy.headers.get('www-authenticate')).toBe(
      `Bearer realm="sealab", error="insufficient_scope", scope="deploy", resource_metadata="${METADATA_URL}"`,
    );
    expect(tableCounts(app)).toEqual(before);
  });

  it('MCP: a read token sees only read-only tools and a write tool call is refused 403; a write token creates', async () => {
    const http = await useHttp();
    const read = await granted('read');
    const modern = await modernHttpClient(http, { authorization: `Bearer ${read}` });
    cleanups.push(() => modern.close());
    const listed = (await modern.listTools()).tools.map((t) => t.name).sort();
    expect(listed).toEqual(
      tools
        .filter((t) => t.annotations.readOnlyHint)
        .map((t) => t.name)
        .sort(),
    );
    const before = tableCounts(app);
    await expect(modern.callTool({ name: 'create_experiment', arguments: { config: demoConfig() } })).rejects.toThrow(/403|insufficient_scope|write/i);
    expect(tableCounts(app)).toEqual(before);

    const write = await granted('read write');
    const legacy = await legacyHttpClient(http, { authorization: `Bearer ${write}` });
    cleanups.push(() => legacy.close());
    const result = (await legacy.callTool({ name: 'create_experiment', arguments: { config: demoConfig() } })) as {
      isError?: boolean;
      structuredContent?: any;
    };
    expect(result.isError).toBeFalsy();
    const id = result.structuredContent.experiment.id;
    expect((await app.deps.store.audit.forEntity('experiment', id)).at(-1)?.actor).toContain(`oauth:${CLIENT_ID}`);
  });

  it('OFREP over a real socket (the node fast path): a token verified on first use, then from the cache; a bad one 401', async () => {
    const c = await testContainer();
    cleanups.push(() => c.close());
    const server = await listenHttp(c, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, oauth: oauthOptions() });
    cleanups.push(() => server.close());
    const evaluate = (token: string) =>
      fetch(`http://127.0.0.1:${server.port}/ofrep/v1/evaluate/flags/home/shelf-2`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ context: { targetingKey: 'u1' } }),
      });
    const token = await granted('read');
    expect((await evaluate(token)).status).toBe(200);
    expect((await evaluate(token)).status).toBe(200);
    const bad = await evaluate(await crafted({ aud: 'http://127.0.0.1/other' }));
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('keeps SEALAB_TOKEN working beside OAuth', async () => {
    const http = await useHttp({ token: LEGACY_TOKEN });
    expect((await rest(http, 'GET', '/v1/experiments', LEGACY_TOKEN)).status).toBe(200);
    expect((await rest(http, 'GET', '/v1/experiments', await granted('read'))).status).toBe(200);
    expect((await rest(http, 'GET', '/v1/experiments', 'slb_not-a-token-at-all')).status).toBe(401);
  });
});

describe('OAuth resource server: refused tokens (401 invalid_token, a hint, nothing written)', () => {
  const refusals: Array<[string, () => Promise<string>, RegExp]> = [
    ['wrong audience (a real token for another resource)', () => granted('read write', 'http://127.0.0.1/other-mcp'), /not for this server/],
    ['wrong issuer (signed by the trusted key)', () => crafted({ iss: 'http://127.0.0.1:1/evil' }), /not issued by/],
    ['expired', () => crafted({ exp: Math.floor(Date.now() / 1000) - 3600 }), /expired at/],
    ['without exp', () => crafted({ noExp: true }), /'exp' claim is missing/],
    [
      'unsigned (alg none)',
      async () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: as.issuer, aud: RESOURCE, scope: 'admin', client_id: 'x', exp: 9e9 })}.`,
      /algorithm is refused/,
    ],
    ['HMAC-signed (HS256)', () => crafted({ alg: 'HS256', key: new TextEncoder().encode('a-shared-secret-of-32-bytes-long!') }), /algorithm is refused/],
    ['signed by a foreign key with the trusted kid', async () => crafted({ key: (await generateKeyPair('ES256')).privateKey }), /signature does not verify/],
    [
      'signed by a foreign key with an unknown kid',
      async () => crafted({ kid: 'nope', key: (await generateKeyPair('ES256')).privateKey }),
      /signature does not verify/,
    ],
    ['malformed (a header that is not JSON)', async () => 'bm90LWpzb24.e30.c2ln', /malformed/],
    ['unknown (an opaque token nobody issued)', async () => 'opaque-token-nobody-issued', /unknown or wrong bearer token/],
  ];

  it.each(refusals)('%s', async (_name, make, detail) => {
    const http = await useHttp();
    const token = await make();
    const before = tableCounts(app);
    const res = await rest(http, 'POST', '/v1/experiments', token, { config: demoConfig() });
    expect(res.status, JSON.stringify(res.json)).toBe(401);
    expect(res.json).toMatchObject({ code: 'UNAUTHORIZED', detail: expect.stringMatching(detail), hint: expect.stringMatching(/\S/) });
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(new RegExp(`^Bearer realm="sealab", resource_metadata="${METADATA_URL}", error="invalid_token", error_description="[^"]+"$`));
    expect(tableCounts(app)).toEqual(before);
  });

  it('refuses a token from another real authorization server', async () => {
    const other = await startAuthorizationServer();
    cleanups.push(() => other.close());
    const t = await other.token({ resource: RESOURCE, scope: 'admin' });
    const http = await useHttp();
    const before = tableCounts(app);
    const res = await rest(http, 'POST', '/v1/experiments', t.accessToken, { config: demoConfig() });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(tableCounts(app)).toEqual(before);
  });

  it('answers 403 naming the scope for a valid token without it (none of sealab, or read only)', async () => {
    const http = await useHttp();
    const before = tableCounts(app);
    const none = await rest(http, 'GET', '/v1/experiments', await crafted({ scope: 'openid profile' }));
    const readOnly = await rest(http, 'POST', '/v1/experiments', await granted('read'), { config: demoConfig() });
    expect(none.status).toBe(403);
    expect(none.json).toMatchObject({ code: 'INSUFFICIENT_SCOPE', details: { needed: 'read', granted: [] } });
    expect(readOnly.status).toBe(403);
    expect(readOnly.json.detail).toMatch(/needs the 'write' scope; oauth:sealab-ci has read/);
    expect(readOnly.json.hint).toMatch(/Request an access token from .* with scope=write and resource=http:\/\/127\.0\.0\.1\/mcp/);
    expect(tableCounts(app)).toEqual(before);
  });

  it('maps prefixed scopes (SEALAB_OAUTH_SCOPE_PREFIX) and ignores unprefixed ones', async () => {
    const http = await useHttp({ oauth: oauthOptions({ scopePrefix: 'sealab:' }) });
    expect((await rest(http, 'GET', '/v1/experiments', await crafted({ scope: 'sealab:read' }))).status).toBe(200);
    const plain = await rest(http, 'GET', '/v1/experiments', await crafted({ scope: 'read write' }));
    expect(plain.status).toBe(403);
    expect(plain.headers.get('www-authenticate')).toMatch(/scope="sealab:read"/);
  });

  it('answers 503 (not 401) when the issuer cannot be reached for its keys, and writes nothing', async () => {
    const http = await useHttp({ oauth: oauthOptions({ issuer: 'http://127.0.0.1:9', timeoutMs: 500 }) });
    const before = tableCounts(app);
    const res = await rest(http, 'POST', '/v1/experiments', await crafted({ iss: 'http://127.0.0.1:9' }), { config: demoConfig() });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', hint: expect.stringMatching(/SEALAB_OAUTH_JWKS_URL/) });
    expect(tableCounts(app)).toEqual(before);
  });

  it('off loopback nobody is anonymous: a tokens file that does not exist yet refuses every request', async () => {
    const c = await testContainer();
    cleanups.push(() => c.close());
    const http = createHttpApp(c, { host: '0.0.0.0', maxBodyBytes: 1_048_576, tokensFile: '/nonexistent/sealab-tokens.json' });
    cleanups.push(() => http.close());
    const res = await http.app.request('/v1/experiments', { headers: { host: 'sealab.example.com' } });
    expect(res.status).toBe(401);
  });
});

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A port free a moment ago: the resource URL sealab derives names the port, so it cannot be 0. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('sealab serve with SEALAB_OAUTH_ISSUER (a spawned process)', () => {
  it('derives its resource URL from host and port, publishes it, and accepts a token issued for it', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sealab-oauth-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SEALAB_OAUTH_ISSUER: as.issuer, SEALAB_RAMP_INTERVAL_SECONDS: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise((r) => child.on('exit', r));
    cleanups.push(() => (child.kill(), exited));
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sealab did not start: ${err}`)), 20_000);
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        if (err.includes('sealab HTTP listening')) resolve(void clearTimeout(timer));
      });
    });
    const base = `http://127.0.0.1:${port}`;

    const metadata = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as any;
    const anonymous = await fetch(`${base}/v1/experiments`);
    const token = await granted('read', `${base}/mcp`);
    const authorized = await fetch(`${base}/v1/experiments`, { headers: { authorization: `Bearer ${token}` } });

    expect(metadata).toMatchObject({ resource: `${base}/mcp`, authorization_servers: [as.issuer] });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(`Bearer realm="sealab", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(authorized.status).toBe(200);
    expect(err).toMatch(/"oauthIssuer":"http:\/\/127\.0\.0\.1:\d+"/);
  });
});

describe('no token passthrough', () => {
  it("a remote backend sees sealab's own credential (SEALAB_UPSTREAM_TOKEN), never the caller's access token", async () => {
    const UPSTREAM = 'the-upstream-credential-of-sealab';
    const backendApp = await testContainer();
    const backend = createHttpApp(backendApp, { role: 'backend', host: '127.0.0.1', maxBodyBytes: 1_048_576, token: UPSTREAM });
    const seen: string[] = [];
    const server: ServerType = await new Promise((resolve) => {
      const s = serve(
        {
          fetch: (req) => {
            seen.push(req.headers.get('authorization') ?? '');
            return backend.app.fetch(req);
          },
          port: 0,
          hostname: '127.0.0.1',
        },
        () => resolve(s),
      );
    });
    cleanups.push(() => backendApp.close());
    cleanups.push(() => backend.close());
    cleanups.push(() => new Promise<void>((r) => (server as import('node:http').Server).close(() => r())));
    const port = ((server as import('node:http').Server).address() as import('node:net').AddressInfo).port;
    const gateway = await testContainer({
      policy: permissivePolicy({ requiredGuardrails: [] }),
      remote: { backendUrl: `http://127.0.0.1:${port}`, token: UPSTREAM, timeoutMs: 2000 },
    });
    cleanups.push(() => gateway.close());
    const http = await useHttp({}, gateway);
    const token = await granted('deploy');

    const created = await rest(http, 'POST', '/v1/experiments', token, { config: demoConfig() });
    const id = created.json.experiment.id;
    const v = await rest(http, 'POST', `/v1/experiments/${id}/validate`, token);
    const d = await rest(http, 'POST', `/v1/experiments/${id}/deploy`, token, { version: 1, planHash: v.json.planHash, confirmation: APPROVED });

    expect(d.status, JSON.stringify(d.json)).toBe(200);
    expect(backendApp.localSystems.backend.getSync(id)).toMatchObject({ experimentId: id });
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([`Bearer ${UPSTREAM}`]));
  });
});
