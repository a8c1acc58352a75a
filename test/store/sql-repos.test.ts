import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentConfig } from '../../src/domain/schemas.js';
import { toAppError } from '../../src/errors.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { bumpRevision } from '../../src/store/pg/revision.js';
import { configRepos, type ConfigRepos } from '../../src/store/sql/config-repos.js';
import { UniqueViolation } from '../../src/store/sql/sql-errors.js';
import { demoConfig } from '../helpers/app.js';
import { seedCatalog } from '../helpers/config-store.js';
import { DEMO_CONTENT, DEMO_METRICS, DEMO_SURFACES } from '../helpers/demo-catalog.js';
import { type EngineDb, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * The configuration store's repositories over the async seam (ADR 0020, conversion part 1): the same cases, the
 * same answers, on SQLite and on a real PostgreSQL. Races between writers are in sql-repos-concurrency.test.ts.
 */
const T0 = '2026-12-07T10:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();
const ctx: WriteContext = { actor: 'user:ana', interface: 'rest', operation: 'test', requestId: 'req-1' };
const config = (over: Record<string, unknown> = {}) => demoConfig(over) as unknown as ExperimentConfig;

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'the config repositories'), () => {
    let db: EngineDb;
    let r: ConfigRepos;
    beforeEach(async () => {
      db = await engine.open();
      r = configRepos(db.sql);
    });
    afterEach(async () => {
      await db?.close();
    });

    it('catalog: documents by id, ids in byte order, removal, and numbered versions', async () => {
      expect(await r.catalog.isEmpty()).toBe(true);
      await seedCatalog(r);
      expect(await r.catalog.isEmpty()).toBe(false);
      expect((await r.catalog.surfaces()).map((s) => s.id)).toEqual(DEMO_SURFACES.map((s) => s.id).sort());
      expect(await r.catalog.surface('home')).toEqual(DEMO_SURFACES.find((s) => s.id === 'home'));
      expect(await r.catalog.metric('stream-rate')).toEqual(DEMO_METRICS.find((m) => m.id === 'stream-rate'));
      expect(await r.catalog.contentItem('nope')).toBeUndefined();
      const item = DEMO_CONTENT[0];
      await r.catalog.upsertContent({ ...item, title: 'Renamed' } as typeof item);
      expect((await r.catalog.contentItem(item.id)) as unknown).toMatchObject({ title: 'Renamed' });
      await r.catalog.remove('content_items', item.id);
      expect(await r.catalog.ids('content_items')).toEqual(
        DEMO_CONTENT.map((c) => c.id)
          .filter((id) => id !== item.id)
          .sort(),
      );
      expect(await r.catalog.version()).toBeNull();
      expect(await r.catalog.addVersion({ appliedAt: at(0), actor: 'a', digest: 'd1', summary: { added: 3 } })).toBe(1);
      expect(await r.catalog.addVersion({ appliedAt: at(1), actor: 'b', digest: 'd2', summary: {} })).toBe(2);
      expect(await r.catalog.version()).toEqual({ version: 2, appliedAt: at(1), actor: 'b', digest: 'd2', summary: {} });
    });

    it('experiments: insert, read by id and key, filter, versioned update, ramp state, conclusion and ships', async () => {
      await seedCatalog(r);
      const a = await r.experiments.insert('exp_a', config({ key: 'a' }), at(0));
      expect(a).toMatchObject({ id: 'exp_a', key: 'a', status: 'draft', version: 1, buckets: [], createdAt: at(0), startedAt: null });
      await r.experiments.insert('exp_b', config({ key: 'b', surfaceId: 'search' }), at(1));
      expect((await r.experiments.byKey('b'))?.id).toBe('exp_b');
      expect((await r.experiments.list({ surfaceId: 'home' })).map((e) => e.id)).toEqual(['exp_a']);
      const running = await r.experiments.update('exp_a', 1, { status: 'running', buckets: [[0, 99]], startedAt: at(2) }, at(2));
      expect(running).toMatchObject({ status: 'running', version: 2, buckets: [[0, 99]], startedAt: at(2), updatedAt: at(2) });
      expect((await r.experiments.list({ status: ['running', 'paused'] })).map((e) => e.id)).toEqual(['exp_a']);
      // A stale version is a CONFLICT that names the current one; nothing changes.
      const stale = await r.experiments.update('exp_a', 1, { status: 'paused' }, at(3)).catch((e: unknown) => toAppError(e));
      expect(stale).toMatchObject({ code: 'CONFLICT', details: { currentVersion: 2 } });
      expect((await r.experiments.get('exp_a'))?.status).toBe('running');
      await expect(r.experiments.update('nope', 1, {}, at(3))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // A duplicate key is the unique index's CONFLICT.
      await expect(r.experiments.insert('exp_c', config({ key: 'a' }), at(3))).rejects.toBeInstanceOf(UniqueViolation);

      expect(await r.experiments.rampState('exp_a')).toEqual({ stageStartedAt: null, hold: null });
      await r.experiments.setStageStartedAt('exp_a', at(4));
      await r.experiments.setRampHold('exp_a', { reason: 'look first', actor: 'ana', at: at(4) });
      expect(await r.experiments.rampState('exp_a')).toEqual({ stageStartedAt: at(4), hold: { reason: 'look first', actor: 'ana', at: at(4) } });

      await r.experiments.update('exp_a', 2, { status: 'concluded', outcome: 'shipped', endedAt: at(5) }, at(5));
      const conclusion = { outcome: 'shipped' as const, variant: 'focus', decidedAt: at(5), actor: 'ana', reason: 'won', decision: null, revert: null };
      await r.experiments.setConclusion('exp_a', conclusion);
      expect(await r.experiments.conclusion('exp_a')).toEqual(conclusion);
      expect((await r.experiments.shipsOn('home')).map((s) => [s.experiment.id, s.conclusion.variant])).toEqual([['exp_a', 'focus']]);
    });

    it('idempotency: the first outcome is kept; the same key again is a CONFLICT from the key', async () => {
      expect(await r.idempotency.find('create_experiment', 'k1')).toBeUndefined();
      await r.idempotency.save('create_experiment', 'k1', 'hash-1', { id: 'exp_1' }, at(0));
      expect(await r.idempotency.find('create_experiment', 'k1')).toEqual({ requestHash: 'hash-1', response: { id: 'exp_1' } });
      expect(await r.idempotency.find('deploy', 'k1')).toBeUndefined();
      const err = await r.idempotency.save('create_experiment', 'k1', 'hash-2', { id: 'exp_2' }, at(1)).catch((e: unknown) => e);
      expect(toAppError(err).code).toBe('CONFLICT');
      expect(await r.idempotency.find('create_experiment', 'k1')).toEqual({ requestHash: 'hash-1', response: { id: 'exp_1' } });
    });

    it('audit and validations: rows newest first, the first actor, verdicts by config and by plan hash', async () => {
      await seedCatalog(r);
      await r.experiments.insert('exp_a', config({ key: 'a' }), at(0));
      await r.audit.record({ ...ctx, confirmation: { action: 'start', via: 'argument', reason: 'ok' } }, 'experiment', 'exp_a', null, { v: 1 }, at(0));
      await r.audit.record({ ...ctx, actor: 'user:bo', onBehalfOf: 'team' }, 'experiment', 'exp_a', { v: 1 }, { v: 2 }, at(1));
      const rows = await r.audit.forEntity('experiment', 'exp_a');
      expect(rows.map((e) => [e.actor, e.before, e.after, e.onBehalfOf])).toEqual([
        ['user:bo', { v: 1 }, { v: 2 }, 'team'],
        ['user:ana', null, { v: 1 }, null],
      ]);
      expect(rows[1].confirmation).toEqual({ action: 'start', via: 'argument', reason: 'ok' });
      expect(await r.audit.firstActor('experiment', 'exp_a')).toBe('user:ana');
      expect(await r.audit.count()).toBe(2);

      const v = { experimentId: 'exp_a', version: 1, configHash: 'c1', planHash: 'p1', policyHash: 'pol', valid: true, findings: [], createdAt: at(0) };
      await r.validations.record(v);
      await r.validations.record({ ...v, version: 2, planHash: 'p2', valid: false, createdAt: at(1) });
      expect(await r.validations.latestForConfig('exp_a', 'c1')).toMatchObject({ version: 2, planHash: 'p2', valid: false });
      expect(await r.validations.byPlanHash('exp_a', 'p1')).toEqual(v);
      expect(await r.validations.byPlanHash('exp_a', 'p9')).toBeUndefined();
    });

    it('approvals: effective status with expiry, filters, the open request, and decisions out of one status', async () => {
      await seedCatalog(r);
      await r.experiments.insert('exp_a', config({ key: 'a' }), at(0));
      const base = {
        experimentId: 'exp_a',
        step: 'deploy' as const,
        args: { experimentId: 'exp_a', version: 1 },
        argsHash: 'h1',
        experimentVersion: 1,
        planHash: 'p1',
        summary: 'start a at 10%',
        policyReason: 'approval required',
        note: null,
        requester: 'user:ana',
        requesterPrincipal: 'user:ana',
      };
      await r.approvals.insert({ ...base, id: 'apr_1', createdAt: at(0), expiresAt: at(60) });
      await r.approvals.insert({ ...base, id: 'apr_2', argsHash: 'h2', createdAt: at(1), expiresAt: at(5) });
      expect((await r.approvals.get('apr_2', at(10)))?.status).toBe('expired');
      expect((await r.approvals.list(at(10), { status: 'pending' })).map((a) => a.id)).toEqual(['apr_1']);
      expect((await r.approvals.list(at(10), { status: 'expired', experimentId: 'exp_a' })).map((a) => a.id)).toEqual(['apr_2']);
      expect((await r.approvals.list(at(10))).map((a) => a.id)).toEqual(['apr_2', 'apr_1']);
      expect((await r.approvals.list(at(10), { limit: 1 })).map((a) => a.id)).toEqual(['apr_2']);
      expect((await r.approvals.findOpen('exp_a', 'deploy', 'h1', 'user:ana', at(10)))?.id).toBe('apr_1');
      expect(await r.approvals.findOpen('exp_a', 'deploy', 'h2', 'user:ana', at(10))).toBeUndefined();

      expect(await r.approvals.decide('apr_1', 'pending', 'approved', { decidedBy: 'user:bo', reason: 'fine', at: at(11) })).toBe(true);
      expect(await r.approvals.decide('apr_1', 'pending', 'rejected', { decidedBy: 'user:cy', at: at(12) })).toBe(false);
      expect(await r.approvals.decide('apr_1', 'approved', 'applied', { at: at(13), result: { version: 2 } })).toBe(true);
      expect(await r.approvals.get('apr_1', at(14))).toMatchObject({
        status: 'applied',
        decidedBy: 'user:bo',
        decisionReason: 'fine',
        decidedAt: at(11),
        result: { version: 2 },
        error: null,
      });
      expect((await r.approvals.list(at(14), { status: 'applied' })).map((a) => a.id)).toEqual(['apr_1']);
    });

    it('operations: the log, steps appended in order, claims, unfinished ones, and step timings', async () => {
      const op = { kind: 'deploy', idempotencyKey: 'k', requestHash: 'h', experimentId: 'exp_a', payload: { forward: ['assign'] } };
      await r.operations.start({ ...op, id: 'op_1', owner: 'gw-1', leaseUntil: at(1) }, at(0));
      await r.operations.start({ ...op, id: 'op_2' }, at(0));
      await r.operations.attempt('op_1', 'assign', at(0));
      expect((await r.operations.get('op_1'))?.attempting).toBe('assign');
      for (const step of ['assign', 'render', 'commit']) await r.operations.stepDone('op_1', step, at(0));
      expect(await r.operations.get('op_1')).toMatchObject({ steps: ['assign', 'render', 'commit'], attempting: null, status: 'pending' });
      // Claims: the owner renews; another takes over only once the claim lapsed (or the owner is known dead).
      expect(await r.operations.renew('op_1', 'gw-1', at(2))).toBe(true);
      expect(await r.operations.renew('op_1', 'gw-2', at(3))).toBe(false);
      expect(await r.operations.takeOver('op_1', 'gw-2', at(1), at(5), false)).toBe(false);
      expect(await r.operations.takeOver('op_1', 'gw-2', at(3), at(5), false)).toBe(true);
      expect(await r.operations.takeOver('op_1', 'gw-3', at(4), at(6), true)).toBe(true);
      expect((await r.operations.get('op_1'))?.owner).toBe('gw-3');
      await r.operations.setStatus('op_1', 'completed', at(5), { outcome: { ok: true } });
      await r.operations.setStatus('op_1', 'completed', at(6)); // COALESCE keeps the outcome
      expect(await r.operations.get('op_1')).toMatchObject({ status: 'completed', outcome: { ok: true }, error: null, updatedAt: at(6) });
      expect(await r.operations.takeOver('op_1', 'gw-2', at(9), at(10), true)).toBe(false); // finished: nobody claims it
      expect((await r.operations.unfinished()).map((o) => o.id)).toEqual(['op_2']);
      expect((await r.operations.list('exp_a')).map((o) => o.id).sort()).toEqual(['op_1', 'op_2']);
      expect((await r.operations.byKey('deploy', 'k'))?.kind).toBe('deploy');

      const timing = { opId: 'op_1', step: 'assign', phase: 'call' as const, system: 'backend', startedAt: at(0), durationMs: 12.5, retries: 1, outcome: 'ok' };
      await r.operations.timings.record(timing);
      await r.operations.timings.record({ ...timing, phase: 'commit', system: null, startedAt: at(1), durationMs: 0.25, retries: 0 });
      expect(await r.operations.timings.since(at(-1))).toEqual([
        { ...timing, kind: 'deploy', experimentId: 'exp_a', status: 'completed' },
        {
          ...timing,
          phase: 'commit',
          system: null,
          startedAt: at(1),
          durationMs: 0.25,
          retries: 0,
          kind: 'deploy',
          experimentId: 'exp_a',
          status: 'completed',
        },
      ]);
      expect(await r.operations.timings.since(at(1))).toEqual([]);
    });

    it('content sync: the state row, and a catalog made equal to upstream except items in use', async () => {
      expect(await r.contentSync.state()).toBeUndefined();
      await r.contentSync.saveState({ sourceUrl: 'http://cd', etag: 'e1', syncedAt: at(0) });
      await r.contentSync.saveState({ sourceUrl: 'http://cd', etag: 'e2', syncedAt: at(1) });
      expect(await r.contentSync.state()).toEqual({ sourceUrl: 'http://cd', etag: 'e2', syncedAt: at(1) });
      const [a, b, c] = DEMO_CONTENT;
      for (const item of [a, b, c]) await r.catalog.upsertContent(item);
      const changed = { ...b, title: 'New title' } as typeof b;
      // Upstream lists b (changed) only: a is in use (kept, flagged), c is not (removed).
      const first = await db.sql.tx((tx) => configRepos(tx).contentSync.replaceWith([changed], new Set([a.id]), at(2)));
      expect(first).toEqual({ added: [], removed: [c.id], changed: [b.id], missingUpstream: [a.id], restored: [] });
      expect(await r.contentSync.missingUpstream()).toEqual(new Map([[a.id, at(2)]]));
      const second = await r.contentSync.replaceWith([a, changed, c], new Set(), at(3));
      expect(second).toEqual({ added: [c.id], removed: [], changed: [], missingUpstream: [], restored: [a.id] });
      expect(await r.contentSync.missingUpstream()).toEqual(new Map());
    });

    it('bumps the configuration revision inside a write on PostgreSQL; a no-op on SQLite', async () => {
      const bumped = await db.sql.tx(async (tx) => [await bumpRevision(tx), await bumpRevision(tx)]);
      expect(bumped).toEqual(engine.name === 'postgres' ? [1, 2] : [null, null]);
      // A rolled-back write takes its bump with it.
      await expect(
        db.sql.tx(async (tx) => {
          await bumpRevision(tx);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      if (engine.name === 'postgres') expect(await db.sql.get('SELECT revision FROM config_revision')).toEqual({ revision: 2 });
    });
  });
}
