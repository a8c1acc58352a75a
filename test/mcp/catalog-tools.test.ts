import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { Metric } from '../../src/domain/schemas.js';
import { startStdio } from '../../src/server/stdio.js';
import { createToken } from '../../src/store/tokens-file.js';
import {
  ALL_TOOLSETS,
  demoConfig,
  memoryClient,
  modernHttpClient,
  permissivePolicy,
  startRunning,
  tableCounts,
  testContainer,
  testHttp,
  textOf,
  type ToolCallResult,
} from '../helpers/app.js';

let app: SqliteContainer;
let cleanups: Array<() => Promise<unknown> | unknown> = [];
beforeEach(async () => {
  app = await testContainer({ policy: permissivePolicy() });
});
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
  app.close();
});

const episodes = (): Metric => ({
  id: 'episodes-started',
  name: 'Episodes started',
  description: 'Episodes a listener starts in the 7 days after first exposure.',
  kind: 'count',
  direction: 'increase',
  isGuardrail: false,
  baselineMean: 3.2,
  baselineVariance: 9,
  source: { event: 'episode_start', aggregate: 'count', windowHours: 168 },
});

const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as ToolCallResult;

describe('plan_catalog_change and apply_catalog_change (admin toolset)', () => {
  it('plans, dry-runs by default (nothing written), then applies and bumps the catalog version', async () => {
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const change = { mode: 'merge', catalog: { metrics: [episodes()] } };
    const before = tableCounts(app);

    const plan = await call(client, 'plan_catalog_change', change);
    const dry = await call(client, 'apply_catalog_change', change);
    expect(tableCounts(app)).toEqual(before);
    const applied = await call(client, 'apply_catalog_change', { ...change, dryRun: false });
    const again = await call(client, 'apply_catalog_change', { ...change, dryRun: false });

    expect(plan.structuredContent).toMatchObject({ safe: true, counts: { added: 1, changed: 0, removed: 0, breaking: 0 }, currentVersion: 1 });
    expect(textOf(plan)).toContain('+ metric episodes-started');
    expect(dry.structuredContent).toMatchObject({ applied: false, dryRun: true, version: 1 });
    expect(textOf(dry)).toContain('Dry run: nothing written; call again with dryRun false to apply.');
    expect(applied.structuredContent).toMatchObject({ applied: true, dryRun: false, version: 2 });
    expect(again.structuredContent).toMatchObject({ applied: false, version: 2 });
    expect(await app.deps.store.catalog.metric('episodes-started')).toEqual(episodes());
    expect((await app.deps.store.audit.forEntity('metric', 'episodes-started'))[0]).toMatchObject({
      actor: 'agent:test-agent',
      interface: 'mcp-stdio',
      operation: 'apply_catalog_change',
    });
  });

  it('refuses an unsafe change as an isError result naming the experiment, and an invalid document with its path', async () => {
    const running = await startRunning(app, demoConfig());
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const home = (await app.deps.store.catalog.surface('home'))!;
    const before = tableCounts(app);

    const unsafe = await call(client, 'apply_catalog_change', { mode: 'merge', catalog: { surfaces: [{ ...home, bucketCount: 1000 }] }, dryRun: false });
    const invalid = await call(client, 'plan_catalog_change', { mode: 'merge', catalog: { metrics: [{ ...episodes(), kindd: 'count' }] } });

    expect(unsafe.isError).toBe(true);
    expect(textOf(unsafe)).toContain(
      `surface home bucketCount: moves every unit of surface 'home' to another bucket; used by home-focus-shelf (${running.id}, running)`,
    );
    expect(textOf(unsafe)).toMatch(/^CATALOG_CHANGE_UNSAFE: /);
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toContain("error: (input) catalog.metrics[0].kindd: unknown key 'kindd'\n  fix: Did you mean 'kind'?");
    expect(tableCounts(app)).toEqual(before);
  });

  it('notifies resource subscribers after an apply: resources/updated for the catalog resources and list_changed', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const stdio = startStdio(app, { tools: ALL_TOOLSETS, transport: serverSide });
    cleanups.push(() => stdio.close());
    const client = new Client({ name: 'watcher', version: '1.0.0' });
    await client.connect(clientSide);
    cleanups.push(() => client.close());
    const seen: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void seen.push(n.params.uri));
    client.setNotificationHandler('notifications/resources/list_changed', () => void seen.push('list_changed'));
    await client.subscribeResource({ uri: 'sealab://metrics' });
    expect(seen).toEqual([]);

    const r = await call(client, 'apply_catalog_change', { mode: 'merge', catalog: { metrics: [episodes()] }, dryRun: false });

    expect(r.isError, textOf(r)).toBeFalsy();
    await vi.waitFor(() => expect(seen).toEqual(expect.arrayContaining(['sealab://metrics', 'list_changed'])), { timeout: 10_000 });
    const metrics = await client.readResource({ uri: 'sealab://metrics' });
    expect((metrics.contents[0] as { text: string }).text).toContain('episodes-started');
  });
});

