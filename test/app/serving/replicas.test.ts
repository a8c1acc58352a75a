import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SqliteContainer, createContainer } from '../../../src/container.js';
import { AssignmentIndex } from '../../../src/app/serving/assignment-index.js';
import { readiness } from '../../../src/app/serving/readiness.js';
import { replicaServing } from '../../../src/app/serving/replica-serving.js';
import { createLogger } from '../../../src/logger.js';
import { openDb } from '../../../src/store/db.js';
import { EmbeddedBackend, EmbeddedContent } from '../../../src/systems/embedded.js';
import { createPgPool, PgSql, pgClientConfig } from '../../../src/store/sql/pg-sql.js';
import type { WriteContext } from '../../../src/store/audit-repo.js';
import { configRepos } from '../../../src/store/sql/config-repos.js';
import { SimulatedClock, wallClock } from '../../../src/systems/clock.js';
import { APPROVED, appFetch, demoConfig, permissivePolicy, testHttp } from '../../helpers/app.js';
import { configReplica, type ConfigReplica } from '../../helpers/config-deps.js';
import { seedCatalog } from '../../helpers/config-store.js';
import { type ServingReplica, servingReplica, until } from '../../helpers/serving-replica.js';
import { type EngineDb, ENGINES, engineTitle } from '../../helpers/sql-engines.js';

/**
 * Replicas that agree (issue 17 item 2): gateways that each serve from their own snapshot, read through the async
 * store, converge on a configuration write made through another — on SQLite (processes on one file: data_version
 * and config_revision) and on a real PostgreSQL (separate pools, NOTIFY plus a poll). Every wait is on a condition.
 */
const AGENT: WriteContext = { actor: 'mcp:agent', interface: 'mcp-http', operation: 'test', requestId: 'r1' };

/** Each deploy treats shelf-2 with other content: never a copy of a running experiment (DUPLICATE_OF_RUNNING). */
const SHELVES = ['sh-focus', 'sh-genres', 'sh-made-for-you', 'sh-local-scene', 'sh-jump-back-in', 'sh-trending-searches'];
let deployed = 0;

/** Deploys an experiment through the async use cases of one replica; resolves with its key once committed. */
async function deploy(writer: ConfigReplica, key: string): Promise<string> {
  const contentId = SHELVES[deployed++ % SHELVES.length];
  const variants = [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId }] },
  ];
  const { experiment } = await writer.experiments.create({ config: demoConfig({ key, variants }) }, AGENT);
  const v = await writer.experiments.validate({ experimentId: experiment.id }, AGENT);
  await writer.deploys.deploy({ experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED }, AGENT);
  return key;
}

const serves = (r: ServingReplica, key: string) => r.index.experiment(key)?.status === 'running';

