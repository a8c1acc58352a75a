import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { SqliteContainer } from '../../../src/container.js';
import type { ChangeEvent } from '../../../src/app/context.js';
import { RAMP_LEASE } from '../../../src/app/ramp/ramp-scheduler.js';
import { configRepos } from '../../../src/store/sql/config-repos.js';
import { appFetch, demoConfig, permissivePolicy, startRunning, testContainer, testHttp } from '../../helpers/app.js';

/** Two containers on one SQLite file: what a stdio server beside `serve` on one data directory is. */
const open: SqliteContainer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function pair(): Promise<[SqliteContainer, SqliteContainer, string]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sealab-watch-'));
  dirs.push(dir);
  const dbFile = path.join(dir, 'sealab.db');
  const a = await testContainer({ dbFile, policy: permissivePolicy() });
  const b = await testContainer({ dbFile, policy: permissivePolicy() });
  open.push(a, b);
  return [a, b, dbFile];
}

const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r1' };
const inExperiment = (c: SqliteContainer, unit: string) => c.events.assign('home', unit).assignments.length;

describe('one truth across processes on one data directory', () => {
  it("serving recompiles on another connection's write and announces the experiment", async () => {
    const [a, b] = await pair();
    const exp = await startRunning(b, demoConfig({ key: 'watch-pause' }));
    const heard: ChangeEvent[] = [];
    a.onChange((e) => heard.push(e));
    // Before a looks, it still serves what it compiled at start (nothing running).
    const units = Array.from({ length: 40 }, (_, i) => `u${i}`);
    expect(units.some((u) => inExperiment(a, u) > 0)).toBe(false);
    expect(a.watcher.check()).toBe(true);
    expect(units.some((u) => inExperiment(a, u) > 0)).toBe(true);
    expect(heard).toContainEqual({ kind: 'experiment', id: exp.id, surfaceId: 'home' });
    expect(a.watcher.check()).toBe(false);

    await b.deployments.pause({ experimentId: exp.id, version: (await b.experiments.get(exp.id)).version, reason: 'kill switch' }, ctx);
    a.watcher.check();
    expect(units.every((u) => inExperiment(a, u) === 0)).toBe(true);
  });

  it("another connection's data writes (the fold, ingest) recompile nothing; its configuration writes do", async () => {
    const [a, b] = await pair();
    const exp = await startRunning(b, demoConfig({ key: 'watch-data' }));
    expect(a.watcher.check()).toBe(true);
    const compiled = a.watcher.changes;
    const ts = new Date().toISOString();
    await b.events.ingest({ events: [{ id: 'x1', type: 'exposure', experimentId: exp.id, unitId: 'u1', variant: 'control', ts }] });
    b.fold.catchUp(); // commits exposures and state to the database: data_version moves, the configuration does not
    expect(b.deps.db.prepare('SELECT COUNT(*) AS n FROM exposures').get()).toEqual({ n: 1 });
    expect(a.watcher.check()).toBe(false);
    expect(a.watcher.changes).toBe(compiled);
    expect(a.watcher.freshness()).toEqual({ current: true });
    await b.deps.store.experiments.update(exp.id, (await b.experiments.get(exp.id)).version, { status: 'paused' }, ts);
    expect(a.watcher.check()).toBe(true);
    expect(a.watcher.changes).toBe(compiled + 1);
  });

  it("another process's content sync that changed the content catalog is announced; an unchanged one is not", async () => {
    const [a, b] = await pair();
    const heard: ChangeEvent[] = [];
    a.onChange((e) => heard.push(e));
    const state = { sourceUrl: 'http://127.0.0.1:1', etag: '"v1"', syncedAt: '2026-12-07T00:00:00.000Z' };
    const items = [
      ...(await b.deps.store.catalog.contentItems()),
      { id: 'pd-new-show', type: 'podcast' as const, title: 'A new show', platforms: ['ios' as const] },
    ];
    await b.deps.sql.tx(async (tx) => {
      const r = configRepos(tx);
      await r.contentSync.replaceWith(items, new Set(), state.syncedAt);
      await r.contentSync.saveState(state);
    });
    expect(a.watcher.check()).toBe(true);
    expect(heard).toEqual([{ kind: 'content' }]);
    // A later sync that found nothing new (a 304) only moves synced_at: nothing to announce.
    await b.deps.store.contentSync.saveState({ ...state, syncedAt: '2026-12-07T00:00:30.000Z' });
    expect(a.watcher.check()).toBe(true);
    expect(heard).toEqual([{ kind: 'content' }]);
  });

  it('the ramp scheduler ticks in one process at a time (a lease)', async () => {
    const [a, b] = await pair();
    await startRunning(a, demoConfig({ key: 'lease-ramp' }));
    expect((await a.ramps.tick()).length).toBe(1);
    expect(await b.ramps.tick()).toEqual([]);
    expect(a.deps.db.prepare('SELECT owner FROM leases WHERE name = ?').get(RAMP_LEASE)).toEqual({ owner: a.ramps.owner });
    // The holder renews; once it lets go the other takes over.
    expect((await a.ramps.tick()).length).toBe(1);
    a.deps.db.prepare('DELETE FROM leases').run();
    expect((await b.ramps.tick()).length).toBe(1);
    expect(await a.ramps.tick()).toEqual([]);
  });

  it('/readyz: 200 normally; 503 with the reason when the database is locked or serving is stale', async () => {
    const [a, b, dbFile] = await pair();
    const get = async () => {
      const res = await appFetch(testHttp(a))('http://127.0.0.1/readyz');
      return { status: res.status, body: (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean; reason?: string }> } };
    };
    a.watcher.start(50);
    expect(await get()).toEqual({
      status: 200,
      body: {
        ready: true,
        // The serving check says which revision it holds (both processes' writes so far) and the last propagation time.
        checks: {
          serving: { ok: true, revision: expect.any(Number), propagationSeconds: a.serving.snapshot.propagationSeconds },
          database: { ok: true },
          systems: { ok: true },
        },
      },
    });

    const other = new Database(dbFile);
    other.exec('BEGIN IMMEDIATE');
    try {
      const locked = await get();
      expect(locked.status).toBe(503);
      expect(locked.body.checks.database).toEqual({ ok: false, reason: expect.stringMatching(/^database not writable: database is locked/) });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }

    a.watcher.stop();
    await startRunning(b, demoConfig({ key: 'stale' }));
    const stale = await get();
    expect(stale.status).toBe(503);
    expect(stale.body.checks.serving.reason).toMatch(/change watcher is not running/);
    a.watcher.check();
    expect((await get()).status).toBe(200);
  });
});
