import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { PG_MIGRATIONS } from '../../src/store/pg/migrations.js';
import { isPostgresUrl, openSql } from '../../src/store/sql/open-sql.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

const cluster = pgCluster();

describe('openSql', () => {
  it('chooses PostgreSQL for postgres:// and postgresql:// URLs only', () => {
    expect(isPostgresUrl('postgres://u@h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://u@h:5432/db')).toBe(true);
    expect(isPostgresUrl('/var/lib/sealab/sealab.db')).toBe(false);
    expect(isPostgresUrl(':memory:')).toBe(false);
  });

  it('opens a SQLite file, migrated', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-open-'));
    const { sql, close } = await openSql(path.join(dir, 'data', 'sealab.db'));
    try {
      expect(sql.dialect).toBe('sqlite');
      expect(await sql.get('SELECT MAX(version) AS v FROM schema_migrations')).toEqual({ v: Math.max(...MIGRATIONS.map((m) => m.version)) });
    } finally {
      await close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(cluster.skip)(`opens a PostgreSQL database, migrated${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, async () => {
    const database = await pgDatabase(cluster.url());
    const { sql, close } = await openSql(database.url);
    try {
      expect(sql.dialect).toBe('postgres');
      expect(await sql.get('SELECT MAX(version) AS v FROM schema_migrations')).toEqual({ v: Math.max(...PG_MIGRATIONS.map((m) => m.version)) });
      expect(await sql.get('SELECT revision FROM config_revision')).toEqual({ revision: 0 });
    } finally {
      await close();
      await database.drop();
    }
  });
});
