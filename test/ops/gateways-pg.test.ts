import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerName } from '../../src/store/pg/revision-watcher.js';
import { permissivePolicy } from '../helpers/app.js';
import { type ServeProcess, spawnServe } from '../helpers/cli.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { call, deploy, eventually, propagationSamples, servesAlike, unitsByArm, until, validated } from '../helpers/gateway-client.js';
import { type Cluster, missingPostgres, pgCluster, pgDatabase, startCluster } from '../helpers/postgres.js';

/**
 * Real faults with several gateways on one PostgreSQL (issue 17 item 4), every process spawned as `sealab serve`:
 * - three gateways A, B, C on one database with the embedded systems (their state in PostgreSQL): a deploy through A
 *   is served by B and C; a dropped LISTEN connection; a PostgreSQL restart in the middle of ingest;
 * - two gateways on a second database orchestrating remote systems (`--role backend|content` processes on their own
 *   SQLite files, the backend behind a fault proxy), for a gateway SIGKILLed in the middle of a deploy.
 * The file starts its own cluster: the run's shared one is used by other files, and this one is restarted.
 * Every wait is on a condition with a generous deadline; nothing is timed.
 */
const provided = pgCluster();

describe.skipIf(provided.skip)(`gateways on one PostgreSQL under real faults${provided.skip ? ` (skipped: ${provided.skip})` : ''}`, () => {
  let cluster: Cluster | undefined;
  let dir: string;
  /** A pool of the test's own on the gateways' database (it reconnects after the restart). */
  let db: pg.Pool;
  let sagaDb: pg.Pool;
  let A: ServeProcess;
  let B: ServeProcess;
  let C: ServeProcess;
  /** The saga pair: SA is killed mid-deploy, SB recovers. */
  let SA: ServeProcess;
  let SB: ServeProcess;
  let backend: ServeProcess;
  let content: ServeProcess;
  let proxy: FaultProxy;
  /** Every start, so afterAll stops whatever started even when another start failed. */
  const starts: Promise<ServeProcess>[] = [];
  /** The systems' and the saga pair's starts, which follow one another: afterAll waits for the chain to end. */
  let chain: Promise<void> | undefined;
  const serve = (args: string[], env: Record<string, string>) => {
    const started = spawnServe(args, env, 60_000);
    starts.push(started);
    return started;
  };

  beforeAll(async () => {
    const missing = missingPostgres();
    if (missing) throw new Error(missing);
    cluster = await startCluster();
    const [main, saga] = await Promise.all([pgDatabase(cluster.url), pgDatabase(cluster.url)]);
    db = pool(main.url);
    sagaDb = pool(saga.url);
    dir = mkdtempSync(path.join(tmpdir(), 'sealab-gateways-pg-'));
    const policy = path.join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify(permissivePolicy()));
    const gateway = (name: string, url: string, env: Record<string, string> = {}) =>
      serve(['--port', '0', '--data-dir', path.join(dir, name), '--policy', policy], { SEALAB_DATABASE_URL: url, SEALAB_WATCH_INTERVAL_MS: '100', ...env });
    proxy = new FaultProxy('');
    await proxy.listen();
    // All at once, each group on an empty database: the first start's migration and demo catalog race between them.
    chain = (async () => {
      [backend, content] = await Promise.all([
        serve(['--port', '0', '--data-dir', path.join(dir, 'backend'), '--role', 'backend'], {}),
        serve(['--port', '0', '--data-dir', path.join(dir, 'content'), '--role', 'content'], {}),
      ]);
      proxy.target = backend.url;
      const remote = { SEALAB_BACKEND_URL: proxy.url, SEALAB_CONTENT_URL: content.url, SEALAB_UPSTREAM_TIMEOUT_MS: '3000', SEALAB_SYNC_INTERVAL_MS: '100' };
      [SA, SB] = await Promise.all([gateway('sa', saga.url, remote), gateway('sb', saga.url, remote)]);
    })();
    [A, B, C] = await Promise.all([gateway('a', main.url), gateway('b', main.url), gateway('c', main.url), chain]);
  }, 120_000);

  afterAll(async () => {
    await chain?.catch(() => undefined);
    const all = (await Promise.allSettled(starts)).flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(all.map((p) => p.exited)), new Promise((r) => setTimeout(r, 10_000))]);
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await proxy?.close();
    await Promise.all([db?.end(), sagaDb?.end()]);
    cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  it('a deploy through A is served by B and C alike, for units of both arms; all three ready; each measured its propagation', async () => {
    const e = await validated(A.url, 'home-pg-main', 'sh-focus', 20);
    const r = await deploy(A.url, e);
    expect(r.status, r.text).toBe(200);
    const arms = await eventually(() => unitsByArm(A.url, e.key));
    for (const replica of [B, C]) await eventually(() => servesAlike(replica.url, e.key, arms));
    for (const replica of [A, B, C]) {
      const ready = await eventually(async () => {
        const res = await call(replica.url, 'GET', '/readyz');
        if (res.status !== 200) throw new Error(`not ready: ${res.text}`);
        return res.json;
      });
      expect(ready.checks.serving).toMatchObject({ ok: true, revision: expect.any(Number) });
      // The replicas that did not write learnt each of A's writes from the database: commit-to-serving measured.
      if (replica !== A) expect(await propagationSamples(replica.url)).toBeGreaterThan(0);
    }
  });

  it("a terminated LISTEN connection: B notices, converges on A's deploy, listens again and converges on the next", async () => {
    const before = await eventually(() => listener(B));
    await db.query('SELECT pg_terminate_backend($1)', [before]);
    const x = await validated(A.url, 'home-pg-listen-1', 'sh-jump-back-in', 10);
    expect((await deploy(A.url, x)).status).toBe(200);
    const xArms = await eventually(() => unitsByArm(A.url, x.key));
    await eventually(() => servesAlike(B.url, x.key, xArms));
    await until('B to log that it lost LISTEN', () => B.stderr().includes('configuration revision watcher: LISTEN or poll failed; polling until it is back'));
    // Reconnected: a new backend listens for B (the same process, by its application_name).
    const after = await eventually(async () => {
      const pid = await listener(B);
      if (pid === before) throw new Error('still the terminated backend');
      return pid;
    });
    expect(after).not.toBe(before);
    // What an operator sees of it: listening again, and the revisions B learnt of counted by how.
    await eventually(async () => {
      const scrape = (await call(B.url, 'GET', '/metrics')).text;
      if (!/^sealab_config_listening 1$/m.test(scrape)) throw new Error('B does not report listening');
      expect(scrape).toMatch(/^sealab_config_revisions_heard_total\{via="(?:poll|reconnect|notify)"\} [1-9]/m);
    });
    const y = await validated(A.url, 'home-pg-listen-2', 'sh-local-scene', 10);
    expect((await deploy(A.url, y)).status).toBe(200);
    const yArms = await eventually(() => unitsByArm(A.url, y.key));
    for (const replica of [B, C]) await eventually(() => servesAlike(replica.url, y.key, yArms));
  });

  it('SA killed with SIGKILL mid-deploy: SB compensates its operation, the systems and the record agree, and a retry through SB deploys once', async () => {
    await eventually(async () => {
      for (const g of [SA, SB]) if ((await call(g.url, 'GET', '/readyz')).status !== 200) throw new Error(`${g.url} not ready`);
    });
    const e = await validated(SA.url, 'home-pg-kill', 'mx-release-radar', 20);
    proxy.seen = [];
    proxy.rule = (_m, step) => (step === 'backend.activate' ? 'hang' : 'ok');
    const pending = deploy(SA.url, e, 'pg-kill-key').catch(() => 'killed');
    await until('the backend activate step reaching the proxy', () => proxy.seen.includes('PUT backend.activate'));
    expect(await operations(e.id)).toEqual([{ kind: 'deploy', status: 'pending', steps: ['backend.allocate', 'content.apply'] }]);
    SA.child.kill('SIGKILL');
    await SA.exited;
    expect(await pending).toBe('killed');
    proxy.rule = () => 'ok';

    // SB's recovery sees the owner's pid gone (same host) and compensates at once, not after the 30 s lease.
    await until('SB to compensate the dead operation', async () => (await operations(e.id))[0]?.status === 'compensated', 60_000);
    expect((await call(SB.url, 'GET', `/v1/experiments/${e.id}`)).json.experiment).toMatchObject({ status: 'draft', version: 1 });
    await eventually(async () => expect(await agreement()).toEqual({ running: [], serving: [], recorded: [] }));
    expect(backendSteps(e.id)).toEqual(['backend.allocate', 'compensate.backend']);
    expect(await inExperimentOnSB(e.key)).toEqual([]);

    const again = await deploy(SB.url, e, 'pg-kill-key');
    expect(again.status, again.text).toBe(200);
    expect(await operations(e.id)).toEqual([
      { kind: 'deploy', status: 'compensated', steps: ['backend.allocate', 'content.apply'] },
      { kind: 'deploy', status: 'completed', steps: ['backend.allocate', 'content.apply', 'backend.activate'] },
    ]);
    await eventually(async () => expect(await agreement()).toEqual({ running: [e.id], serving: [e.id], recorded: [e.id] }));
    expect(backendSteps(e.id)).toEqual(['backend.allocate', 'compensate.backend', 'backend.allocate', 'backend.activate']);
    // SB serves what the backend runs: the backend's own OFREP answers, unit by unit.
    const arms = await eventually(() => unitsByArm(backend.url, e.key));
    await eventually(() => servesAlike(SB.url, e.key, arms));
  });

  it('PostgreSQL restarted mid-ingest: refused with 503 UPSTREAM_UNAVAILABLE meanwhile, no acknowledged event lost or doubled, ingest resumes on every gateway', async () => {
    const e = await validated(A.url, 'home-pg-ingest', 'sh-made-for-you', 10);
    expect((await deploy(A.url, e)).status).toBe(200);
    const ingest = new IngestClients([A, B, C], e.id);
    ingest.start();
    try {
      const acked = (n: (i: number) => number) => () => {
        ingest.check();
        return ingest.acks.every((a, i) => a >= n(i));
      };
      await until(
        'every gateway to acknowledge batches',
        acked(() => 3),
        30_000,
      );
      await cluster!.restart(async () => {
        ingest.refusedSince.fill(0);
        await until(
          'every gateway to refuse a batch while PostgreSQL is down',
          () => {
            ingest.check();
            return ingest.refusedSince.every((n) => n > 0);
          },
          30_000,
        );
      });
      const atRestart = [...ingest.acks];
      await until(
        'ingest to resume on every gateway',
        acked((i) => atRestart[i] + 3),
        60_000,
      );
    } finally {
      await ingest.stop();
    }
    // Refusals are typed: 503 UPSTREAM_UNAVAILABLE with a hint, never a 500, a stack trace or a dropped connection.
    expect(ingest.refusals.length).toBeGreaterThan(0);
    for (const f of ingest.refusals) {
      expect(f.status, f.text).toBe(503);
      expect(f.json).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', hint: expect.any(String) });
      expect(f.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    }
    // Every acknowledged event is in the shared log exactly once, and nothing else of this experiment is.
    const keys = [...ingest.acked].map((id) => `x:${id}`);
    const { rows } = await db.query<{ id: string; n: string }>('SELECT id, COUNT(*) AS n FROM event_log WHERE id = ANY($1) GROUP BY id', [keys]);
    expect(rows.length).toBe(keys.length);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    const logged = await db.query<{ n: string }>("SELECT COUNT(*) AS n FROM event_log WHERE ref = $1 AND type = 'exposure'", [e.id]);
    expect(Number(logged.rows[0].n)).toBe(keys.length);
    // Folded by whichever replica's turn: get_metrics on any gateway counts them (one unit per exposure).
    await eventually(async () => {
      const m = (await call(C.url, 'GET', `/v1/experiments/${e.id}/metrics`)).json as { exposures: { units: number }[] };
      expect(m.exposures.reduce((n, x) => n + x.units, 0)).toBe(keys.length);
    }, 60_000);
    // Every process survived the outage and is ready again (LISTEN back, snapshots current, database writable).
    for (const g of [A, B, C, SB]) {
      expect(g.child.exitCode).toBeNull();
      await eventually(async () => {
        const res = await call(g.url, 'GET', '/readyz');
        if (res.status !== 200) throw new Error(`${g.url} not ready: ${res.text}`);
      }, 30_000);
    }
    for (const g of [A, B, C]) await eventually(() => listener(g));
  }, 180_000);

  /** The backend pid of a gateway's LISTEN connection (its application_name carries the gateway's pid); throws while it has none. */
  async function listener(g: ServeProcess): Promise<number> {
    const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [listenerName(g.child.pid)]);
    if (rows.length !== 1) throw new Error(`${rows.length} LISTEN connections for pid ${g.child.pid}`);
    return rows[0].pid;
  }

  async function operations(experimentId: string): Promise<{ kind: string; status: string; steps: string[] }[]> {
    const { rows } = await sagaDb.query<{ kind: string; status: string; steps: string }>(
      'SELECT kind, status, steps FROM operations WHERE experiment_id = $1 ORDER BY created_at, id',
      [experimentId],
    );
    return rows.map((r) => ({ kind: r.kind, status: r.status, steps: JSON.parse(r.steps) as string[] }));
  }

  /** Backend running = content serving = SB's records running: the saga invariant across the processes. */
  async function agreement() {
    const b = (await call(backend.url, 'GET', '/v1/backend/experiments')).json.experiments as { experimentId: string; status: string }[];
    const c = (await call(content.url, 'GET', '/v1/content-delivery/experiments')).json.experiments as { experimentId: string; serving: boolean }[];
    const g = (await call(SB.url, 'GET', '/v1/experiments')).json.experiments as { id: string; status: string }[];
    return {
      running: b.filter((x) => x.status === 'running').map((x) => x.experimentId),
      serving: c.filter((x) => x.serving).map((x) => x.experimentId),
      recorded: g.filter((x) => x.status === 'running').map((x) => x.id),
    };
  }

  /** Every step the backend applied for an experiment, in order (its primary key forbids a second one). */
  function backendSteps(experimentId: string): string[] {
    const file = new Database(path.join(dir, 'backend', 'sealab.db'), { readonly: true });
    try {
      return (file.prepare('SELECT step FROM system_applied WHERE experiment_id = ? ORDER BY rowid').all(experimentId) as { step: string }[]).map(
        (r) => r.step,
      );
    } finally {
      file.close();
    }
  }

  /** The units of 40 that SB serves in the experiment (an unknown flag, 404, serves none). */
  async function inExperimentOnSB(flagKey: string): Promise<string[]> {
    const units = Array.from({ length: 40 }, (_, i) => `${flagKey}-u${i}`);
    const answers = await Promise.all(units.map((u) => call(SB.url, 'POST', `/ofrep/v1/evaluate/flags/${flagKey}`, { context: { targetingKey: u } })));
    return units.filter((_, i) => answers[i].json?.metadata?.inExperiment === true);
  }
});

