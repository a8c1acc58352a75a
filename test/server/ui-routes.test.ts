import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { createToken } from '../../src/store/tokens-file.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { demoConfig, permissivePolicy, startRunning, tableCounts, testContainer, testHttp } from '../helpers/app.js';

/**
 * The console's HTTP contract without a browser (hono app.request): the session cookie, CSRF and
 * Origin checks, scopes, redirects, escaping and headers. The browser tests are in test/ui/.
 */
const AGENT: WriteContext = { actor: 'rest:token:agent', interface: 'rest', operation: 'test', requestId: 'r1' };
const ORIGIN = 'http://127.0.0.1';

let dir: string;
let app: SqliteContainer;
let http: HttpApp;
let secrets: Record<'agent' | 'alice' | 'viewer', string>;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-ui-'));
  const file = path.join(dir, 'tokens.json');
  secrets = {
    agent: createToken(file, { name: 'agent', scopes: ['deploy'] }).secret,
    alice: createToken(file, { name: 'alice', scopes: ['read', 'approve'] }).secret,
    viewer: createToken(file, { name: 'viewer', scopes: ['read'] }).secret,
  };
  app = await testContainer({ policy: permissivePolicy({ confirmation: { deploy: 'approval', rampAbovePercent: 100, stop: false, ship: false } }) });
  http = testHttp(app, { tokensFile: file });
});
afterEach(async () => {
  await http.close();
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(method: string, p: string, opts: { cookies?: Record<string, string>; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { host: '127.0.0.1', ...opts.headers };
  if (opts.cookies)
    headers.cookie = Object.entries(opts.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  if (opts.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  return http.app.request(p, { method, headers, body: opts.form ? new URLSearchParams(opts.form).toString() : undefined, redirect: 'manual' });
}

/** Signs in through the login form; returns the session cookie and this browser's CSRF token (from a page's form). */
async function signIn(who: keyof typeof secrets) {
  const res = await request('POST', '/ui/login', { form: { token: secrets[who], next: '/ui' }, headers: { origin: ORIGIN } });
  expect(res.status).toBe(303);
  const session = /sealab_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  expect(session).toBeTruthy();
  const page = await request('GET', '/ui/approvals', { cookies: { sealab_session: session! } });
  const csrf = /sealab_csrf=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')?.[1];
  expect(csrf).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect(await page.text()).toContain(`name="csrf" value="${csrf}"`);
  return { sealab_session: session!, sealab_csrf: csrf! };
}

/** A deploy the policy holds for a person, asked for by the agent through REST. */
async function heldDeploy(key = 'home-focus-shelf'): Promise<string> {
  const { experiment } = await app.experiments.create({ config: demoConfig({ key }) }, AGENT);
  const { planHash } = await app.experiments.validate({ experimentId: experiment.id }, AGENT);
  const res = await http.app.request(`/v1/experiments/${experiment.id}/deploy`, {
    method: 'POST',
    headers: { host: '127.0.0.1', authorization: `Bearer ${secrets.agent}`, 'content-type': 'application/json' },
    body: JSON.stringify({ version: experiment.version, planHash }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { approvalId: string }).approvalId;
}

describe('console sign-in', () => {
  it('pages redirect to the login page, keeping where the person was going; the assets need no session', async () => {
    const res = await request('GET', '/ui/surfaces/home?x=1');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/login?next=${encodeURIComponent('/ui/surfaces/home?x=1')}`);
    expect((await request('GET', '/ui/assets/console.css')).status).toBe(200);
    const login = await request('GET', '/ui/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self';");
    expect(await login.text()).toContain('<label for="token">');
  });

  it('a wrong token is refused with a message and no cookie; the right one sets an HttpOnly, SameSite=Strict session cookie', async () => {
    const wrong = await request('POST', '/ui/login', { form: { token: 'nope', next: '/ui' }, headers: { origin: ORIGIN } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That token was refused: unknown or wrong bearer token');

    const right = await request('POST', '/ui/login', { form: { token: secrets.alice, next: '/ui/approvals' }, headers: { origin: ORIGIN } });
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/ui/approvals');
    const cookie = right.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sealab_session=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
    const https = await request('POST', '/ui/login', { form: { token: secrets.alice }, headers: { origin: ORIGIN, 'x-forwarded-proto': 'https' } });
    expect(https.headers.get('set-cookie')).toContain('Secure');
  });

  it('a sign-in from another origin is refused, and only console paths are followed after it', async () => {
    const foreign = await request('POST', '/ui/login', { form: { token: secrets.alice }, headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    for (const next of ['//evil.example/ui', 'https://evil.example/ui', '/v1/experiments', '/uix']) {
      const res = await request('POST', '/ui/login', { form: { token: secrets.alice, next }, headers: { origin: ORIGIN } });
      expect(res.headers.get('location'), next).toBe('/ui');
    }
  });

  it('the cookie is the token: it reads /v1 as that principal, but never writes through /v1', async () => {
    const cookies = await signIn('alice');
    expect((await request('GET', '/v1/experiments', { cookies })).status).toBe(200);
    const write = await request('POST', '/v1/experiments', { cookies, headers: { 'content-type': 'application/json', origin: ORIGIN } });
    expect(write.status).toBe(401);
    expect((await request('GET', '/v1/experiments', { cookies: { sealab_session: 'forged' } })).status).toBe(401);
    const forged = await request('GET', '/ui', { cookies: { sealab_session: 'forged' } });
    expect(forged.status).toBe(303);
    expect(forged.headers.get('location')).toMatch(/^\/ui\/login/);
  });

  it('logout needs the CSRF token, then clears the cookie', async () => {
    const cookies = await signIn('viewer');
    expect((await request('POST', '/ui/logout', { cookies, headers: { origin: ORIGIN }, form: {} })).status).toBe(403);
    const out = await request('POST', '/ui/logout', { cookies, headers: { origin: ORIGIN }, form: { csrf: cookies.sealab_csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/sealab_session=;.*Max-Age=0/);
  });
});

describe('console approvals', () => {
  it('refuses a decision without the CSRF token or from another origin, with nothing written', async () => {
    const id = await heldDeploy();
    const cookies = await signIn('alice');
    const before = tableCounts(app);
    const cases: { headers: Record<string, string>; form: Record<string, string> }[] = [
      { headers: { origin: ORIGIN }, form: { reason: 'ok then' } },
      { headers: { origin: ORIGIN }, form: { reason: 'ok then', csrf: 'x'.repeat(24) } },
      { headers: { origin: 'http://evil.example' }, form: { reason: 'ok then', csrf: cookies.sealab_csrf } },
      { headers: {}, form: { reason: 'ok then', csrf: cookies.sealab_csrf } },
    ];
    for (const c of cases) {
      const res = await request('POST', `/ui/approvals/${id}/approve`, { cookies, ...c });
      expect(res.status, JSON.stringify(c)).toBe(403);
      // A foreign Origin is already refused by the DNS-rebinding check on loopback; the CSRF check refuses the rest.
      expect(await res.text()).toMatch(c.headers.origin === 'http://evil.example' ? /Invalid Origin/ : /did not come from a sealab console page/);
    }
    expect(tableCounts(app)).toEqual(before);
    expect((await app.approvals.get(id)).status).toBe('pending');
  });

  it('off loopback (no DNS-rebinding Origin list), the console still refuses a decision posted from another origin', async () => {
    const id = await heldDeploy();
    const cookies = await signIn('alice');
    const open = testHttp(app, { host: '0.0.0.0', tokensFile: path.join(dir, 'tokens.json') });
    try {
      const headers = {
        host: 'sealab.example.com',
        origin: 'https://evil.example',
        cookie: `sealab_session=${cookies.sealab_session}; sealab_csrf=${cookies.sealab_csrf}`,
      };
      const form = new URLSearchParams({ csrf: cookies.sealab_csrf }).toString();
      const res = await open.app.request(`/ui/approvals/${id}/approve`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('did not come from a sealab console page');
      expect((await app.approvals.get(id)).status).toBe('pending');
    } finally {
      await open.close();
    }
  });

  it('a principal without the approve scope sees no buttons and is refused, naming the scope', async () => {
    const id = await heldDeploy();
    const cookies = await signIn('viewer');
    const page = await (await request('GET', '/ui/approvals', { cookies })).text();
    expect(page).toContain(id);
    expect(page).not.toContain('data-action="approve"');
    expect(page).toContain('needs the <code>approve</code> scope');
    const res = await request('POST', `/ui/approvals/${id}/approve`, { cookies, headers: { origin: ORIGIN }, form: { csrf: cookies.sealab_csrf } });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('needs the &#39;approve&#39; scope');
    expect((await app.approvals.get(id)).status).toBe('pending');
  });

  it('reject needs a reason; approve and reject run the same use case as REST, as the signed-in principal', async () => {
    const first = await heldDeploy();
    const cookies = await signIn('alice');
    const post = (id: string, verb: string, form: Record<string, string>) =>
      request('POST', `/ui/approvals/${id}/${verb}`, { cookies, headers: { origin: ORIGIN }, form: { csrf: cookies.sealab_csrf, ...form } });
    const noReason = await post(first, 'reject', {});
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toContain('a rejection needs a reason');
    expect((await app.approvals.get(first)).status).toBe('pending');

    expect((await post(first, 'reject', { reason: 'not this week' })).status).toBe(200);
    expect(await app.approvals.get(first)).toMatchObject({ status: 'rejected', decidedBy: 'rest:token:alice', decisionReason: 'not this week' });

    const second = await heldDeploy('home-focus-shelf-2');
    const ok = await post(second, 'approve', { reason: 'guardrails reviewed' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(`Approved ${second}`);
    expect(await app.approvals.get(second)).toMatchObject({ status: 'applied', decidedBy: 'rest:token:alice' });
    const again = await post(second, 'approve', {});
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('is already applied');
  });
});

describe('console pages', () => {
  it('escape what people and agents wrote, and answer unknown ids with a page', async () => {
    app.setPolicy(permissivePolicy());
    const exp = await startRunning(app, demoConfig({ name: '<script>alert("x")</script> & co', hypothesis: '<img src=x onerror=alert(1)>' }));
    const cookies = await signIn('viewer');
    const res = await request('GET', `/ui/experiments/${exp.id}`, { cookies });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain('<script>alert');
    expect(body).not.toContain('<img src=x');
    expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const missing = await request('GET', '/ui/experiments/exp_nope', { cookies });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('text/html');
    expect(await missing.text()).toContain('experiment &#39;exp_nope&#39; does not exist');
  });
});
