import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createContainer, type SqliteContainer } from '../../../src/container.js';
import type { ContentItem } from '../../../src/domain/schemas.js';
import { listenHttp } from '../../../src/server/http-listen.js';
import { contentEtag } from '../../../src/systems/contracts.js';
import { appFetch, demoConfig, permissivePolicy, testHttp } from '../../helpers/app.js';

/**
 * A gateway whose content delivery is another sealab serving `--role content` over real HTTP on
 * loopback; both on temp SQLite files. The gateway's content catalog follows what content delivery lists.
 */
let dir: string;
let cleanups: Array<() => unknown> = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-content-sync-'));
});
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
  rmSync(dir, { recursive: true, force: true });
});

interface ContentSystem {
  app: SqliteContainer;
  url: string;
  /** Stops listening: the gateway's next call is refused. */
  down(): Promise<void>;
}

async function contentSystem(): Promise<ContentSystem> {
  const app = await createContainer({ dbFile: path.join(dir, 'content', 'sealab.db'), seedDemo: true, policy: permissivePolicy() });
  const http = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, role: 'content' });
  let open = true;
  const down = async () => {
    if (open) await http.close();
    open = false;
  };
  cleanups.push(async () => {
    await down();
    app.close();
  });
  return { app, url: `http://127.0.0.1:${http.port}`, down };
}

async function gateway(contentUrl: string): Promise<SqliteContainer> {
  const app = await createContainer({
    dbFile: path.join(dir, 'gateway', 'sealab.db'),
    seedDemo: true,
    policy: permissivePolicy(),
    remote: { contentUrl, timeoutMs: 1000, contentSyncSeconds: 30 },
  });
  cleanups.push(() => app.close());
  return app;
}

/** The sample `name{labels}` of a registry's text exposition, or undefined. */
async function sample(app: SqliteContainer, series: string): Promise<number | undefined> {
  const text = await app.opsMetrics!.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const CONTENT_ROUTE = 'sealab_http_requests_total{route="/v1/content-delivery/content",method="GET",code="%s"}';
const answered = (app: SqliteContainer, code: number) => sample(app, CONTENT_ROUTE.replace('%s', String(code)));

const upstreamOnly: ContentItem = {
  id: 'sh-upstream-only',
  type: 'shelf',
  title: 'Only content delivery has it',
  platforms: ['ios', 'android', 'web', 'desktop'],
};

/** A draft on Home showing `contentId` in shelf-2 for the treatment. */
const configWith = (contentId: string, key = 'home-upstream-shelf') =>
  demoConfig({
    key,
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId }] },
    ],
  });

const codes = async (app: SqliteContainer, config: unknown) => (await app.experiments.validate({ config })).findings.map((f) => f.code);

const contentAudit = (app: SqliteContainer) =>
  (
    app.deps.db.prepare("SELECT actor, operation, after FROM audit_log WHERE entity_type = 'content_catalog' ORDER BY id").all() as {
      actor: string;
      operation: string;
      after: string;
    }[]
  ).map((r) => ({ ...r, after: JSON.parse(r.after) as Record<string, unknown> }));

