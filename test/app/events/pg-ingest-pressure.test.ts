import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventService } from '../../../src/app/events/event-service.js';
import { pgEventSide } from '../../../src/app/events/pg-event-side.js';
import type { PgFoldOptions } from '../../../src/app/events/pg-fold-runner.js';
import { AssignmentIndex } from '../../../src/app/serving/assignment-index.js';
import { toProblem } from '../../../src/errors.js';
import { problemAnswer } from '../../../src/server/http-app.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics, type Metrics } from '../../../src/ops/metrics.js';
import type { WriteContext } from '../../../src/store/audit-repo.js';
import { EventReads } from '../../../src/store/event-reads.js';
import { PgEventLog } from '../../../src/store/pg/pg-event-log.js';
import { configRepos } from '../../../src/store/sql/config-repos.js';
import type { Sql } from '../../../src/store/sql/sql.js';
import { SimulatedClock } from '../../../src/systems/clock.js';
import { APPROVED, demoConfig, permissivePolicy } from '../../helpers/app.js';
import { type ConfigReplica, configReplica } from '../../helpers/config-deps.js';
import { seedCatalog } from '../../helpers/config-store.js';
import { type EngineDb, ENGINES, engineTitle } from '../../helpers/sql-engines.js';

/**
 * Ingest on PostgreSQL under load from two replicas (ADR 0020 "Ingest back-pressure and first exposures on
 * PostgreSQL"): back-pressure against the fold's backlog (PgFoldRunner.admit / appended), asserted on the log and
 * the watermark, never on time; and contradicting first exposures of one unit sent to both replicas at once, of
 * which exactly one is accepted (the units' advisory locks in the append transaction).
 */
const START = new Date('2026-12-07T09:00:00Z');
const ctx = (requestId: string): WriteContext => ({ actor: 'svc:ingest', interface: 'rest', operation: 'POST /v1/events', requestId });
const KEY = 'home-focus-shelf';
const ARMS = ['control', 'focus'] as const;
const exposure = (id: string, unitId: string, variant: string) => ({ id, type: 'exposure', unitId, experimentId: KEY, variant });
const metric = (id: string, unitId: string, value: number) => ({ id, type: 'metric', unitId, metricId: 'minutes-played', value });

const pg = ENGINES.find((e) => e.name === 'postgres')!;

