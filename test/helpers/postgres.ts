import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * A real PostgreSQL for the tests (issue 17 item 3): test/global-setup.ts starts one cluster per run with
 * startCluster() and provides its admin URL; each test file takes its own database with pgDatabase(), so files
 * run in parallel. `npm test` provisions Debian's postgresql-15 (scripts/provision.sh); SEALAB_SKIP_POSTGRES=1
 * skips these tests instead.
 */
export const PG_BIN = process.env.SEALAB_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** What the global setup hands to test files: the admin URL, or why there is no cluster. */
export type PgProvided = { url: string } | { skip: string } | { error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    pg: PgProvided;
  }
}

export interface Cluster {
  /** postgres://sealab@127.0.0.1:PORT/postgres — superuser, trust auth, loopback only. */
  url: string;
  port: number;
  /**
   * Stops the server with `pg_ctl stop -m fast` (every connection terminated, as an operator's restart does), awaits
   * `whileDown` (the test's assertions about the outage), then starts it again on the same port and data directory.
   * Asynchronous, so the test's own clients keep running meanwhile.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): void;
}

const asRoot = () => process.getuid?.() === 0;

/** Postgres refuses to run as root: as root, every server command runs as the Debian package's `postgres` user. */
function run(cmd: string, args: string[], cwd: string): void {
  const [file, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout || r.error?.message}`);
}

/** run() without blocking the event loop: a test's clients go on sending while the server stops and starts. */
function runAsync(cmd: string, args: string[], cwd: string): Promise<void> {
  const [file, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} failed (${code ?? signal}): ${out}`))));
  });
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function missingPostgres(): string | null {
  for (const bin of ['initdb', 'pg_ctl', 'postgres']) {
    if (!fs.existsSync(path.join(PG_BIN, bin))) {
      return `${path.join(PG_BIN, bin)} not found: run \`bash scripts/provision.sh\` (installs Debian's postgresql-15), or set SEALAB_SKIP_POSTGRES=1 to skip PostgreSQL tests`;
    }
  }
  if (asRoot() && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    return "running as root and there is no `postgres` user to run the server as (Debian's postgresql-15 package creates it): install it with `bash scripts/provision.sh`";
  }
  return null;
}

/**
 * initdb's a throwaway cluster in a temp dir (owned by `postgres` when we are root) and starts it on a free
 * loopback port with fsync off: the data dies with the run, durability is not what these tests measure.
 */
export async function startCluster(): Promise<Cluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-pg-'));
  const data = path.join(dir, 'data');
  if (asRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  let started = false;
  const stop = () => {
    if (started) {
      started = false;
      try {
        run(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], dir);
      } catch {
        // already gone: the directory still goes
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    run(path.join(PG_BIN, 'initdb'), ['-D', data, '-U', 'sealab', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], dir);
    // A free port can be taken between the probe and the bind by another process: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const opts = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
        '-c shared_buffers=32MB',
      ].join(' ');
      try {
        const start = ['-D', data, '-o', opts, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'];
        run(path.join(PG_BIN, 'pg_ctl'), start, dir);
        started = true;
        const restart = async (whileDown?: () => Promise<void>) => {
          await runAsync(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], dir);
          try {
            await whileDown?.();
          } finally {
            await runAsync(path.join(PG_BIN, 'pg_ctl'), start, dir);
          }
        };
        return { url: `postgres://sealab@127.0.0.1:${port}/postgres`, port, restart, stop };
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000)}`);
      }
    }
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * The cluster this run provides. `skip` (for describe.skipIf) says why PostgreSQL cases do not run; with no
 * opt-out given but no cluster either, `url` throws the reason, so those cases fail (as promtool's do) while the
 * file's SQLite cases still run.
 */
export function pgCluster(): { url: () => string; skip: string | null } {
  const p = inject('pg');
  return {
    skip: 'skip' in p ? p.skip : null,
    url: () => {
      if ('url' in p) return p.url;
      throw new Error(`PostgreSQL is not available: ${'error' in p ? p.error : p.skip}`);
    },
  };
}

/** A fresh database on the run's cluster for one test file; drop() removes it (and its connections). */
export async function pgDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
