import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AssignmentIndex } from '../../../src/app/serving/assignment-index.js';
import { mirrorOf, ServingSync } from '../../../src/app/serving/serving-sync.js';
import { createLogger } from '../../../src/logger.js';
import { openDb } from '../../../src/store/db.js';
import { DEMO_SURFACES } from '../../helpers/demo-catalog.js';
import { EmbeddedContent } from '../../../src/systems/embedded.js';
import type { BackendState, ExperimentBackend } from '../../../src/systems/contracts.js';
import { demoConfig, permissivePolicy, startRunning, testContainer } from '../../helpers/app.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A remote backend that answers with a fixed allocation list, or is unreachable. */
class FlakyBackend implements ExperimentBackend {
  readonly kind = 'remote' as const;
  reachable = true;
  constructor(public states: BackendState[]) {}
  async put(): Promise<never> {
    throw new Error('not used');
  }
  async get(id: string) {
    return this.states.find((s) => s.experimentId === id) ?? null;
  }
  async list() {
    if (!this.reachable) throw new Error('the experimentation backend could not be reached');
    return this.states;
  }
}

describe('serving reads the systems, not the gateway records', async () => {
  const app = await testContainer({ policy: permissivePolicy() });
  const running = await startRunning(
    app,
    demoConfig({
      key: 'serving-sync-a',
      variants: [
        { key: 'control', isControl: true, weight: 50, overrides: [] },
        { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
      ],
    }),
  );
  const home = DEMO_SURFACES.find((s) => s.id === 'home')!;
  const backendState = mirrorOf([running]).backend;

  it('assigns from a remote backend and renders overrides only where content delivery serves them', async () => {
    const db = openDb(':memory:');
    const content = new EmbeddedContent(db, { now: () => new Date() });
    const remote = new FlakyBackend(backendState);
    const index = new AssignmentIndex();
    const sync = new ServingSync({ backend: { remote }, content: { embedded: content } }, index, createLogger('silent'), { surfaces: () => [home] });
    expect(await sync.refresh()).toBe(true);
    const unit = Array.from({ length: 500 }, (_, i) => `u${i}`).find((u) => index.view('home', u)!.assignments.some((a) => a.variant === 'treatment'))!;
    // Assigned by the backend, but content delivery does not render the experiment yet: the default shows.
    expect(index.view('home', unit)!.layout.find((l) => l.slotId === 'shelf-2')).toMatchObject({ contentId: 'mx-daily-1', experimentId: null });
    content.putSync(running.id, { opId: 'op1', step: 'content.apply', surfaceId: 'home', serving: true, variants: running.variants });
    sync.recompile();
    expect(index.view('home', unit)!.layout.find((l) => l.slotId === 'shelf-2')).toMatchObject({
      contentId: 'sh-focus',
      experimentId: running.id,
      variant: 'treatment',
    });
  });

  it('keeps serving the last good configuration while the remote system is unreachable, and reports it', async () => {
    const db = openDb(':memory:');
    const content = new EmbeddedContent(db, { now: () => new Date() });
    content.putSync(running.id, { opId: 'op1', step: 'content.apply', surfaceId: 'home', serving: true, variants: running.variants });
    const remote = new FlakyBackend(backendState);
    const index = new AssignmentIndex();
    const sync = new ServingSync({ backend: { remote }, content: { embedded: content } }, index, createLogger('silent'), { surfaces: () => [home] });
    // Before the backend has ever answered, the surface renders its defaults: no variant it may not run.
    remote.reachable = false;
    sync.recompile();
    expect(await sync.refresh()).toBe(false);
    expect(index.view('home', 'u1')).toMatchObject({
      assignments: [],
      layout: expect.arrayContaining([{ slotId: 'shelf-2', contentId: 'mx-daily-1', experimentId: null, variant: null }]),
    });
    remote.reachable = true;
    await sync.refresh();
    const before = Array.from({ length: 200 }, (_, i) => index.view('home', `u${i}`)!);
    remote.reachable = false;
    remote.states = [];
    expect(await sync.refresh()).toBe(false);
    expect(sync.status.error).toMatch(/could not be reached/);
    expect(Array.from({ length: 200 }, (_, i) => index.view('home', `u${i}`)!)).toEqual(before);
    expect(before.some((v) => v.assignments.length)).toBe(true);
    remote.reachable = true; // back, and the experiment is gone there: serving follows
    expect(await sync.refresh()).toBe(true);
    expect(index.view('home', 'u1')!.assignments).toEqual([]);
  });

  it('a database from before the sagas is adopted: its running experiments keep serving after an upgrade', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-adopt-'));
    dirs.push(dir);
    const file = path.join(dir, 'sealab.db');
    const first = await testContainer({ dbFile: file, policy: permissivePolicy() });
    const e = await startRunning(
      first,
      demoConfig({
        key: 'adopted',
        variants: [
          { key: 'control', isControl: true, weight: 50, overrides: [] },
          { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
        ],
      }),
    );
    const served = (c: typeof first) => Array.from({ length: 100 }, (_, i) => c.assignments.view('home', `u${i}`)!.layout);
    const expected = served(first);
    first.close();
    const raw = new Database(file);
    raw.exec('DELETE FROM backend_allocations; DELETE FROM content_overrides; DELETE FROM system_applied;'); // as an older sealab left it
    raw.close();
    const upgraded = await testContainer({ dbFile: file, policy: permissivePolicy() });
    expect(upgraded.localSystems.backend.getSync(e.id)).toMatchObject({ status: 'running', buckets: e.buckets });
    expect(served(upgraded)).toEqual(expected);
    expect(expected.some((l) => l.some((s) => s.experimentId === e.id))).toBe(true);
    upgraded.close();
  });
});
