/**
 * The per-request cost of authentication in the request guard (requestGuard().check, what every
 * /v1, /mcp and OFREP request pays before its route): a named token from the tokens file with the
 * file stat'ed on every request (the old behaviour, recheckMs 0) next to at most once a second (now),
 * and an OAuth access token (ES256, JWKS from a local server) verified the first time next to
 * one already verified (served from the verified-token cache, synchronously).
 *
 *   npx tsx bench/auth-check.ts [--calls 200000] [--tokens 2000] [--rounds 5]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { requestGuard } from '../src/server/http-app.js';
import { createToken, tokenVerifier } from '../src/store/tokens-file.js';
import { benchTempDir, removeBenchDir } from './helpers.js';
import { arg, fmt, loadLine, median } from './util.js';

const CALLS = arg('calls', 200_000);
const TOKENS = arg('tokens', 2_000);
const ROUNDS = arg('rounds', 5);

const perSecond = (n: number, ms: number) => (n / ms) * 1000;

async function namedTokens(): Promise<void> {
  const dir = benchTempDir('auth');
  const file = path.join(dir, 'tokens.json');
  for (let i = 0; i < 5; i++) createToken(file, { name: `t${i}`, scopes: ['read'] });
  const { secret } = createToken(file, { name: 'ci', scopes: ['read', 'write'] });
  for (const [label, recheckMs] of [
    ['stat per request (before)', 0],
    ['stat at most 1/s (now)', 1000],
  ] as const) {
    const v = tokenVerifier(file, { recheckMs });
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      for (let i = 0; i < CALLS; i++) if (v.verify(secret).kind !== 'valid') throw new Error('token refused');
      rates.push(perSecond(CALLS, performance.now() - t0));
    }
    console.log(`  named token, ${label.padEnd(28)}: ${fmt(median(rates))} checks/s`);
  }
  removeBenchDir(dir);
}

async function oauthTokens(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resource = 'http://127.0.0.1:8787/mcp';
  const guard = requestGuard({ host: '127.0.0.1', maxBodyBytes: 1 << 20, oauth: { issuer: base, resource, jwksUrl: `${base}/jwks` } });
  const sign = (i: number) =>
    new SignJWT({ scope: 'read', client_id: `c${i}` })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(base)
      .setAudience(resource)
      .setExpirationTime('10m')
      .sign(privateKey);
  const tokens = await Promise.all(Array.from({ length: TOKENS }, (_, i) => sign(i)));
  const check = (t: string) => guard.check({ host: '127.0.0.1', authorization: `Bearer ${t}` }, 'GET', '/v1/experiments');
  await check(await sign(-1)); // fetch the JWKS once, outside the timing
  // At most 1024 tokens are kept verified: the first-time figure uses TOKENS fresh tokens per round.
  const fresh: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const batch = await Promise.all(Array.from({ length: TOKENS }, (_, i) => sign(r * TOKENS + i + TOKENS)));
    const t0 = performance.now();
    for (const t of batch) if ('error' in (await check(t))) throw new Error('token refused');
    fresh.push(perSecond(TOKENS, performance.now() - t0));
  }
  const one = tokens[0];
  await check(one);
  const cached: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const who = check(one);
      if (who instanceof Promise || 'error' in who) throw new Error('not served from the cache');
    }
    cached.push(perSecond(CALLS, performance.now() - t0));
  }
  console.log(`  OAuth ES256, first verification          : ${fmt(median(fresh))} checks/s`);
  console.log(`  OAuth ES256, already verified (cached)   : ${fmt(median(cached))} checks/s (synchronous)`);
  server.close();
}

console.log(`requestGuard auth cost, median of ${ROUNDS} rounds (node ${process.version}); ${loadLine()}`);
await namedTokens();
await oauthTokens();