/** The propagation histogram's count in a replica's registry. */
async function observations(r: ServingReplica): Promise<number> {
  const m = (await r.metrics.registry.getSingleMetric('sealab_config_propagation_seconds')?.get())?.values ?? [];
  return m.find((v) => (v as { metricName?: string }).metricName === 'sealab_config_propagation_seconds_count')?.value ?? 0;
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'serving replicas'), () => {
    let db: EngineDb;
    let writer: ConfigReplica;
    let replicas: ServingReplica[];
    const open = async (n: number, o: Partial<Parameters<typeof servingReplica>[2]> = {}) => {
      replicas = Array.from({ length: n }, (_, i) => servingReplica(engine.name, db.url, { name: `r${i}`, ...o }));
      await Promise.all(replicas.map((r) => r.start()));
      return replicas;
    };

    beforeEach(async () => {
      db = await engine.open();
      await seedCatalog(configRepos(db.sql));
      writer = configReplica(db.sql, { policy: permissivePolicy(), clock: new SimulatedClock(new Date('2026-12-07T09:00:00Z')), name: 'w' });
      replicas = [];
    });
    afterEach(async () => {
      for (const r of replicas) await r.close();
      writer?.close();
      await db?.close();
    });

    it('a deploy through one replica is served by the others, which observe its propagation and tell subscribers', async () => {
      const rs = await open(3);
      for (const r of rs) {
        expect(r.serving.snapshot).toMatchObject({ loaded: true, failures: 0 });
        expect(r.index.surfaceIds().length).toBeGreaterThan(0); // the catalog's surfaces came with the first snapshot
      }
      const before = await Promise.all(rs.map(observations));
      const key = await deploy(writer, 'replicated');
      const revision = (await db.sql.get<{ revision: number }>('SELECT revision FROM config_revision WHERE id = 1'))!.revision;
      for (const r of rs) await until(`${r.name} to serve ${key}`, () => serves(r, key));
      for (const [i, r] of rs.entries()) {
        // Serving holds the committed revision (reads after it may already hold it: at least it).
        await until(`${r.name} to hold revision ${revision}`, () => (r.serving.snapshot.revision ?? 0) >= revision);
        expect(r.serving.snapshot.propagationSeconds).toBeGreaterThanOrEqual(0);
        expect(r.serving.snapshot.propagationSeconds).toBeLessThan(60); // measured on one clock: never an hours-long skew
        expect(await observations(r)).toBeGreaterThan(before[i]);
        expect(r.events).toContainEqual(expect.objectContaining({ kind: 'experiment', surfaceId: 'home' }));
        expect(r.watcher.freshness()).toEqual({ current: true });
      }
      // The gauge every replica exports is the revision itself: converged replicas report the same number.
      const gauge = await Promise.all(
        rs.map(async (r) => (await r.metrics.registry.getSingleMetric('sealab_serving_config_revision')?.get())?.values[0]?.value),
      );
      expect(new Set(gauge).size).toBe(1);
    });

    it('reloads never overlap: ten asked for at once compile twice at most (one running, one after it), and all see the latest write', async () => {
      const [r] = await open(1);
      const key = await deploy(writer, 'coalesced');
      const before = r.compiles;
      const all = await Promise.all(Array.from({ length: 10 }, () => r.serving.reload()));
      expect(all.every(Boolean)).toBe(true);
      expect(serves(r, key)).toBe(true);
      // The watcher may have started one of its own for the deploy: at most that one, one running and one queued.
      expect(r.compiles - before).toBeLessThanOrEqual(3);
      expect(r.compiles - before).toBeGreaterThanOrEqual(1);
    });

    it('/readyz through the hono app: 503 until the replica has loaded its first snapshot, then 200 with the revision it holds', async () => {
      const [r] = Array.from({ length: 1 }, () => servingReplica(engine.name, db.url, { name: 'fresh' }));
      replicas = [r];
      let app: SqliteContainer | undefined;
      try {
        app = await createContainer({ dbFile: ':memory:', policy: permissivePolicy() });
        // The gateway's routes with this replica's readiness: what a PostgreSQL composition root wires.
        const database = engine.name === 'sqlite' ? r.db! : () => ({ ok: true });
        const http = testHttp({ ...app, readiness: () => readiness(database, r.watcher, r.serving) });
        const get = async () => {
          const res = await appFetch(http)('http://127.0.0.1/readyz');
          return {
            status: res.status,
            body: (await res.json()) as { ready: boolean; checks: { serving: { ok: boolean; reason?: string; revision?: number } } },
          };
        };
        const before = await get();
        expect(before.status).toBe(503);
        expect(before.body.checks.serving).toMatchObject({ ok: false, reason: expect.stringMatching(/not loaded its first configuration snapshot/) });
        await r.start();
        const after = await get();
        expect(after.status).toBe(200);
        expect(after.body.checks.serving).toMatchObject({ ok: true, revision: r.serving.snapshot.revision });
      } finally {
        app?.close();
      }
    });
  });
}

const pgEngine = ENGINES.find((e) => e.name === 'postgres')!;