describe.skipIf(pg.skip)(engineTitle(pg, 'ingest back-pressure and first exposures across replicas'), () => {
  let db: EngineDb;
  let replicas: ConfigReplica[] = [];
  let sides: ReturnType<typeof pgEventSide>[] = [];

  beforeEach(async () => {
    db = await pg.open();
    await seedCatalog(configRepos(db.sql));
  });
  afterEach(async () => {
    for (const s of sides) {
      await s.fold.stop();
      s.exposures.closeSync();
    }
    sides = [];
    for (const r of replicas) r.close();
    replicas = [];
    await db?.close();
  });

  /** Two replicas on two pools, each with its event side (pgEventSide, its runner not started) and EventService; the experiment running. */
  const open = async (fold: PgFoldOptions) => {
    const clock = new SimulatedClock(START);
    replicas = (await db.clients(2)).map((sql, i) => configReplica(sql, { policy: permissivePolicy(), clock, name: `r${i}` }));
    const [a] = replicas;
    const { experiment } = await a.experiments.create({ config: demoConfig({ successMetrics: ['stream-rate', 'minutes-played'] }) }, ctx('create'));
    const v = await a.experiments.validate({ experimentId: experiment.id }, ctx('validate'));
    await a.deploys.deploy({ experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED }, ctx('deploy'));
    const metrics = replicas.map(() => createMetrics({ defaultMetrics: false }));
    sides = replicas.map((r, i) => pgEventSide({ store: r.deps.store, clock, logger: createLogger('silent'), metrics: metrics[i], fold }));
    const services = replicas.map((r, i) => new EventService(r.deps, new AssignmentIndex(), sides[i].exposures, sides[i].ingest));
    return { services, metrics, experimentId: experiment.id, log: new PgEventLog(db.sql) };
  };

  const counter = async (m: Metrics, name: 'eventsRejected' | 'foldDropped', labels: Record<string, string> = {}) =>
    (await m[name].get()).values.find((x) => Object.entries(labels).every(([k, v]) => (x.labels as Record<string, unknown>)[k] === v))?.value ?? 0;

  it('past the bound, a burst is answered only once the backlog is back under it: each request folds, on either replica, and every event is folded once', async () => {
    const BOUND = 30;
    const { services, experimentId, log } = await open({ backlogMax: BOUND, turn: 8, backlogWaitMs: 120_000 });
    const units = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const arm = (i: number) => ARMS[i % 2];
    // Sequential, alternating replicas: after every answer the backlog (counted, not estimated) is within the bound.
    const seen: number[] = [];
    const send = async (k: number, events: unknown[]) => {
      const r = await services[k % 2].ingest({ events }, ctx(`s${k}`));
      expect(r).toMatchObject({ accepted: events.length, rejected: [] });
      seen.push((await log.backlog()).pending);
    };
    for (let b = 0; b < 4; b++)
      await send(
        b,
        units.slice(b * 10, b * 10 + 10).map((u, i) => exposure(`x${b}-${i}`, u, arm(b * 10 + i))),
      );
    for (let b = 0; b < 12; b++)
      await send(
        b + 1,
        units.slice((b % 4) * 10, (b % 4) * 10 + 10).map((u, i) => metric(`m${b}-${i}`, u, b + 1)),
      );
    expect(Math.max(...seen)).toBeLessThanOrEqual(BOUND);
    const folded = await log.foldedSeq();
    // 160 events acknowledged, and the requests folded all but what is left (no runner was started).
    expect(await log.lastSeq()).toBe(160);
    expect(folded).toBe(160 - seen.at(-1)!);
    expect(sides[0].fold.foldedHere + sides[1].fold.foldedHere).toBe(folded);
    expect(sides[0].fold.foldedHere).toBeGreaterThan(0);
    expect(sides[1].fold.foldedHere).toBeGreaterThan(0);
    // The status each replica exports (get_metrics' fold, the gauges) is the position read after its turns; read now, it
    // is the backlog counted (no duplicates here, so no seq gaps).
    for (const s of sides) expect((await s.fold.refreshStatus()).pending).toBe(seen.at(-1));

    // Concurrent: three clients per replica at once. Once all are answered, the last append's check leaves the backlog within the bound.
    await Promise.all(
      Array.from({ length: 6 }, async (_, c) => {
        for (let b = 0; b < 4; b++)
          await services[c % 2].ingest({ events: units.slice(b * 10, b * 10 + 10).map((u, i) => metric(`c${c}-${b}-${i}`, u, 100)) }, ctx(`c${c}-${b}`));
      }),
    );
    expect((await log.backlog()).pending).toBeLessThanOrEqual(BOUND);
    expect(await log.lastSeq()).toBe(160 + 240);

    // Every event counted once, whichever request folded it: each unit has 3 metric events of 1..12 and 6 of 100.
    await sides[1].settle();
    const arms = await new EventReads(db.sql).aggregates(experimentId, 'minutes-played');
    const sumOf = (u: number) => [0, 1, 2].reduce((s, j) => s + (u + j * 4 + 1), 0) + 600;
    const expected = (a: string) => units.reduce((s, _, i) => (arm(i) === a ? s + sumOf(Math.floor(i / 10)) : s), 0);
    expect(arms.map((a) => [a.variant, a.n, a.sumX])).toEqual(ARMS.map((a) => [a, 20, expected(a)]));
  });

  it('a replica that cannot fold (the watermark row held by another) refuses past the deadline with a retryable error and writes nothing; then admits', async () => {
    const BOUND = 30;
    // The wait is generous for a loaded machine: the admission after the release must fold 40 entries within it.
    const { services, metrics, log } = await open({ backlogMax: BOUND, backlogWaitMs: 1500 });
    // A backlog past the bound, appended around ingest (as served exposures or another replica's burst would be).
    const now = START.toISOString();
    await log.append(
      Array.from({ length: 40 }, (_, i) => ({
        key: `m:pre${i}`,
        type: 'metric' as const,
        unitId: `p${i}`,
        ref: 'minutes-played',
        variant: null,
        value: 1,
        props: null,
        ts: now,
      })),
      now,
    );
    // The other replica's turn holds the watermark row (as a stuck or slow turn would) until released.
    let release = () => {};
    const held = holdWatermark(replicas[1].deps.sql, new Promise<void>((r) => (release = r)));
    await held.locked;
    const batch = { events: Array.from({ length: 5 }, (_, i) => metric(`late${i}`, `u${i}`, 2)) };
    const refused = await services[0].ingest(batch, ctx('refused')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { retryAfterSeconds: 2, pending: 40, backlogMax: BOUND } });
    expect((refused as Error).message).toContain('nothing from this batch was stored');
    // Over HTTP: 503 with Retry-After (hono's problem answers and problemAnswer both pass toProblem's headers).
    expect(toProblem(refused)).toMatchObject({ status: 503, headers: { 'retry-after': '2' } });
    expect(problemAnswer(refused, 'refused')).toMatchObject({ status: 503, headers: { 'retry-after': '2', 'content-type': 'application/problem+json' } });
    // Nothing written: no log row, no audit row; the refused events counted.
    expect(await log.lastSeq()).toBe(40);
    expect(await log.batchAudit('refused')).toEqual([]);
    expect(await log.foldedSeq()).toBe(0);
    expect(await counter(metrics[0], 'eventsRejected', { reason: 'backlog_full' })).toBe(5);
    // Released: the same batch is admitted once this replica has folded the backlog down, and answered within the bound.
    release();
    await held.done;
    expect(await services[0].ingest(batch, ctx('admitted'))).toMatchObject({ accepted: 5, duplicates: 0, rejected: [] });
    expect(await log.foldedSeq()).toBeGreaterThanOrEqual(40 - BOUND / 2);
    expect((await log.backlog()).pending).toBeLessThanOrEqual(BOUND);
    expect((await log.batchAudit('admitted'))[0].after).toMatchObject({ received: 5, accepted: 5 });
  });

  it('contradicting first exposures of the same units sent to both replicas at once: exactly one variant accepted per unit, the other rejected, the fold drops nothing', async () => {
    const { services, metrics, experimentId } = await open({});
    const ROUNDS = 25;
    const UNITS = 16;
    const accepted = new Map<string, string>();
    for (let r = 0; r < ROUNDS; r++) {
      const units = Array.from({ length: UNITS }, (_, i) => `r${r}-u${i}`);
      // Replica a sends each unit one arm, replica b the other, in reverse order (the locks are taken sorted: no deadlock).
      const batches = [0, 1].map((k) => {
        const events = units.map((u, i) => exposure(`k${k}-${u}`, u, ARMS[(i + k) % 2]));
        return k ? events.reverse() : events;
      });
      const answers = await Promise.all(batches.map((events, k) => services[k].ingest({ events }, ctx(`race${r}-${k}`))));
      expect(answers[0].accepted + answers[1].accepted).toBe(UNITS);
      for (const [k, a] of answers.entries()) {
        expect(a.duplicates).toBe(0);
        for (const rej of a.rejected) {
          expect(rej.code).toBe('VARIANT_MISMATCH');
          const sent = batches[k][rej.index];
          expect(rej.message).toContain(`already exposed to '${ARMS.find((v) => v !== sent.variant)}'`);
        }
        const refused = new Set(a.rejected.map((x) => x.index));
        batches[k].forEach((e, i) => {
          if (refused.has(i)) return;
          expect(accepted.has(e.unitId)).toBe(false);
          accepted.set(e.unitId, e.variant);
        });
      }
    }
    expect(accepted.size).toBe(ROUNDS * UNITS);
    // Folded: every unit exposed once, to the variant accepted, nothing dropped.
    await sides[0].settle();
    expect(await counter(metrics[0], 'foldDropped')).toBe(0);
    const rows = await db.sql.all<{ unit_id: string; variant: string }>('SELECT unit_id, variant FROM exposures WHERE experiment_id = ?', [experimentId]);
    expect(new Map(rows.map((x) => [x.unit_id, x.variant]))).toEqual(accepted);
  });
});

/** Holds fold_state's row in a transaction on `sql` until `until` settles, as a replica's turn in progress does. */
function holdWatermark(sql: Sql, until: Promise<void>): { locked: Promise<void>; done: Promise<void> } {
  let locked = () => {};
  const isLocked = new Promise<void>((r) => (locked = r));
  const done = sql.tx(async (tx) => {
    await tx.get('SELECT folded_seq FROM fold_state WHERE id = 1 FOR UPDATE');
    locked();
    await until;
  });
  return { locked: isLocked, done };
}
