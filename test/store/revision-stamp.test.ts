import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bumpRevision, readRevision, readRevisionStamp } from '../../src/store/pg/revision.js';
import { configRepos } from '../../src/store/sql/config-repos.js';
import { DEMO_SURFACES } from '../helpers/demo-catalog.js';
import { type EngineDb, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * Migration 21: the revision carries when it moved (config_revision.changed_at), stamped by the writer's transaction —
 * SQLite's trigger on the row, PostgreSQL's bumpRevision — and its age is computed by the database on its own clock.
 */
for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'the revision stamp'), () => {
    let db: EngineDb;
    beforeEach(async () => {
      db = await engine.open();
    });
    afterEach(async () => {
      await db?.close();
    });

    it('is unset (age 0) before any write, then stamped by a configuration write with the time of its transaction', async () => {
      expect(await readRevisionStamp(db.sql)).toEqual({ revision: 0, ageSeconds: 0 });
      const before = Date.now() / 1000;
      // A configuration write as the use cases make it: the row written and, on PostgreSQL, the revision bumped.
      await db.sql.tx(async (tx) => {
        await configRepos(tx).catalog.upsertSurface(DEMO_SURFACES[0]);
        await bumpRevision(tx);
      });
      const after = Date.now() / 1000;
      const row = await db.sql.get<{ revision: number; changed_at: number }>('SELECT revision, changed_at FROM config_revision WHERE id = 1');
      expect(row!.revision).toBe(1);
      // Same machine here, so the database's clock and ours agree to well within a second.
      expect(row!.changed_at).toBeGreaterThan(before - 1);
      expect(row!.changed_at).toBeLessThan(after + 1);
      const stamp = await readRevisionStamp(db.sql);
      expect(stamp.revision).toBe(await readRevision(db.sql));
      expect(stamp.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(stamp.ageSeconds).toBeLessThan(Date.now() / 1000 - before + 1);
    });

    it('a rolled-back write leaves revision and stamp as they were', async () => {
      await expect(
        db.sql.tx(async (tx) => {
          await configRepos(tx).catalog.upsertSurface(DEMO_SURFACES[0]);
          await bumpRevision(tx);
          throw new Error('the write failed');
        }),
      ).rejects.toThrow('the write failed');
      expect(await db.sql.get('SELECT revision, changed_at FROM config_revision WHERE id = 1')).toEqual({ revision: 0, changed_at: 0 });
    });
  });
}