function pool(url: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 2 });
  p.on('error', () => undefined); // idle connections die with the restart; the next query opens a new one
  return p;
}

/** What one refused batch got back. */
interface Refusal {
  status: number;
  json: unknown;
  text: string;
}

/**
 * One producer per gateway, each posting batches of exposures with unique event ids (one new unit each) in a loop; a
 * refused batch is sent again, same ids, to the same gateway until acknowledged (ingest is idempotent by event id).
 */
class IngestClients {
  readonly acked = new Set<string>();
  readonly acks: number[];
  readonly refusals: Refusal[] = [];
  /** Refusals per gateway (the test zeroes them when the cluster is down, then waits for one on each). */
  readonly refusedSince: number[];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly gateways: ServeProcess[],
    private readonly experimentId: string,
  ) {
    this.acks = gateways.map(() => 0);
    this.refusedSince = gateways.map(() => 0);
  }

  start(): void {
    this.loops = this.gateways.map((g, i) =>
      this.loop(g, i).catch((err: Error) => {
        this.failure ??= err;
      }),
    );
  }

  /** Throws what stopped a producer (its gateway exited, a batch was half acknowledged), so a wait fails at once with it. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.check();
  }

  private async loop(g: ServeProcess, i: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const events = Array.from({ length: 20 }, (_, k) => ({
        id: `pgr-${i}-${n}-${k}`,
        type: 'exposure',
        unitId: `pgr-unit-${i}-${n}-${k}`,
        experimentId: this.experimentId,
        variant: k % 2 ? 'treatment' : 'control',
      }));
      // Once sent, a batch is retried until acknowledged, even after stop(): nothing is left half-known.
      for (;;) {
        const r = await call(g.url, 'POST', '/v1/events', { events }).catch((err: Error) => ({ status: 0, json: null, text: `no answer: ${err.message}` }));
        if (r.status === 200) {
          const j = r.json as { accepted: number; duplicates: number; rejected: unknown[] };
          if (j.accepted + j.duplicates !== events.length || j.rejected.length) throw new Error(`batch not wholly acknowledged: ${r.text}`);
          for (const ev of events) this.acked.add(ev.id);
          this.acks[i]++;
          break;
        }
        if (g.child.exitCode !== null || g.child.signalCode !== null)
          throw new Error(`gateway ${g.url} exited (${g.child.exitCode ?? g.child.signalCode}) during ingest: ${g.stderr().slice(-3000)}`);
        this.refusals.push(r);
        this.refusedSince[i]++;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  }
}
