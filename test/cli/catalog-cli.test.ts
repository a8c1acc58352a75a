import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContainer, dbFileIn } from '../../src/container.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { permissivePolicy, startRunning, tableCounts } from '../helpers/app.js';
import { ROOT, runSealab, type CliRun } from '../helpers/cli.js';

const PODCAST = path.join(ROOT, 'catalog/examples/podcast');
const SYS: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };

let dir: string;
let dataDir: string;
let policyFile: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-catalog-cli-'));
  dataDir = path.join(dir, 'data');
  policyFile = path.join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(permissivePolicy()));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `sealab …` as a spawned process (the real entry), on the test's data directory. */
function sealab(...args: string[]): Promise<CliRun> {
  return runSealab([...args, '--data-dir', dataDir, '--policy', policyFile]);
}

const open = async () => await createContainer({ dbFile: dbFileIn(dataDir), seedDemo: false, policyFile });

/** A copy of the podcast catalog with one file's text changed. */
function podcastWith(file: string, edit: (text: string) => string): string {
  const copy = path.join(dir, 'podcast-edited');
  cpSync(PODCAST, copy, { recursive: true });
  writeFileSync(path.join(copy, file), edit(readFileSync(path.join(copy, file), 'utf8')));
  return copy;
}

describe('sealab catalog validate|plan|apply (spawned CLI)', () => {
  it('validates, plans and applies the podcast catalog; applying it again is a no-op', async () => {
    const validate = await sealab('catalog', 'validate', PODCAST);
    const plan = await sealab('catalog', 'plan', PODCAST);
    const apply = await sealab('catalog', 'apply', PODCAST);
    const again = await sealab('catalog', 'apply', PODCAST, '--json');

    expect(validate).toMatchObject({ code: 0, stdout: `${PODCAST}: 1 surfaces, 10 content items, 7 metrics; 0 errors, 0 warnings\n` });
    expect(plan.code).toBe(0);
    const lines = plan.stdout.trim().split('\n');
    expect(lines[0]).toBe('catalog plan against version 0: 18 to add, 0 to change, 0 to remove, 0 unchanged');
    expect(lines).toContain('+ surface library');
    expect(lines).toContain('+ metric listen-minutes');
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout.trim().split('\n').at(-1)).toBe('applied: catalog version 1');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: false, version: 1, plan: { changes: [], counts: { unchanged: 18 } } });

    const app = await open();
    try {
      expect((await app.catalog.surfaces()).map((s) => s.id)).toEqual(['library']);
      expect(await app.deps.store.catalog.metric('listen-minutes')).toMatchObject({
        capMax: 600,
        source: { event: 'listen', aggregate: 'sum', windowHours: 168 },
      });
      expect(await app.deps.store.catalog.version()).toMatchObject({ version: 1, actor: expect.stringMatching(/^local:/) });
      expect((await app.deps.store.audit.forEntity('surface', 'library'))[0]).toMatchObject({ interface: 'cli', operation: 'catalog apply', before: null });
    } finally {
      app.close();
    }
  });

  it('malformed files: exit 1 with file, path, line and fix', async () => {
    const bad = podcastWith('surfaces/library.yaml', (t) =>
      t.replace('accepts: [shelf, podcast], defaultContentId: sh-new-episodes', 'accepts: [shelf, podcats], defaultContentId: sh-new-episodes'),
    );
    const r = await sealab('catalog', 'validate', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'error: surfaces/library.yaml:13 surfaces[0].slots[1].accepts[1]: Invalid option: expected one of "shelf"|"playlist"|"podcast"|"banner"|"album"|"mix"\n  fix: Did you mean \'podcast\'? Use one of: shelf, playlist, podcast, banner, album, mix.\n',
    );
    const plan = await sealab('catalog', 'plan', bad);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/^sealab: INVALID_CONFIG: the catalog has 1 error:\nerror: surfaces\/library.yaml:13 /);
  });

  it('refuses an unsafe apply, naming the experiment, exit 1, and leaves the database unchanged', async () => {
    expect((await sealab('catalog', 'apply', PODCAST)).code).toBe(0);
    const app = await open();
    const exp = await startRunning(
      app,
      {
        key: 'library-new-episodes-first',
        name: 'New episodes first',
        hypothesis: 'New episodes in the first row raise episodes started',
        owner: 'podcast-team',
        surfaceId: 'library',
        variants: [
          { key: 'control', isControl: true, weight: 50, overrides: [] },
          { key: 'treatment', weight: 50, overrides: [{ slotId: 'recommended', contentId: 'pd-history-hour' }] },
        ],
        allocationPercent: 10,
        successMetrics: ['episodes-started'],
        guardrails: [{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' }],
      },
      SYS,
    );
    const before = tableCounts(app);
    const docs = await app.catalogChanges.current();
    app.close();

    const resalted = podcastWith('surfaces/library.yaml', (t) => t.replace('salt: library-2026-a', 'salt: library-2027-a'));
    const r = await sealab('catalog', 'apply', resalted);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `sealab: CATALOG_CHANGE_UNSAFE: 1 catalog change would break experiments in use; nothing was applied:\nsurface library salt: moves every unit of surface 'library' to another bucket; used by library-new-episodes-first (${exp.id}, running)\nNext: `,
    );
    const after = await open();
    try {
      expect(tableCounts(after)).toEqual(before);
      expect(await after.catalogChanges.current()).toEqual(docs);
    } finally {
      after.close();
    }
  });

  it('usage errors exit 2', async () => {
    expect(await sealab('catalog', 'frobnicate', PODCAST)).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: sealab catalog validate DIR') });
  });
});