describe('content catalog synced from a remote content delivery', () => {
  it('syncs on start, answers the next poll with 304 through If-None-Match, and picks up an upstream change', async () => {
    const content = await contentSystem();
    await content.app.deps.store.catalog.upsertContent(upstreamOnly);
    const gw = await gateway(content.url);
    expect(gw.deps.contentDelivery).toBe('remote');

    // Before the first sync: content only upstream is unknown here, and the gateway is not ready.
    expect(await codes(gw, configWith(upstreamOnly.id))).toContain('UNKNOWN_CONTENT');
    expect(gw.readiness()).toMatchObject({ ready: false, checks: { content: { ok: false, reason: expect.stringContaining('not synced') } } });

    expect(await gw.contentSync!.sync()).toBe('changed');
    expect((await gw.catalog.content()).map((c) => c.id)).toContain(upstreamOnly.id);
    expect(await codes(gw, configWith(upstreamOnly.id))).not.toContain('UNKNOWN_CONTENT');
    expect((await gw.experiments.validate({ config: configWith(upstreamOnly.id) })).valid).toBe(true);
    expect(gw.readiness().checks.content).toEqual({ ok: true, stale: false });
    expect(contentAudit(gw)).toEqual([
      {
        actor: 'system',
        operation: 'content.sync',
        after: expect.objectContaining({ source: content.url, added: [upstreamOnly.id], removed: [], changed: [] }),
      },
    ]);
    expect(await answered(content.app, 200)).toBe(1);

    // Nothing changed upstream: the gateway sends the ETag back and content delivery answers 304.
    expect(await gw.contentSync!.sync()).toBe('not_modified');
    expect(await answered(content.app, 304)).toBe(1);
    expect(await answered(content.app, 200)).toBe(1);
    expect(contentAudit(gw)).toHaveLength(1);

    // A title changed and an item was added upstream: a new ETag, the change audited by id.
    await content.app.deps.store.catalog.upsertContent({ ...upstreamOnly, title: 'Renamed upstream' });
    await content.app.deps.store.catalog.upsertContent({ ...upstreamOnly, id: 'sh-second-upstream' });
    expect(await gw.contentSync!.sync()).toBe('changed');
    expect((await gw.deps.store.catalog.contentItem(upstreamOnly.id))?.title).toBe('Renamed upstream');
    expect(contentAudit(gw)[1].after).toMatchObject({ added: ['sh-second-upstream'], changed: [upstreamOnly.id], removed: [] });
    expect(await answered(content.app, 200)).toBe(2);
    expect(await sample(gw, 'sealab_content_sync_total{outcome="changed"}')).toBe(2);
    expect(await sample(gw, 'sealab_content_sync_total{outcome="not_modified"}')).toBe(1);
  });

  it('removes items gone upstream, but keeps (flagged) those a draft uses, and validation refuses them with a clear finding', async () => {
    const content = await contentSystem();
    const gw = await gateway(content.url);
    expect(await gw.contentSync!.sync()).toBe('unchanged'); // same demo catalog on both sides
    const draft = await gw.experiments.create(
      { config: configWith('sh-focus', 'home-focus-kept') },
      { actor: 't', interface: 'rest', operation: 't', requestId: 'r' },
    );

    content.app.deps.db.prepare("DELETE FROM content_items WHERE id IN ('sh-focus', 'sh-local-scene')").run();
    expect(await gw.contentSync!.sync()).toBe('changed');
    expect(contentAudit(gw).at(-1)?.after).toMatchObject({ removed: ['sh-local-scene'], missingUpstream: ['sh-focus'] });
    expect(await gw.deps.store.catalog.contentItem('sh-local-scene')).toBeUndefined();
    expect(await gw.deps.store.catalog.contentItem('sh-focus')).toBeDefined(); // the draft's record still resolves
    expect(gw.contentSync!.status().missingUpstream).toEqual([{ id: 'sh-focus', since: expect.any(String) }]);
    expect(await sample(gw, 'sealab_content_missing_upstream_items')).toBe(1);

    const verdict = await gw.experiments.validate({ experimentId: draft.experiment.id });
    expect(verdict.valid).toBe(false);
    expect(verdict.findings).toContainEqual(
      expect.objectContaining({
        code: 'CONTENT_MISSING_UPSTREAM',
        severity: 'error',
        path: '$.variants[1].overrides[0].contentId',
        message: expect.stringContaining("'sh-focus' is no longer listed by content delivery"),
      }),
    );
    // The content resource's REST twin says what is kept and why.
    expect((await gw.catalog.contentView()).sync).toMatchObject({ source: content.url, missingUpstream: [{ id: 'sh-focus' }] });

    // Listed again upstream: the flag clears and the draft validates.
    await content.app.deps.store.catalog.upsertContent((await gw.deps.store.catalog.contentItem('sh-focus'))!);
    expect(await gw.contentSync!.sync()).toBe('changed');
    expect(contentAudit(gw).at(-1)?.after).toMatchObject({ restored: ['sh-focus'] });
    expect((await gw.experiments.validate({ experimentId: draft.experiment.id })).findings.map((f) => f.code)).not.toContain('CONTENT_MISSING_UPSTREAM');
  });

  it('keeps the last good catalog when content delivery is down or answers an invalid item, reports it stale, and a restart still has it', async () => {
    const content = await contentSystem();
    await content.app.deps.store.catalog.upsertContent(upstreamOnly);
    let gw = await gateway(content.url);
    expect(await gw.contentSync!.sync()).toBe('changed');
    const held = await gw.catalog.content();

    // An item content delivery lists that is not a ContentItem refuses the whole answer.
    content.app.deps.db.prepare("INSERT INTO content_items (id, type, doc) VALUES ('bad', 'hologram', ?)").run(JSON.stringify({ id: 'bad', type: 'hologram' }));
    expect(await gw.contentSync!.sync()).toBe('failed');
    expect(await gw.catalog.content()).toEqual(held);
    expect(gw.contentSync!.status()).toMatchObject({ stale: true, lastError: expect.stringMatching(/unexpected shape/) });
    content.app.deps.db.prepare("DELETE FROM content_items WHERE id = 'bad'").run();

    await content.down();
    expect(await gw.contentSync!.sync()).toBe('failed');
    expect(await gw.catalog.content()).toEqual(held);
    // Stale, still ready: validation works from the last good catalog, and says how old it is.
    expect(gw.readiness().checks.content).toMatchObject({
      ok: true,
      stale: true,
      reason: expect.stringMatching(/content catalog stale: .* could not be reached/),
    });
    expect(await sample(gw, 'sealab_content_sync_total{outcome="failed"}')).toBe(2);
    expect(await sample(gw, 'sealab_content_sync_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(await sample(gw, 'sealab_remote_call_errors_total{system="content_delivery",reason="network"}')).toBeGreaterThanOrEqual(1);

    // Restart with content delivery still down: the persisted catalog validates, readiness has a catalog.
    gw.close();
    gw = await gateway(content.url);
    expect(gw.readiness().checks.content).toMatchObject({ ok: true });
    expect(await gw.catalog.content()).toEqual(held);
    expect((await gw.experiments.validate({ config: configWith(upstreamOnly.id) })).valid).toBe(true);
    expect(await gw.contentSync!.sync()).toBe('failed');
    expect(gw.readiness().checks.content).toMatchObject({ ok: true, stale: true });
    expect(await gw.catalog.content()).toEqual(held);
  });

  it('tells subscribers of sealab://content when a sync changed the catalog, and shows the sync in the resource', async () => {
    const content = await contentSystem();
    const gw = await gateway(content.url);
    const http = testHttp(gw);
    cleanups.push(() => http.close());
    // The 1.32 client opens its GET stream after the handshake; notifications need it open.
    let streamOpen: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (streamOpen = resolve));
    const f = appFetch(http);
    const watcher = new V1Client({ name: 'watcher', version: '1.0.0' });
    await watcher.connect(
      new V1HttpTransport(new URL('http://127.0.0.1/mcp'), {
        fetch: (async (url: string | URL | Request, init?: RequestInit) => {
          const res = await f(url, init);
          if (init?.method === 'GET' && res.status === 200) streamOpen();
          return res;
        }) as typeof fetch,
      }),
    );
    cleanups.push(() => watcher.close());
    let updated: () => void = () => undefined;
    const contentUpdated = new Promise<void>((resolve) => (updated = resolve));
    const uris: string[] = [];
    watcher.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      uris.push(n.params.uri);
      if (n.params.uri === 'sealab://content') updated();
    });
    await watcher.subscribeResource({ uri: 'sealab://content' });
    await opened;

    expect(await gw.contentSync!.sync()).toBe('unchanged'); // nothing to tell
    await content.app.deps.store.catalog.upsertContent(upstreamOnly);
    expect(await gw.contentSync!.sync()).toBe('changed');
    await contentUpdated;
    expect(uris).toEqual(['sealab://content']);
    const read = await watcher.readResource({ uri: 'sealab://content' });
    const body = JSON.parse((read.contents[0] as { text: string }).text) as { content: ContentItem[]; sync: { source: string; stale: boolean } };
    expect(body.content.map((c) => c.id)).toContain(upstreamOnly.id);
    expect(body.sync).toMatchObject({ source: content.url, stale: false });
  });

  it('freshens before a deploy only when the last attempt is older than the interval', async () => {
    const content = await contentSystem();
    const gw = await gateway(content.url);
    await gw.contentSync!.freshen(); // never attempted: syncs
    await gw.contentSync!.freshen(); // just attempted: no call
    expect(await answered(content.app, 200)).toBe(1);
    expect(await answered(content.app, 304)).toBeUndefined();
  });

  it('stays embedded without SEALAB_CONTENT_URL: no sync, no content check, and the catalog is written here', async () => {
    const app = await createContainer({ dbFile: ':memory:', seedDemo: true });
    cleanups.push(() => app.close());
    expect(app.deps.contentDelivery).toBe('embedded');
    expect(app.contentSync).toBeUndefined();
    expect(app.readiness().checks).not.toHaveProperty('content');
    expect(await app.catalog.contentView()).not.toHaveProperty('sync');
  });
});

