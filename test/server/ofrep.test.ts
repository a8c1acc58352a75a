import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { APPROVED, appFetch, demoConfig, permissivePolicy, testContainer, testHttp } from '../helpers/app.js';

let app: SqliteContainer;
let http: HttpApp;
const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };

async function running(key: string, overrides: Record<string, unknown> = {}) {
  const { experiment } = await app.experiments.create({ config: demoConfig({ key, ...overrides }) }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  expect(v.valid).toBe(true);
  return (await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  appFetch(http)(`http://127.0.0.1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const exposures = () => {
  app.exposures.flushSync();
  app.fold.catchUp(); // served exposures are appended to the event log, then folded (ADR 0018)
  return app.deps.db.prepare('SELECT experiment_id AS e, unit_id AS u, variant FROM exposures ORDER BY u').all() as { e: string; u: string; variant: string }[];
};

beforeEach(async () => {
  app = await testContainer({ policy: permissivePolicy() }); // serving mechanics at 50% first stages
  http = testHttp(app);
});
afterEach(async () => {
  await OpenFeature.close();
  await http.close();
  app.close();
});

describe('OFREP through the OpenFeature server SDK and the community OFREP provider', () => {
  it('evaluates experiment and slot flags exactly as sealab assigns them', async () => {
    const exp = await running('home-focus-shelf', { allocationPercent: 50 });
    await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: 'http://127.0.0.1', fetchImplementation: appFetch(http) }));
    const client = OpenFeature.getClient();
    const seen = { in: 0, out: 0 };
    for (let i = 0; i < 200; i++) {
      const unit = `user-${i}`;
      const d = await client.getStringDetails('home-focus-shelf', 'fallback', { targetingKey: unit });
      const truth = app.assignments.view('home', unit)!.assignments.find((a) => a.experimentId === exp.id);
      expect(d.errorCode).toBeUndefined();
      expect(d.value).toBe(truth?.variant ?? 'control');
      // In or out of the allocation, the bucket split decided (OFREP has no DEFAULT); metadata says which.
      expect(d.reason).toBe('SPLIT');
      expect(d.flagMetadata.inExperiment).toBe(Boolean(truth));
      seen[truth ? 'in' : 'out']++;
      const slot = await client.getStringDetails('home/shelf-2', 'fallback', { targetingKey: unit });
      expect(slot.value).toBe(truth?.variant === 'focus' ? 'sh-focus' : 'mx-daily-1');
    }
    expect(seen.in).toBeGreaterThan(60); // 50% allocation
    expect(seen.out).toBeGreaterThan(60);
    // Single evaluations are serving decisions: exactly the units in the experiment were exposed, once each.
    const ex = exposures();
    expect(ex).toHaveLength(seen.in);
    expect(new Set(ex.map((x) => x.u)).size).toBe(seen.in);

    const unknown = await client.getStringDetails('no-such-flag', 'fallback', { targetingKey: 'u' });
    expect(unknown).toMatchObject({ value: 'fallback', errorCode: 'FLAG_NOT_FOUND' });
    const noKey = await client.getStringDetails('home-focus-shelf', 'fallback', {});
    expect(noKey).toMatchObject({ value: 'fallback', errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('reports DISABLED with the control value once an experiment is stopped', async () => {
    const exp = await running('home-focus-shelf', { allocationPercent: 50 });
    await app.stops.stop({ experimentId: exp.id, reason: 'test' }, ctx);
    const r = await post('/ofrep/v1/evaluate/flags/home-focus-shelf', { context: { targetingKey: 'user-1' } });
    expect(await r.json()).toMatchObject({ key: 'home-focus-shelf', value: 'control', variant: 'control', reason: 'DISABLED' });
  });
});

describe('OFREP over raw HTTP', () => {
  it('answers unknown flags 404 and bad requests 400 as the spec says', async () => {
    const nf = await post('/ofrep/v1/evaluate/flags/nope', { context: { targetingKey: 'u' } });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ key: 'nope', errorCode: 'FLAG_NOT_FOUND' });
    const miss = await post('/ofrep/v1/evaluate/flags/home%2Fhero', { context: {} });
    expect(miss.status).toBe(400);
    expect(await miss.json()).toMatchObject({ errorCode: 'TARGETING_KEY_MISSING' });
    const bad = await appFetch(http)('http://127.0.0.1/ofrep/v1/evaluate/flags/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ key: 'x', errorCode: 'PARSE_ERROR' });
  });

  it('bulk evaluation carries an ETag and answers 304 while nothing changed', async () => {
    await running('home-focus-shelf', { allocationPercent: 50 });
    const first = await post('/ofrep/v1/evaluate/flags', { context: { targetingKey: 'user-7' } });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    const body = (await first.json()) as { flags: { key: string }[] };
    expect(body.flags.map((f) => f.key)).toEqual(expect.arrayContaining(['home-focus-shelf', 'home/shelf-2', 'search/top-tile', 'now-playing/up-next']));
    const again = await post('/ofrep/v1/evaluate/flags', { context: { targetingKey: 'user-7' } }, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(exposures()).toEqual([]); // bulk prefetch records no exposure
    await running('search-tile', {
      surfaceId: 'search',
      variants: [
        { key: 'control', isControl: true, weight: 50 },
        { key: 'chill', weight: 50, overrides: [{ slotId: 'top-tile', contentId: 'pl-chill' }] },
      ],
      allocationPercent: 50,
    });
    const changed = await post('/ofrep/v1/evaluate/flags', { context: { targetingKey: 'user-7' } }, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });
});

describe('layout endpoint', () => {
  it('applies overrides and exposes only experiments that decide a served slot', async () => {
    const shelf = await running('home-focus-shelf', { allocationPercent: 50 });
    const hero = await running('home-hero', {
      allocationPercent: 50,
      variants: [
        { key: 'control', isControl: true, weight: 50 },
        { key: 'wrapped', weight: 50, overrides: [{ slotId: 'hero', contentId: 'bn-wrapped' }] },
      ],
    });
    // A unit in both experiments (disjoint slots may share buckets).
    let unit = '';
    for (let i = 0; i < 5000 && !unit; i++) if (app.assignments.view('home', `u${i}`)!.assignments.length === 2) unit = `u${i}`;
    expect(unit).not.toBe('');
    const res = await appFetch(http)(`http://127.0.0.1/v1/surfaces/home/layout?unit=${unit}&slots=hero,shelf-1`);
    const body = (await res.json()) as { layout: { slotId: string; contentId: string }[]; exposed: string[] };
    expect(body.layout.map((l) => l.slotId)).toEqual(['hero', 'shelf-1']);
    expect(body.exposed).toEqual([hero.id]);
    expect(exposures().map((x) => x.e)).toEqual([hero.id]);
    const all = (await (await appFetch(http)(`http://127.0.0.1/v1/surfaces/home/layout?unit=${unit}`)).json()) as { exposed: string[] };
    expect(all.exposed.sort()).toEqual([hero.id, shelf.id].sort());
    const bad = await appFetch(http)(`http://127.0.0.1/v1/surfaces/home/layout?unit=${unit}&slots=nope`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_INPUT', hint: expect.stringContaining('hero') });
  });
});
