import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { readRevision } from '../../src/store/pg/revision.js';
import { openSql } from '../../src/store/sql/open-sql.js';
import { MISSING_ON_POSTGRES } from '../../src/store/sql/postgres-start.js';
import { runSealab } from '../helpers/cli.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

/**
 * SEALAB_DATABASE_URL (issue 17, ADR 0020 conversion part 2): validated by src/config.ts; a server given one opens and
 * migrates that PostgreSQL, then refuses to start, naming what does not run there yet (no half-way switch).
 */
describe('SEALAB_DATABASE_URL: the setting', () => {
  it('accepts postgres:// and postgresql:// URLs, and is unset by default (the SQLite file)', () => {
    expect(loadConfig({}, {}).databaseUrl).toBeUndefined();
    expect(loadConfig({}, { SEALAB_DATABASE_URL: 'postgres://sealab:secret@db.internal:5432/sealab' }).databaseUrl).toBe(
      'postgres://sealab:secret@db.internal:5432/sealab',
    );
    expect(loadConfig({}, { SEALAB_DATABASE_URL: 'postgresql://db/sealab?sslmode=require' }).databaseUrl).toBe('postgresql://db/sealab?sslmode=require');
  });

  it('refuses anything else with the variable, what it must be, and how to use SQLite instead', () => {
    for (const bad of ['mysql://db/sealab', '/var/lib/sealab/sealab.db', 'postgres://', 'postgres://db with spaces/x']) {
      expect(() => loadConfig({}, { SEALAB_DATABASE_URL: bad })).toThrow(
        /^SEALAB_DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL, e\.g\. .*\(unset it to use the SQLite file in the data directory\)$/,
      );
    }
  });

  it('sealab serve exits 1 on an invalid one, before opening anything', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-dburl-'));
    try {
      const r = await runSealab(['serve'], { SEALAB_DATA_DIR: dir, SEALAB_PORT: '0', SEALAB_DATABASE_URL: 'mysql://db/sealab' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('sealab: invalid configuration\nSEALAB_DATABASE_URL: must be a postgres:// or postgresql:// URL');
      expect(existsSync(path.join(dir, 'sealab.db'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const cluster = pgCluster();

describe.skipIf(cluster.skip)(`SEALAB_DATABASE_URL on a real PostgreSQL${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('the composition root migrates the database, then refuses with PRECONDITION_FAILED naming what is missing there', async () => {
    const database = await pgDatabase(cluster.url());
    cleanups.push(() => database.drop());
    const refused = createContainer({ dbFile: ':memory:', databaseUrl: database.url });
    await expect(refused).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: expect.stringMatching(
        /^SEALAB_DATABASE_URL: the database is reachable and migrated, but sealab cannot run on PostgreSQL yet; still missing there: the event side/,
      ),
      hint: expect.stringContaining('Unset SEALAB_DATABASE_URL'),
      details: { missing: [...MISSING_ON_POSTGRES] },
    });
    // The working part: the schema is there (the revision row), and nothing was written to it.
    const opened = await openSql(database.url);
    cleanups.push(() => opened.close());
    expect(await readRevision(opened.sql)).toBe(0);
    expect(await opened.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM surfaces')).toEqual({ n: 0 });
  });

  it('sealab serve with it exits 1 with the typed error, and creates no SQLite file beside', async () => {
    const database = await pgDatabase(cluster.url());
    cleanups.push(() => database.drop());
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-dburl-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runSealab(['serve'], { SEALAB_DATA_DIR: dir, SEALAB_PORT: '0', SEALAB_DATABASE_URL: database.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sealab: PRECONDITION_FAILED: SEALAB_DATABASE_URL: the database is reachable and migrated');
    expect(r.stderr).toContain('Next: Unset SEALAB_DATABASE_URL');
    expect(existsSync(path.join(dir, 'sealab.db'))).toBe(false);
  });
});
