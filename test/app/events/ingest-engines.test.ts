import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventService } from '../../../src/app/events/event-service.js';
import { ExposureBuffer } from '../../../src/app/events/exposure-buffer.js';
import { sinkWriter } from '../../../src/app/events/exposure-writer.js';
import { PgIngest } from '../../../src/app/events/ingest-paths.js';
import { PgFoldRunner } from '../../../src/app/events/pg-fold-runner.js';
import { pgEventSide } from '../../../src/app/events/pg-event-side.js';
import { MetricsService } from '../../../src/app/results/metrics-service.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { EventReads } from '../../../src/store/event-reads.js';
import { AssignmentIndex } from '../../../src/app/serving/assignment-index.js';
import type { SqliteContainer } from '../../../src/container.js';
import { createLogger } from '../../../src/logger.js';
import type { WriteContext } from '../../../src/store/audit-repo.js';
import { PgEventLog } from '../../../src/store/pg/pg-event-log.js';
import { PgFold } from '../../../src/store/pg/pg-fold.js';
import { configRepos } from '../../../src/store/sql/config-repos.js';
import { SimulatedClock } from '../../../src/systems/clock.js';
import { APPROVED, demoConfig, permissivePolicy, testContainer } from '../../helpers/app.js';
import { type ConfigReplica, configReplica } from '../../helpers/config-deps.js';
import { seedCatalog } from '../../helpers/config-store.js';
import { type EngineDb, ENGINES, engineTitle } from '../../helpers/sql-engines.js';

/**
 * Ingest through EventService on PostgreSQL (PgIngest: validation reads from the async store, the sticky-variant
 * check over `exposures` and the unfolded log, PgEventLog.append), with two replicas on two pools — and the same
 * batches through a SQLite container (SqliteIngest), which must answer exactly the same.
 */
const START = new Date('2026-12-07T09:00:00Z');
const ctx = (requestId: string): WriteContext => ({ actor: 'svc:ingest', interface: 'rest', operation: 'POST /v1/events', requestId });
const KEY = 'home-focus-shelf';
const exposure = (id: string, unitId: string, variant: string, experimentId = KEY) => ({ id, type: 'exposure', unitId, experimentId, variant });
const metric = (id: string, unitId: string, metricId: string, value: number) => ({ id, type: 'metric', unitId, metricId, value });

/** One batch with every outcome: valid exposures, metric and raw events, and one of each per-event error. */
const MIXED = {
  events: [
    exposure('x1', 'u1', 'control'),
    exposure('x2', 'u2', 'focus'),
    metric('m1', 'u1', 'minutes-played', 5),
    { id: 'r1', type: 'event', unitId: 'u1', name: 'play', ts: START.toISOString() },
    metric('m2', 'u1', 'minutes-playd', 1),
    metric('m3', 'u2', 'stream-rate', 2),
    exposure('x3', 'u3', 'control', 'home-focus-shelv'),
    exposure('x4', 'u3', 'nope'),
    { id: 'bad', type: 'exposure' },
  ],
};

const pg = ENGINES.find((e) => e.name === 'postgres')!;