describe('GET /v1/content-delivery/content', () => {
  it('answers a strong ETag over the canonical list, and 304 for a matching If-None-Match (a list, W/, *)', async () => {
    const app = await createContainer({ dbFile: ':memory:', seedDemo: true });
    cleanups.push(() => app.close());
    const http = testHttp(app, { role: 'content' });
    cleanups.push(() => http.close());
    const get = (inm?: string) => appFetch(http)('http://127.0.0.1/v1/content-delivery/content', { headers: inm ? { 'if-none-match': inm } : {} });

    const first = await get();
    const etag = first.headers.get('etag')!;
    expect(first.status).toBe(200);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/); // strong: no W/ prefix
    const body = (await first.json()) as { content: ContentItem[] };
    expect(body.content.map((c) => c.id)).toEqual([...body.content.map((c) => c.id)].sort());
    // The same digest whatever the key order the items were stored with.
    expect(contentEtag(body.content.map((c) => ({ platforms: c.platforms, title: c.title, type: c.type, id: c.id })).reverse())).toBe(etag);

    for (const inm of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const res = await get(inm);
      expect(res.status, inm).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(await res.text()).toBe('');
    }
    expect((await get('"stale"')).status).toBe(200);

    await app.deps.store.catalog.upsertContent(upstreamOnly);
    const changed = await get(etag);
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });
});