describe('catalogs at start', () => {
  it('the demo catalog is applied to an empty database only, and not with --no-seed or --catalog', async () => {
    const empty = await createContainer({ dbFile: dbFileIn(dataDir), policyFile });
    expect((await empty.catalog.surfaces()).map((s) => s.id)).toEqual(['home', 'now-playing', 'search']);
    expect(await empty.deps.store.catalog.version()).toMatchObject({ version: 1, actor: 'system' });
    await empty.deps.store.catalog.remove('content_items', 'pl-sleep');
    empty.close();
    // Not empty any more: nothing is re-applied (the removed item stays removed).
    const again = await createContainer({ dbFile: dbFileIn(dataDir), policyFile });
    expect(await again.deps.store.catalog.contentItem('pl-sleep')).toBeUndefined();
    expect((await again.deps.store.catalog.version())!.version).toBe(1);
    again.close();

    const noSeed = await createContainer({ dbFile: ':memory:', seedDemo: false, policyFile });
    expect(await noSeed.catalog.surfaces()).toEqual([]);
    noSeed.close();
    const podcast = await createContainer({ dbFile: ':memory:', catalogDir: PODCAST, policyFile });
    expect((await podcast.catalog.surfaces()).map((s) => s.id)).toEqual(['library']);
    podcast.close();
  });

  it('sealab --catalog DIR serves that catalog over stdio', async () => {
    const client = new Client({ name: 'catalog-start', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', 'src/main.ts', '--catalog', PODCAST, '--data-dir', dataDir, '--policy', policyFile],
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', SEALAB_LOG_LEVEL: 'warn' },
        stderr: 'pipe',
      }),
    );
    try {
      const read = await client.readResource({ uri: 'sealab://surfaces' });
      const text = (read.contents[0] as { text: string }).text;
      expect((JSON.parse(text) as { surfaces: { id: string }[] }).surfaces.map((s) => s.id)).toEqual(['library']);
    } finally {
      await client.close();
    }
  });

  it('--catalog with an unsafe change refuses to start (exit 1), nothing written', async () => {
    expect((await sealab('catalog', 'apply', PODCAST)).code).toBe(0);
    const app = await open();
    await startRunning(
      app,
      {
        key: 'library-promo',
        name: 'Promo',
        hypothesis: 'A promo raises episodes started',
        owner: 'podcast-team',
        surfaceId: 'library',
        variants: [
          { key: 'control', isControl: true, weight: 50, overrides: [] },
          { key: 'promo', weight: 50, overrides: [{ slotId: 'promo', contentId: 'pd-morning-brief' }] },
        ],
        allocationPercent: 10,
        successMetrics: ['episodes-started'],
        guardrails: [{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' }],
      },
      SYS,
    );
    const before = tableCounts(app);
    app.close();
    const noPodcasts = podcastWith('surfaces/library.yaml', (t) =>
      t.replace('accepts: [banner, podcast], optional: true', 'accepts: [banner], optional: true'),
    );

    const r = await sealab('serve', '--port', '0', '--catalog', noPodcasts);

    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /sealab: CATALOG_CHANGE_UNSAFE: .*\nsurface library slots\.promo\.accepts: slot 'promo' would no longer accept podcast, which experiments put there; used by library-promo/,
    );
    const after = await open();
    expect(tableCounts(after)).toEqual(before);
    after.close();
  });
});