describe.skipIf(pg.skip)(engineTitle(pg, 'ingest through the service'), () => {
  let db: EngineDb;
  let replicas: ConfigReplica[] = [];
  let sqlite: SqliteContainer | undefined;

  beforeEach(async () => {
    db = await pg.open();
    await seedCatalog(configRepos(db.sql));
  });
  afterEach(async () => {
    for (const r of replicas) r.close();
    replicas = [];
    sqlite?.close();
    sqlite = undefined;
    await db?.close();
  });

  /** n replicas on n pools, each with its own EventService over PgIngest, and the experiment deployed through the first. */
  const open = async (n: number) => {
    const clock = new SimulatedClock(START);
    replicas = (await db.clients(n)).map((sql, i) => configReplica(sql, { policy: permissivePolicy(), clock, name: `r${i}` }));
    const [a] = replicas;
    const { experiment } = await a.experiments.create({ config: demoConfig({ successMetrics: ['stream-rate', 'minutes-played'] }) }, ctx('create'));
    const v = await a.experiments.validate({ experimentId: experiment.id }, ctx('validate'));
    await a.deploys.deploy({ experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED }, ctx('deploy'));
    const services = replicas.map((r) => {
      const buffer = new ExposureBuffer(
        sinkWriter(async () => 'dropped'),
        createLogger('silent'),
        { clock },
      );
      return new EventService(r.deps, new AssignmentIndex(), buffer, new PgIngest(r.deps.store, new PgEventLog(r.deps.sql)));
    });
    return { services, experimentId: experiment.id, log: new PgEventLog(db.sql), clock };
  };

  /** The same experiment deployed in a SQLite container, whose ingest takes the synchronous path. */
  const sqliteService = async () => {
    sqlite = await testContainer({ policy: permissivePolicy(), clock: new SimulatedClock(START) });
    const { experiment } = await sqlite.experiments.create({ config: demoConfig({ successMetrics: ['stream-rate', 'minutes-played'] }) }, ctx('create'));
    const v = await sqlite.experiments.validate({ experimentId: experiment.id }, ctx('validate'));
    await sqlite.deploys.deploy({ experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED }, ctx('deploy'));
    return sqlite.events;
  };

  it('accepts, counts duplicates across replicas and rejects by index, exactly as SQLite does; the audit row commits with the batch', async () => {
    const { services, log } = await open(2);
    const [a, b] = services;
    const first = await a.ingest(MIXED, ctx('b1'));
    expect(first).toMatchObject({ accepted: 4, duplicates: 0, unmatched: 1 });
    expect(first.rejected.map((r) => [r.index, r.code])).toEqual([
      [4, 'UNKNOWN_METRIC'],
      [5, 'INVALID_VALUE'],
      [6, 'UNKNOWN_EXPERIMENT'],
      [7, 'UNKNOWN_VARIANT'],
      [8, 'INVALID_EVENT'],
    ]);
    expect(first.rejected[0].message).toContain("'minutes-played'");
    expect(first.rejected[2].message).toContain(`'${KEY}'`);
    // Sent again through the other replica: every valid event is a duplicate, the errors the same.
    const again = await b.ingest(MIXED, ctx('b2'));
    expect(again).toEqual({ ...first, accepted: 0, duplicates: 4, unmatched: 0 });
    // Two events with one id in one batch: the first is stored, the second a duplicate.
    expect(await a.ingest({ events: [metric('m9', 'u1', 'minutes-played', 1), metric('m9', 'u1', 'minutes-played', 2)] }, ctx('b3'))).toEqual({
      accepted: 1,
      duplicates: 1,
      unmatched: 0,
      rejected: [],
    });
    expect((await log.batchAudit('b1'))[0].after).toEqual({ received: 9, accepted: 4, duplicates: 0, unmatched: 1, rejected: 5 });
    expect((await log.batchAudit('b2'))[0].after).toMatchObject({ accepted: 0, duplicates: 4 });
    // A batch with nothing valid writes nothing: no log row, no audit row.
    const before = await log.lastSeq();
    const refused = await b.ingest({ events: [metric('z1', 'u1', 'nope', 1)] }, ctx('b4'));
    expect(refused.rejected.map((r) => r.code)).toEqual(['UNKNOWN_METRIC']);
    expect(await log.lastSeq()).toBe(before);
    expect(await log.batchAudit('b4')).toEqual([]);
    // The same batches through SQLite's synchronous path answer the same.
    const lite = await sqliteService();
    expect(await lite.ingest(MIXED, ctx('s1'))).toEqual(first);
    expect(await lite.ingest(MIXED, ctx('s2'))).toEqual(again);
    // A malformed batch is refused as a whole on both.
    for (const s of [a, lite]) await expect(s.ingest({ events: [] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('keeps assignment sticky across replicas: against an exposure another replica appended (not folded), folded, or earlier in the batch', async () => {
    const { services, log } = await open(2);
    const [a, b] = services;
    expect((await a.ingest({ events: [exposure('x1', 'u1', 'control'), exposure('x2', 'u2', 'focus')] }, ctx('a1'))).accepted).toBe(2);
    // Not folded yet: b finds a's exposure in the log past the watermark.
    const unfolded = await b.ingest({ events: [exposure('y1', 'u1', 'focus'), exposure('y2', 'u2', 'focus')] }, ctx('b1'));
    expect(unfolded).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(unfolded.rejected).toEqual([
      expect.objectContaining({ index: 0, code: 'VARIANT_MISMATCH', message: expect.stringContaining("exposed to 'control'") }),
    ]);
    // Folded: the exposures table answers (the log past the watermark is empty).
    await new PgFold(db.sql).catchUp();
    expect((await log.backlog()).pending).toBe(0);
    const folded = await b.ingest({ events: [exposure('y3', 'u2', 'control')] }, ctx('b2'));
    expect(folded.rejected).toEqual([expect.objectContaining({ code: 'VARIANT_MISMATCH', message: expect.stringContaining("exposed to 'focus'") })]);
    // Earlier in the same batch.
    const within = await a.ingest({ events: [exposure('z1', 'u3', 'control'), exposure('z2', 'u3', 'focus'), exposure('z3', 'u3', 'control')] }, ctx('a2'));
    expect(within).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(within.rejected.map((r) => [r.index, r.code])).toEqual([[1, 'VARIANT_MISMATCH']]);
    // The earliest unfolded exposure wins over a later one (both acknowledged by different replicas, neither folded).
    expect((await b.ingest({ events: [exposure('w1', 'u4', 'focus')] }, ctx('b3'))).accepted).toBe(1);
    expect((await a.ingest({ events: [exposure('w2', 'u4', 'control')] }, ctx('a3'))).rejected.map((r) => r.code)).toEqual(['VARIANT_MISMATCH']);
  });

  it('folds with a runner per replica (PgFoldRunner): catch-up, then both timers at once, every event counted once and its lag observed', async () => {
    const { services, experimentId, log, clock } = await open(2);
    const metrics = [createMetrics(), createMetrics()];
    const runners = replicas.map(
      (r, i) => new PgFoldRunner(new PgFold(r.deps.sql), new PgEventLog(r.deps.sql), clock, createLogger('silent'), metrics[i], { turn: 7, intervalMs: 5 }),
    );
    const lagCount = async (i: number) => (await metrics[i].ingestLag.get()).values.find((x) => x.metricName === 'sealab_ingest_lag_seconds_count')?.value ?? 0;
    const units = Array.from({ length: 20 }, (_, i) => `u${i}`);
    const arm = (i: number) => (i % 2 ? 'focus' : 'control');
    await services[0].ingest({ events: units.map((u, i) => exposure(`x${i}`, u, arm(i))) }, ctx('x'));
    for (let k = 0; k < 4; k++)
      await services[k % 2].ingest({ events: units.map((u, i) => metric(`m${k}-${i}`, u, 'stream-rate', (i + k) % 3 ? 0 : 1)) }, ctx(`m${k}`));
    expect(runners[1].status()).toEqual({ pending: 0, lagSeconds: 0 }); // nothing measured yet
    expect(await runners[1].refreshStatus()).toMatchObject({ pending: 100 });
    expect(await runners[1].catchUpAsync()).toEqual({ pending: 0, lagSeconds: 0 });
    expect(runners[1].foldedHere).toBe(100);
    expect(await lagCount(1)).toBe(100);
    const reads = new EventReads(db.sql);
    const sum = async () => (await reads.aggregates(experimentId, 'stream-rate')).reduce((s, a) => s + a.n, 0);
    expect(await sum()).toBe(20);
    // Both replicas' timers fold what both acknowledge: the watermark row serialises their turns.
    for (const r of runners) r.start();
    for (let k = 4; k < 10; k++) await services[k % 2].ingest({ events: units.map((u, i) => metric(`m${k}-${i}`, u, 'minutes-played', k)) }, ctx(`m${k}`));
    // Wait for the timers (no fixed sleep: poll the backlog, bounded generously for a loaded machine).
    for (let tries = 0; (await log.backlog()).pending > 0 && tries < 3000; tries++) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(runners.map((r) => r.stop()));
    expect((await log.backlog()).pending).toBe(0);
    expect(runners[0].foldedHere + runners[1].foldedHere).toBe(100 + 120);
    expect((await lagCount(0)) + (await lagCount(1))).toBe(220);
    // minutes-played: each unit's sum of k over k = 4..9 (39), counted once whichever replica folded it.
    const minutes = await reads.aggregates(experimentId, 'minutes-played');
    expect(minutes.reduce((s, a) => s + a.n, 0)).toBe(20);
    expect(minutes.reduce((s, a) => s + a.sumX, 0)).toBe(20 * 39);
    // get_metrics on the other replica (MetricsService reading through EventReads on its pool, after its runner's
    // catch-up) counts what the first acknowledged: 10 units per arm, each with minutes 39.
    await services[0].ingest({ events: [metric('late', 'u0', 'minutes-played', 61)] }, ctx('late'));
    const b = replicas[1];
    const results = new MetricsService(
      b.deps,
      b.experiments,
      () => runners[1].status(),
      () => runners[1].catchUpAsync(),
    );
    const report = await results.reportCurrent(experimentId);
    expect(report.fold).toEqual({ pending: 0, lagSeconds: 0 });
    const played = report.metrics.find((m) => m.metricId === 'minutes-played')!;
    expect(played.variants.map((v) => [v.variant, v.units, v.mean])).toEqual([
      ['control', 10, 39 + 61 / 10],
      ['focus', 10, 39],
    ]);
    expect(report.dataUpdatedAt).toBe(START.toISOString());
  });

  it('pgEventSide: exposures served by one replica reach the shared log, and get_metrics on the other counts them with events ingested there', async () => {
    const { experimentId, clock } = await open(2);
    const sides = replicas.map((r) => pgEventSide({ store: r.deps.store, clock, logger: createLogger('silent') }));
    const [a, b] = sides;
    const units = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const arm = (i: number) => (i % 3 ? 'control' : 'focus');
    units.forEach((u, i) => a.exposures.add({ experimentId, unitId: u, variant: arm(i), ts: START.toISOString() }));
    // Not written yet: ingest through a still keeps assignment sticky (the buffer's pending variant).
    const ingestA = new EventService(replicas[0].deps, new AssignmentIndex(), a.exposures, a.ingest);
    expect((await ingestA.ingest({ events: [exposure('c0', 's0', 'control')] }, ctx('a1'))).rejected.map((r) => r.code)).toEqual(['VARIANT_MISMATCH']);
    await a.exposures.flush();
    expect((await a.log.backlog()).pending).toBe(12);
    const ingestB = new EventService(replicas[1].deps, new AssignmentIndex(), b.exposures, b.ingest);
    expect((await ingestB.ingest({ events: units.map((u, i) => metric(`p${i}`, u, 'minutes-played', 10 + i)) }, ctx('b1'))).accepted).toBe(12);
    const report = await new MetricsService(replicas[1].deps, replicas[1].experiments, b.current, b.settle).reportCurrent(experimentId);
    expect(report.fold.pending).toBe(0);
    const played = report.metrics.find((m) => m.metricId === 'minutes-played')!;
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const byArm = (v: string) => units.flatMap((_, i) => (arm(i) === v ? [10 + i] : []));
    expect(played.variants.map((v) => [v.variant, v.units, v.mean])).toEqual([
      ['control', 8, mean(byArm('control'))],
      ['focus', 4, mean(byArm('focus'))],
    ]);
    for (const s of sides) s.exposures.closeSync();
  });
});