describe('admin scope (MCP and REST)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sealab-catalog-scopes-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a deploy token may plan but not apply (MCP and REST); an admin token applies, audited as token:<name>', async () => {
    const file = path.join(dir, 'tokens.json');
    const deployer = createToken(file, { name: 'release', scopes: ['deploy'] }).secret;
    const admin = createToken(file, { name: 'platform', scopes: ['admin'] }).secret;
    const http = testHttp(app, { tokensFile: file });
    cleanups.push(() => http.close());
    const rest = async (p: string, secret: string, body: unknown) => {
      const res = await http.app.request(p, {
        method: 'POST',
        headers: { host: '127.0.0.1', authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    const change = { mode: 'merge', catalog: { metrics: [episodes()] } };
    const mcp = await modernHttpClient(http, { authorization: `Bearer ${deployer}` });
    cleanups.push(() => mcp.close());
    const before = tableCounts(app);

    const planned = await call(mcp, 'plan_catalog_change', change);
    await expect(mcp.callTool({ name: 'apply_catalog_change', arguments: change })).rejects.toThrow(/Insufficient scope: required "admin"/);
    const restPlan = await rest('/v1/catalog/plan', deployer, change);
    const restRefused = await rest('/v1/catalog/apply', deployer, { ...change, dryRun: false });
    expect(tableCounts(app)).toEqual(before);
    const restDry = await rest('/v1/catalog/apply', admin, change);
    const restApplied = await rest('/v1/catalog/apply', admin, { ...change, dryRun: false });

    expect(planned.isError, textOf(planned)).toBeFalsy();
    expect(restPlan).toMatchObject({ status: 200, json: { counts: { added: 1 } } });
    expect(restRefused).toMatchObject({ status: 403, json: { code: 'INSUFFICIENT_SCOPE', details: { needed: 'admin' } } });
    expect(restDry).toMatchObject({ status: 200, json: { dryRun: true, applied: false } });
    expect(restApplied).toMatchObject({ status: 200, json: { applied: true, version: 2 } });
    expect(await app.deps.store.catalog.version()).toMatchObject({ version: 2, actor: 'rest:token:platform' });
  });

  it('REST refuses an unsafe change with 409 and details.unsafe naming the experiments', async () => {
    const running = await startRunning(app, demoConfig());
    const http = testHttp(app);
    cleanups.push(() => http.close());
    const before = tableCounts(app);
    const res = await http.app.request('/v1/catalog/apply', {
      method: 'POST',
      headers: { host: '127.0.0.1', 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'merge', catalog: {}, remove: { content: ['sh-focus'] }, dryRun: false }),
    });
    const json = (await res.json()) as any;
    expect(res.status).toBe(409);
    expect(json).toMatchObject({
      code: 'CATALOG_CHANGE_UNSAFE',
      details: { unsafe: [{ entity: 'content', id: 'sh-focus', path: null, experiments: [{ id: running.id, key: 'home-focus-shelf', status: 'running' }] }] },
    });
    expect(tableCounts(app)).toEqual(before);
  });
});
