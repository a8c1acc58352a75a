import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { readRevision } from '../../src/store/pg/revision.js';
import { openSql } from '../../src/store/sql/open-sql.js';
import { ROOT, runSealab } from '../helpers/cli.js';
import { permissivePolicy } from '../helpers/app.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

/**
 * SEALAB_DATABASE_URL (issue 17, ADR 0020): validated by src/config.ts; a server given one is a gateway replica on that
 * PostgreSQL (src/root/postgres-root.ts): migrated at start, nothing in the data directory's SQLite file.
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

  it('the composition root builds a replica on it: migrated, demo catalog seeded once, first snapshot served, closed cleanly', async () => {
    const database = await pgDatabase(cluster.url());
    cleanups.push(() => database.drop());
    const a = await createContainer({ dbFile: ':memory:', databaseUrl: database.url, policy: permissivePolicy() });
    cleanups.push(() => a.close());
    expect(a.engine).toBe('postgres');
    expect(a.serving.snapshot).toMatchObject({ loaded: true, failures: 0 });
    expect(a.assignments.surfaceIds().length).toBeGreaterThan(0);
    await a.healthProbe();
    // A second replica on the same database finds the catalog there: no second seed, the same catalog version.
    const b = await createContainer({ dbFile: ':memory:', databaseUrl: database.url, policy: permissivePolicy() });
    cleanups.push(() => b.close());
    expect((await b.catalog.surfaces()).map((s) => s.id)).toEqual((await a.catalog.surfaces()).map((s) => s.id));
    const opened = await openSql(database.url);
    cleanups.push(() => opened.close());
    expect(await opened.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM catalog_versions')).toEqual({ n: 1 });
    expect(await readRevision(opened.sql)).toBeGreaterThan(0);
    // close() ends the pool: the replica's probe fails afterwards rather than hanging on a dead pool.
    await b.close();
    await expect(b.healthProbe()).rejects.toThrow();
  });

  it('three replicas starting at once on an empty database: the demo catalog is applied once, every replica serves it', async () => {
    const database = await pgDatabase(cluster.url());
    cleanups.push(() => database.drop());
    const replicas = await Promise.all([1, 2, 3].map(() => createContainer({ dbFile: ':memory:', databaseUrl: database.url, policy: permissivePolicy() })));
    for (const r of replicas) cleanups.push(() => r.close());
    for (const r of replicas) expect(r.assignments.surfaceIds().sort()).toEqual(replicas[0].assignments.surfaceIds().sort());
    expect(replicas[0].assignments.surfaceIds().length).toBeGreaterThan(0);
    const opened = await openSql(database.url);
    cleanups.push(() => opened.close());
    expect(await opened.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM catalog_versions')).toEqual({ n: 1 });
  });

  it('an unreachable server is a typed UPSTREAM_UNAVAILABLE naming host, port and database, never the password', async () => {
    const port = await closedPort();
    const refused = createContainer({ dbFile: ':memory:', databaseUrl: `postgres://sealab:hunter2@127.0.0.1:${port}/sealab` });
    await expect(refused).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: expect.stringContaining(`SEALAB_DATABASE_URL: could not open PostgreSQL at 127.0.0.1:${port}/sealab`),
      hint: expect.stringContaining('unset SEALAB_DATABASE_URL'),
    });
    await expect(refused).rejects.not.toMatchObject({ message: expect.stringContaining('hunter2') });
  });

  it('sealab serve with it listens, is ready, and creates no SQLite file in the data directory', async () => {
    const database = await pgDatabase(cluster.url());
    cleanups.push(() => database.drop());
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-dburl-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const serve = await startServeWith(dir, { SEALAB_DATABASE_URL: database.url });
    cleanups.push(async () => void (await serve.stop()));
    const ready = await fetch(`${serve.url}/readyz`);
    expect(ready.status, await ready.clone().text()).toBe(200);
    expect(await (await fetch(`${serve.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    const surfaces = await fetch(`${serve.url}/v1/surfaces`);
    expect(surfaces.status).toBe(200);
    expect(serve.log()).toContain('"store":"postgres"');
    expect(existsSync(path.join(dir, 'sealab.db'))).toBe(false);
    expect(await serve.stop()).toBe(0); // SIGTERM: drained and closed, exit 0
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** `sealab serve` spawned with extra environment (port 0); resolves with its URL once it logs that it listens. */
function startServeWith(dataDir: string, env: Record<string, string>): Promise<{ url: string; log(): string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SEALAB_LOG_LEVEL: 'info', SEALAB_RAMP_INTERVAL_SECONDS: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sealab did not start: ${err}`));
    }, 30_000);
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /"msg":"sealab HTTP listening[^"]*"/.test(err) ? /"url":"(http:\/\/[^"]+)"/.exec(err) : null;
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], log: () => err, stop });
      }
    });
    child.on('exit', (code) => reject(new Error(`sealab exited (${code}): ${err}`)));
  });
}
