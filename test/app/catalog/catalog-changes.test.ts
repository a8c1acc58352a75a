import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../../src/container.js';
import type { CatalogChangeInput } from '../../../src/app/catalog/catalog-apply.js';
import { planText } from '../../../src/app/catalog/catalog-plan.js';
import type { ContentItem, Experiment, Metric, Surface } from '../../../src/domain/schemas.js';
import type { Catalog } from '../../../src/app/catalog/catalog-document.js';
import { AppError } from '../../../src/errors.js';
import type { WriteContext } from '../../../src/store/audit-repo.js';
import { commitShip, demoConfig, permissivePolicy, startRunning, tableCounts, testContainer } from '../../helpers/app.js';

const ADMIN: WriteContext = { actor: 'token:platform-admin', interface: 'rest', operation: 'POST /v1/catalog/apply', requestId: 'r1' };

let app: SqliteContainer;
let running: Experiment;
beforeEach(async () => {
  app = await testContainer({ policy: permissivePolicy() });
  running = await startRunning(
    app,
    demoConfig({
      successMetrics: ['stream-rate', 'minutes-played'],
      guardrails: [
        { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
        { metricId: 'skips-per-stream', margin: 0.05 },
      ],
    }),
  );
});
afterEach(() => app.close());

/** The catalog as each test starts (after the running experiment): what the inputs below are built from. */
let docs: Catalog;
beforeEach(async () => {
  docs = await app.catalogChanges.current();
});
const surface = (id: string): Surface => structuredClone(docs.surfaces.find((s) => s.id === id)!);
const metric = (id: string): Metric => structuredClone(docs.metrics.find((m) => m.id === id)!);
const contentItem = (id: string): ContentItem => structuredClone(docs.content.find((c) => c.id === id)!);
const merge = (catalog: CatalogChangeInput['catalog'], remove?: CatalogChangeInput['remove']): CatalogChangeInput => ({
  mode: 'merge',
  catalog,
  ...(remove ? { remove } : {}),
});

/** Everything a catalog apply could touch: row counts, the catalog documents and its version. */
const snapshot = async () => ({
  counts: tableCounts(app),
  surfaces: await app.deps.store.catalog.surfaces(),
  content: await app.deps.store.catalog.contentItems(),
  metrics: await app.deps.store.catalog.metrics(),
  version: await app.deps.store.catalog.version(),
});

async function refused(input: CatalogChangeInput): Promise<AppError> {
  const before = await snapshot();
  let caught: unknown;
  try {
    await app.catalogChanges.applyInput(input, ADMIN, false);
  } catch (err) {
    caught = err;
  }
  expect(await snapshot()).toEqual(before);
  expect(caught).toBeInstanceOf(AppError);
  const e = caught as AppError;
  expect(e.code).toBe('CATALOG_CHANGE_UNSAFE');
  expect(e.message).toContain(`home-focus-shelf (${running.id}, running)`);
  return e;
}

const withSlot = (s: Surface, slotId: string, patch: Partial<Surface['slots'][number]>) => ({
  ...s,
  slots: s.slots.map((x) => (x.id === slotId ? { ...x, ...patch } : x)),
});

describe('safe evolution: a change that would corrupt an experiment in use is refused, naming it, with the database unchanged', () => {
  it.each([
    ['a surface salt', () => merge({ surfaces: [{ ...surface('home'), salt: 'home-2027-a' }] }), 'surface home salt'],
    ['a surface bucketCount', () => merge({ surfaces: [{ ...surface('home'), bucketCount: 20000 }] }), 'surface home bucketCount'],
    ['a surface platform removed', () => merge({ surfaces: [{ ...surface('home'), platforms: ['ios', 'android', 'web'] }] }), 'surface home platforms'],
    [
      'a slot an override uses removed',
      () => merge({ surfaces: [{ ...surface('home'), slots: surface('home').slots.filter((s) => s.id !== 'shelf-2') }] }),
      'surface home slots.shelf-2',
    ],
    [
      'a slot retyped: accepts loses the type an override shows',
      () => merge({ surfaces: [withSlot(surface('home'), 'shelf-2', { accepts: ['mix', 'playlist'] })] }),
      'surface home slots.shelf-2.accepts',
    ],
    [
      "an overridden slot's default (what control shows)",
      () => merge({ surfaces: [withSlot(surface('home'), 'shelf-2', { defaultContentId: 'mx-daily-2' })] }),
      'surface home slots.shelf-2.defaultContentId',
    ],
    [
      'a holdback over buckets a running experiment owns',
      () => merge({ surfaces: [{ ...surface('home'), holdbacks: [{ id: 'hb', name: 'Holdback', buckets: [[0, 10000]] }] }] }),
      'surface home holdbacks',
    ],
    ['the surface removed', () => merge({}, { surfaces: ['home'] }), 'surface home removal'],
    ['content an override shows removed', () => merge({}, { content: ['sh-focus'] }), 'content sh-focus removal'],
    ['content an override shows retyped', () => merge({ content: [{ ...contentItem('sh-focus'), type: 'playlist' }] }), 'content sh-focus type'],
    ['a success metric removed', () => merge({}, { metrics: ['minutes-played'] }), 'metric minutes-played removal'],
    ['a metric kind', () => merge({ metrics: [{ ...metric('minutes-played'), kind: 'count' }] }), 'metric minutes-played kind'],
    ['a metric direction', () => merge({ metrics: [{ ...metric('crash-rate'), direction: 'increase' }] }), 'metric crash-rate direction'],
    [
      'a metric source',
      () => merge({ metrics: [{ ...metric('minutes-played'), source: { event: 'listen', aggregate: 'sum' } }] }),
      'metric minutes-played source',
    ],
    ['a metric cap', () => merge({ metrics: [{ ...metric('minutes-played'), capMax: 600 }] }), 'metric minutes-played capMax'],
    ["a ratio guardrail's numerator redefined", () => merge({ metrics: [{ ...metric('skips'), direction: 'increase' }] }), 'metric skips direction'],
    [
      'a ratio guardrail re-pointed',
      () => merge({ metrics: [{ ...metric('skips-per-stream'), numeratorId: 'saves' }] }),
      'metric skips-per-stream numeratorId',
    ],
  ])('%s', async (_name, input, line) => {
    const e = await refused(input());
    expect(e.message).toContain(`${line}`);
    expect(e.hint).toMatch(/new entity .*home-v2.* new metric id/);
    expect((e.details as { unsafe: { experiments: { id: string }[] }[] }).unsafe[0]!.experiments.map((x) => x.id)).toEqual([running.id]);
  });

  it('replace mode: a directory-like complete catalog missing a metric in use is refused whole', async () => {
    const current = await app.catalogChanges.current();
    const e = await refused({ mode: 'replace', catalog: { ...current, metrics: current.metrics.filter((m) => m.id !== 'stream-rate') } });
    expect(e.message).toMatch(
      /^1 catalog change would break experiments in use; nothing was applied:\nmetric stream-rate removal: metric 'stream-rate' is in use; used by home-focus-shelf/,
    );
  });

  it('a shipped variant stays in use after archiving (it is the default layout); an archived experiment no longer holds its metrics', async () => {
    const sys: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r' };
    const ship = { variant: 'focus', at: new Date().toISOString(), decision: { decision: 'ship' } };
    const stopped = await commitShip(app, running.id, ship, 'ship', sys);
    await app.experiments.archive({ experimentId: running.id, version: stopped.version, reason: 'done' }, sys);

    const e = await (async () => {
      try {
        await app.catalogChanges.applyInput(merge({}, { content: ['sh-focus'] }), ADMIN, false);
      } catch (err) {
        return err as AppError;
      }
      return null;
    })();
    expect(e?.message).toContain(`content sh-focus removal: content 'sh-focus' is in use; used by home-focus-shelf (${running.id}, archived)`);
    const r = await app.catalogChanges.applyInput(merge({ metrics: [{ ...metric('minutes-played'), capMax: 600 }] }), ADMIN, false);
    expect(r).toMatchObject({ applied: true, version: 2 });
  });
});

describe('additive changes apply at once, audited and versioned; the same change twice is a no-op', () => {
  it('adds a surface, a slot, content and a metric, widens accepts and platforms, edits names and baselines', async () => {
    const home = surface('home');
    const countsBefore = tableCounts(app);
    const change = merge({
      surfaces: [
        {
          ...withSlot(home, 'shelf-1', { accepts: ['shelf', 'mix', 'playlist'], name: 'First row' }),
          dailyTraffic: 50000,
          slots: [
            ...withSlot(home, 'shelf-1', { accepts: ['shelf', 'mix', 'playlist'], name: 'First row' }).slots,
            { id: 'shelf-6', name: 'Sixth', position: 6, accepts: ['shelf'], optional: true, defaultContentId: null },
          ],
        },
        { ...surface('search'), id: 'search-v2', salt: 'search-2027-a' },
      ],
      content: [{ id: 'sh-new-podcasts', type: 'shelf', title: 'New podcasts', platforms: ['ios', 'android', 'web', 'desktop'] }],
      metrics: [
        { ...metric('saves'), baselineMean: 0.9, description: 'Items saved to the library per unit, since first exposure.' },
        { ...metric('minutes-played'), id: 'minutes-played-v2', capMax: 600, source: { event: 'listen', aggregate: 'sum', windowHours: 168 } },
      ],
    });
    const dry = await app.catalogChanges.applyInput(change, ADMIN, true);
    expect(dry).toMatchObject({ applied: false, dryRun: true, version: 1, plan: { safe: true, counts: { added: 3, changed: 2, removed: 0, breaking: 0 } } });
    expect(tableCounts(app)).toEqual(countsBefore);

    const applied = await app.catalogChanges.applyInput(change, ADMIN, false);
    expect(applied).toMatchObject({ applied: true, version: 2 });
    expect((await app.deps.store.catalog.surface('home'))!.slots.find((s) => s.id === 'shelf-1')!.accepts).toEqual(['shelf', 'mix', 'playlist']);
    expect((await app.deps.store.catalog.metric('minutes-played-v2'))!.capMax).toBe(600);
    expect(await app.deps.store.catalog.version()).toMatchObject({ version: 2, actor: 'token:platform-admin', digest: applied.plan.digest });
    expect((await app.deps.store.audit.forEntity('surface', 'home'))[0]).toMatchObject({ actor: 'token:platform-admin', after: { dailyTraffic: 50000 } });
    expect((await app.deps.store.audit.forEntity('catalog', 'v2'))[0]!.after).toMatchObject({ version: 2, added: 3, changed: 2, removed: 0 });
    // The running experiment serves as before: its salt and buckets did not move.
    expect((await app.experiments.get(running.id)).status).toBe('running');

    const again = await app.catalogChanges.applyInput(change, ADMIN, false);
    expect(again).toMatchObject({ applied: false, version: 2, plan: { changes: [] } });
    expect((await app.deps.store.catalog.version())!.version).toBe(2);
  });

  it('removes entities nothing uses', async () => {
    const r = await app.catalogChanges.applyInput(merge({}, { content: ['pl-sleep'], metrics: ['saves'], surfaces: ['now-playing'] }), ADMIN, false);
    expect(r.plan.changes.map((c) => `${c.action} ${c.entity} ${c.id} ${c.safety}`)).toEqual([
      'remove surface now-playing additive',
      'remove content pl-sleep additive',
      'remove metric saves additive',
    ]);
    expect(await app.deps.store.catalog.contentItem('pl-sleep')).toBeUndefined();
    expect(await app.deps.store.catalog.surface('now-playing')).toBeUndefined();
  });

  it('a merge naming an id that does not exist in remove is NOT_FOUND, and an invalid document INVALID_CONFIG with paths', async () => {
    await expect(app.catalogChanges.planInput(merge({}, { metrics: ['nope'] }))).rejects.toThrow(/remove names ids the catalog does not have: metrics: nope/);
    try {
      await app.catalogChanges.planInput(merge({ metrics: [{ ...metric('saves'), kind: 'counts' }] }));
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'INVALID_CONFIG' });
      expect((err as AppError).message).toContain('error: (input) catalog.metrics[0].kind: Invalid option: expected one of');
      expect((err as AppError).message).toContain("fix: Did you mean 'count'?");
    }
  });
});

describe('plan output', () => {
  it('reads as one line per entity and one per field, the breaking ones naming the experiments', async () => {
    const home = surface('home');
    const plan = await app.catalogChanges.planInput(
      merge(
        {
          surfaces: [{ ...withSlot(home, 'shelf-1', { accepts: ['shelf', 'mix', 'playlist'] }), salt: 'home-2027-a' }],
          content: [{ id: 'pl-new-music', type: 'playlist', title: 'New Music Friday', platforms: ['ios', 'android'] }],
          metrics: [{ ...metric('saves'), baselineMean: 0.9 }],
        },
        { content: ['al-live'] },
      ),
    );
    expect(planText(plan).split('\n')).toEqual([
      'catalog plan against version 1: 1 to add, 2 to change, 1 to remove, 43 unchanged; 1 breaking (apply refuses them)',
      '~ surface home',
      `    salt: home-2026-a → home-2027-a  BREAKING: moves every unit of surface 'home' to another bucket; used by home-focus-shelf (${running.id}, running)`,
      '    slots.shelf-1.accepts: [shelf, mix] → [shelf, mix, playlist]',
      '- content al-live',
      '+ content pl-new-music',
      '~ metric saves',
      '    baselineMean: 0.8 → 0.9',
    ]);
  });
});
