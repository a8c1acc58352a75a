import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogChangeInput } from '../../src/app/catalog/catalog-apply.js';
import { ContentSync } from '../../src/app/catalog/content-sync.js';
import type { ContentItem, Metric } from '../../src/domain/schemas.js';
import { toAppError } from '../../src/errors.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { openDb } from '../../src/store/db.js';
import { configRepos } from '../../src/store/sql/config-repos.js';
import type { Sql } from '../../src/store/sql/sql.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { EmbeddedContent } from '../../src/systems/embedded.js';
import { demoConfig, permissivePolicy } from '../helpers/app.js';
import { configReplica, type ConfigReplica } from '../helpers/config-deps.js';
import { seedCatalog } from '../helpers/config-store.js';
import { DEMO_CONTENT, DEMO_METRICS } from '../helpers/demo-catalog.js';
import { type EngineDb, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * Catalog apply and content sync through the async store alone, on SQLite and on a real PostgreSQL (issue 17, ADR 0020
 * conversion part 2): one transaction each, SERIALIZABLE on PostgreSQL, the revision bumped, nothing written when refused.
 */
const ADMIN: WriteContext = { actor: 'token:platform-admin', interface: 'rest', operation: 'POST /v1/catalog/apply', requestId: 'r1' };
const START = new Date('2026-12-07T09:00:00Z');
const merge = (catalog: CatalogChangeInput['catalog'], remove?: CatalogChangeInput['remove']): CatalogChangeInput => ({
  mode: 'merge',
  catalog,
  ...(remove ? { remove } : {}),
});
const newMetric = (id: string): Metric => ({ ...DEMO_METRICS.find((m) => m.id === 'saves')!, id, name: `Metric ${id}` });

/** What a refused write must leave as it was. */
async function counts(sql: Sql): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['catalog_versions', 'audit_log', 'metrics', 'surfaces', 'content_items'])
    out[t] = (await sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n;
  return out;
}
const revision = async (engine: string, sql: Sql) =>
  engine === 'postgres' ? (await sql.get<{ revision: number }>('SELECT revision FROM config_revision'))!.revision : null;

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'catalog apply and content sync'), () => {
    let db: EngineDb;
    let replicas: ConfigReplica[];
    const open = async (n = 2, contentDelivery: 'embedded' | 'remote' = 'embedded') => {
      const clock = new SimulatedClock(START);
      const opened = (await db.clients(n)).map((sql, i) =>
        configReplica(sql, { policy: permissivePolicy(), clock, name: `r${replicas.length + i}`, contentDelivery }),
      );
      replicas.push(...opened);
      return opened;
    };

    beforeEach(async () => {
      db = await engine.open();
      await seedCatalog(configRepos(db.sql));
      replicas = [];
    });
    afterEach(async () => {
      for (const r of replicas) r.close();
      await db?.close();
    });

    it('plans, applies one version with its audit rows, and a second apply of the same change is a no-op', async () => {
      const [a] = await open(1);
      const change = merge({ metrics: [newMetric('saves-v2')] });
      const plan = await a.catalogChanges.planInput(change);
      expect(plan).toMatchObject({ currentVersion: 0, safe: true, counts: { added: 1, changed: 0, removed: 0 } });
      const r = configRepos(db.sql);
      expect(await r.catalog.metric('saves-v2')).toBeUndefined(); // a plan writes nothing

      const applied = await a.catalogChanges.applyInput(change, ADMIN, false);
      expect(applied).toMatchObject({ applied: true, dryRun: false, version: 1, plan: { digest: plan.digest } });
      expect(await r.catalog.metric('saves-v2')).toEqual(newMetric('saves-v2'));
      expect(await r.catalog.version()).toMatchObject({ version: 1, actor: ADMIN.actor, digest: plan.digest });
      expect(await r.audit.forEntity('metric', 'saves-v2')).toMatchObject([{ actor: ADMIN.actor, before: null, after: { id: 'saves-v2' } }]);
      expect((await r.audit.forEntity('catalog', 'v1'))[0]!.after).toMatchObject({ version: 1, added: 1 });
      expect(await revision(engine.name, db.sql)).toBe(engine.name === 'postgres' ? 1 : null);

      const before = await counts(db.sql);
      expect(await a.catalogChanges.applyInput(change, ADMIN, false)).toMatchObject({ applied: false, version: 1 });
      expect(await a.catalogChanges.planInput(change)).toMatchObject({ currentVersion: 1, counts: { added: 0, changed: 0, removed: 0 } });
      expect(await counts(db.sql)).toEqual(before);
    });

    it('two replicas applying different changes at once: both apply, one catalog version each', async () => {
      const [a, b] = await open(2);
      const [x, y] = await Promise.all([
        a.catalogChanges.applyInput(merge({ metrics: [newMetric('m-from-a')] }), ADMIN, false),
        b.catalogChanges.applyInput(merge({ metrics: [newMetric('m-from-b')] }), { ...ADMIN, actor: 'token:other' }, false),
      ]);
      expect([x.version, y.version].sort()).toEqual([1, 2]);
      const r = configRepos(db.sql);
      expect((await db.sql.all<{ version: number }>('SELECT version FROM catalog_versions ORDER BY version')).map((v) => v.version)).toEqual([1, 2]);
      expect(await r.catalog.metric('m-from-a')).toBeDefined();
      expect(await r.catalog.metric('m-from-b')).toBeDefined();
      // The later version's plan was made against the earlier one's catalog: it added one metric, not two.
      const later = [x, y].find((o) => o.version === 2)!;
      expect(later.plan).toMatchObject({ currentVersion: 1, counts: { added: 1 } });
      expect(await revision(engine.name, db.sql)).toBe(engine.name === 'postgres' ? 2 : null);
    });

    it('refuses a change that breaks an experiment in use, and writes nothing', async () => {
      const [a] = await open(1);
      const { experiment } = await a.experiments.create({ config: demoConfig() }, ADMIN);
      const before = await counts(db.sql);
      const rev = await revision(engine.name, db.sql);
      const err = await a.catalogChanges.applyInput(merge({}, { metrics: ['stream-rate'] }), ADMIN, false).then(() => {
        throw new Error('the unsafe change was applied');
      }, toAppError);
      expect(err).toMatchObject({ code: 'CATALOG_CHANGE_UNSAFE' });
      expect(err.message).toContain(`home-focus-shelf (${experiment.id}, draft)`);
      expect(await counts(db.sql)).toEqual(before);
      expect(await revision(engine.name, db.sql)).toBe(rev);
      expect(await configRepos(db.sql).catalog.metric('stream-rate')).toBeDefined();
    });

    it('content sync replaces the content catalog in one transaction, keeps and flags what a draft uses, and persists it', async () => {
      const [gw] = await open(1, 'remote');
      // Upstream: a content role's own store (a real EmbeddedContent over its SQLite file), listing the demo content
      // without sh-focus (a draft uses it) and with one new item.
      const upstreamDb = openDb(':memory:');
      const upstream = new EmbeddedContent(upstreamDb, gw.deps.clock);
      const put = upstreamDb.prepare('INSERT INTO content_items (id, type, doc) VALUES (?, ?, ?)');
      const added: ContentItem = { id: 'pd-new-show', type: 'podcast', title: 'A new show', platforms: ['ios'] };
      for (const c of [...DEMO_CONTENT.filter((c) => c.id !== 'sh-focus'), added]) put.run(c.id, c.type, JSON.stringify(c));
      try {
        const { experiment } = await gw.experiments.create({ config: demoConfig() }, ADMIN);
        const sync = new ContentSync(gw.deps, upstream, { source: 'http://content.test', intervalMs: 60_000 });
        await sync.load();
        expect(await sync.sync()).toBe('changed');
        const r = configRepos(db.sql);
        expect(await r.catalog.contentItem('pd-new-show')).toEqual(added);
        expect(await r.catalog.contentItem('sh-focus')).toBeDefined(); // kept: the draft uses it
        expect([...sync.missingUpstream().keys()]).toEqual(['sh-focus']);
        expect(sync.status()).toMatchObject({ source: 'http://content.test', stale: false, missingUpstream: [{ id: 'sh-focus' }] });
        const [row] = await r.audit.forEntity('content_catalog', 'content');
        expect(row).toMatchObject({ actor: 'system', after: { added: ['pd-new-show'], missingUpstream: ['sh-focus'] } });
        expect(await revision(engine.name, db.sql)).toBe(engine.name === 'postgres' ? 2 : null); // create + sync

        // Nothing new upstream: a 304, no write of the catalog, no audit row.
        const audits = await r.audit.count();
        expect(await sync.sync()).toBe('not_modified');
        expect(await r.audit.count()).toBe(audits);
        // Another replica (a restart) reads the persisted state: the same ETag and the same flagged item.
        const [other] = await open(1, 'remote');
        const again = new ContentSync(other.deps, upstream, { source: 'http://content.test', intervalMs: 60_000 });
        await again.load();
        expect(again.status()).toMatchObject({ etag: sync.status().etag, missingUpstream: [{ id: 'sh-focus' }] });
        expect(experiment.status).toBe('draft');
      } finally {
        upstreamDb.close();
      }
    });
  });
}