describe.skipIf(pgEngine.skip)(engineTitle(pgEngine, 'serving replicas, faults'), () => {
  let db: EngineDb;
  let writer: ConfigReplica;
  let replicas: ServingReplica[] = [];
  beforeEach(async () => {
    db = await pgEngine.open();
    await seedCatalog(configRepos(db.sql));
    writer = configReplica(db.sql, { policy: permissivePolicy(), clock: new SimulatedClock(new Date('2026-12-07T09:00:00Z')), name: 'w' });
  });
  afterEach(async () => {
    for (const r of replicas) await r.close();
    replicas = [];
    writer?.close();
    await db?.close();
  });

  it('replicaServing, as a PostgreSQL composition root wires it: not ready before its first snapshot, then ready with the database probed', async () => {
    const pool = createPgPool(db.url, { max: 2 });
    const unused = openDb(':memory:');
    const rs = replicaServing({
      sql: new PgSql(pool),
      url: db.url,
      sources: { backend: { embedded: new EmbeddedBackend(unused, wallClock) }, content: { embedded: new EmbeddedContent(unused, wallClock) } },
      index: new AssignmentIndex(),
      logger: createLogger('silent'),
      emit: () => undefined,
    });
    try {
      expect(rs.readiness()).toMatchObject({ ready: false, checks: { serving: { ok: false } } });
      const stop = rs.watcher.start(50);
      await rs.watcher.started;
      await until('the database probe to answer', () => rs.readiness().checks.database.ok);
      expect(rs.readiness()).toMatchObject({ ready: true, checks: { serving: { ok: true, revision: 0 }, database: { ok: true } } });
      await deploy(writer, 'wired');
      await until('the wired replica to serve the deploy', () => rs.serving.snapshot.revision !== 0 && rs.readiness().ready);
      stop();
    } finally {
      await rs.watcher.stop();
      await pool.end();
      unused.close();
    }
  });

  it('a terminated LISTEN connection: the replica converges by polling, then listens again', async () => {
    let connects = 0;
    let letReconnect!: () => void;
    const reconnectAllowed = new Promise<void>((r) => {
      letReconnect = r;
    });
    const r = servingReplica('postgres', db.url, {
      name: 'dropped',
      pollMs: 50,
      safetyPollMs: 0, // while listening only NOTIFY brings news: the case tells the paths apart
      // The reconnect waits until the test has seen the poll converge.
      connect: async () => {
        if (++connects > 1) await reconnectAllowed;
        const c = new pg.Client(pgClientConfig(db.url));
        await c.connect();
        return c;
      },
    });
    replicas = [r];
    await r.start();
    const w = r.revisions!;
    expect(w.listening).toBe(true);

    await deploy(writer, 'by-notify');
    await until('the notified deploy to be served', () => serves(r, 'by-notify'));
    expect(w.heard.at(-1)?.via).toBe('notify');

    const pid = w.listenerPid!;
    await db.sql.get('SELECT pg_terminate_backend(?)::text AS done', [pid]);
    await until('the replica to notice the dropped LISTEN', () => !w.listening);
    await deploy(writer, 'by-poll');
    await until('the polled deploy to be served', () => serves(r, 'by-poll'));
    expect(w.heard.at(-1)?.via).toBe('poll');
    expect(w.freshness()).toEqual({ current: true });

    letReconnect();
    await until('LISTEN to be back', () => w.listening);
    expect(w.listenerPid).not.toBe(pid);
    await deploy(writer, 'by-notify-again');
    await until('the deploy after reconnecting to be served', () => serves(r, 'by-notify-again'));
    expect(w.heard.at(-1)?.via).toBe('notify');
  });

  it('a snapshot read that fails keeps the last good one serving (counted), and /readyz says serving is behind', async () => {
    const r = servingReplica('postgres', db.url, { name: 'broken' });
    replicas = [r];
    await r.start();
    await deploy(writer, 'kept');
    await until('the first deploy to be served', () => serves(r, 'kept'));
    const held = r.serving.snapshot.revision!;
    // Its pool ends: LISTEN (its own connection) still hears the next write, every read of the snapshot fails.
    await (r.sql as unknown as { pool: pg.Pool }).pool.end();
    await deploy(writer, 'missed');
    await until('the failed read to be counted', () => r.serving.snapshot.failures > 0);
    expect(serves(r, 'kept')).toBe(true);
    expect(serves(r, 'missed')).toBe(false);
    expect(r.serving.snapshot.revision).toBe(held);
    const failures = (await r.metrics.registry.getSingleMetric('sealab_serving_snapshot_failures_total')?.get())?.values[0]?.value;
    expect(failures).toBeGreaterThan(0);
    await until('readiness to call serving behind (past the bound)', () => !r.watcher.freshness().current);
    const check = readiness(() => ({ ok: true }), r.watcher, r.serving);
    expect(check.ready).toBe(false);
    expect(check.checks.serving.reason).toMatch(new RegExp(`serving holds revision ${held} but revision \\d+ was seen`));
  });
});
