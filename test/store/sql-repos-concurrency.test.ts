import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentConfig } from '../../src/domain/schemas.js';
import { AppError, toAppError } from '../../src/errors.js';
import { configRepos } from '../../src/store/sql/config-repos.js';
import type { Sql } from '../../src/store/sql/sql.js';
import { demoConfig } from '../helpers/app.js';
import { type EngineDb, ENGINES, engineTitle } from '../helpers/sql-engines.js';
import { seedCatalog } from '../helpers/config-store.js';

/**
 * The races ADR 0020 names, through the repositories, from several clients at once: on PostgreSQL several pools
 * (replicas), on SQLite the one connection (one writer per process) — the outcome must be the same.
 */
const T0 = '2026-12-07T10:00:00.000Z';

/** What every caller got: its value, or its error's code. */
async function settle<T>(tries: Promise<T>[]): Promise<{ ok: T[]; codes: string[] }> {
  const results = await Promise.allSettled(tries);
  return {
    ok: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    codes: results.flatMap((r) => (r.status === 'rejected' ? [toAppError(r.reason).code] : [])),
  };
}

/** Idempotent create as a use case runs it: replay or refuse under the key, else write and remember, in one SERIALIZABLE transaction. */
function createOnce(sql: Sql, key: string, requestHash: string, id: string) {
  return sql.tx(
    async (tx) => {
      const r = configRepos(tx);
      const prior = await r.idempotency.replay(
        'create_experiment',
        key,
        requestHash,
        () => new AppError('CONFLICT', `key '${key}' was used for another request`, 'new key'),
      );
      if (prior) return { id: (prior as { id: string }).id, replayed: true };
      await r.experiments.insert(id, demoConfig({ key: id }) as unknown as ExperimentConfig, T0);
      await r.idempotency.save('create_experiment', key, requestHash, { id }, T0);
      return { id, replayed: false };
    },
    { isolation: 'serializable' },
  );
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'config writers racing'), () => {
    let db: EngineDb;
    let clients: Sql[];
    beforeEach(async () => {
      db = await engine.open();
      await seedCatalog(configRepos(db.sql));
      clients = await db.clients(3);
    });
    afterEach(async () => {
      await db?.close();
    });

    it('writers racing from the same experiment version: one wins, every other gets CONFLICT with the current version', async () => {
      await configRepos(db.sql).experiments.insert('exp_a', demoConfig({ key: 'a' }) as unknown as ExperimentConfig, T0);
      const tries = clients.flatMap((sql, c) =>
        [0, 1].map((k) => sql.tx((tx) => configRepos(tx).experiments.update('exp_a', 1, { status: 'running', buckets: [[c, c + k]] }, T0))),
      );
      const results = await Promise.allSettled(tries);
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(ok).toHaveLength(1);
      expect(errors).toHaveLength(5);
      for (const e of errors) expect(toAppError(e)).toMatchObject({ code: 'CONFLICT', details: { currentVersion: 2 } });
      const stored = await configRepos(db.sql).experiments.get('exp_a');
      expect(stored).toMatchObject({ version: 2, status: 'running', buckets: ok[0].buckets });
    });

    it('one idempotency key, different requests at once: one creates, the others get CONFLICT; the same request replays', async () => {
      const { ok, codes } = await settle(clients.flatMap((sql, c) => [0, 1].map((k) => createOnce(sql, 'key-1', `hash-${c}-${k}`, `exp_${c}_${k}`))));
      expect(ok).toEqual([expect.objectContaining({ replayed: false })]);
      expect(codes).toEqual(Array(5).fill('CONFLICT'));
      expect((await configRepos(db.sql).experiments.list()).map((e) => e.id)).toEqual([ok[0].id]);
      // The same request under one key, sent by every client at once: one experiment, every answer names it.
      const same = await settle(clients.flatMap((sql, c) => [0, 1].map((k) => createOnce(sql, 'key-2', 'same-hash', `exp_same_${c}_${k}`))));
      expect(same.codes).toEqual([]);
      expect(new Set(same.ok.map((r) => r.id)).size).toBe(1);
      expect(same.ok.filter((r) => !r.replayed)).toHaveLength(1);
      expect(await configRepos(db.sql).experiments.list()).toHaveLength(2);
    });

    it('concurrent decisions on one approval request: exactly one moves it', async () => {
      const r = configRepos(db.sql);
      await r.experiments.insert('exp_a', demoConfig({ key: 'a' }) as unknown as ExperimentConfig, T0);
      await r.approvals.insert({
        id: 'apr_1',
        experimentId: 'exp_a',
        step: 'deploy',
        args: {},
        argsHash: 'h',
        experimentVersion: 1,
        planHash: 'p',
        summary: 's',
        policyReason: null,
        note: null,
        requester: 'user:ana',
        requesterPrincipal: 'user:ana',
        createdAt: T0,
        expiresAt: '2026-12-08T10:00:00.000Z',
      });
      const verdicts = clients.flatMap((sql, c) =>
        (['approved', 'rejected'] as const).map(async (to) => ({
          to,
          by: `user:${c}`,
          won: await sql.tx((tx) => configRepos(tx).approvals.decide('apr_1', 'pending', to, { decidedBy: `user:${c}`, at: T0 })),
        })),
      );
      const winners = (await Promise.all(verdicts)).filter((v) => v.won);
      expect(winners).toHaveLength(1);
      expect(await r.approvals.get('apr_1', T0)).toMatchObject({ status: winners[0].to, decidedBy: winners[0].by });
    });

    it('replicas recovering one lapsed operation: exactly one takes it over; concurrent step appends are all kept', async () => {
      const r = configRepos(db.sql);
      const op = { kind: 'deploy', idempotencyKey: null, requestHash: 'h', experimentId: 'exp_a', payload: {}, owner: 'dead', leaseUntil: T0 };
      await r.operations.start({ ...op, id: 'op_1' }, T0);
      const later = '2026-12-07T10:05:00.000Z';
      const claims = clients.flatMap((sql, c) =>
        [0, 1, 2].map((k) => configRepos(sql).operations.takeOver('op_1', `gw-${c}-${k}`, later, '2026-12-07T10:10:00.000Z', false)),
      );
      expect((await Promise.all(claims)).filter(Boolean)).toHaveLength(1);
      await Promise.all(clients.flatMap((sql, c) => [0, 1, 2].map((k) => configRepos(sql).operations.stepDone('op_1', `s${c}${k}`, later))));
      expect((await r.operations.get('op_1'))?.steps.sort()).toEqual(['s00', 's01', 's02', 's10', 's11', 's12', 's20', 's21', 's22']);
    });

    it('catalog applies racing for the next version number get distinct numbers (SERIALIZABLE, retried)', async () => {
      const versions = await Promise.all(
        clients.flatMap((sql, c) =>
          [0, 1].map((k) =>
            sql.tx((tx) => configRepos(tx).catalog.addVersion({ appliedAt: T0, actor: `a${c}${k}`, digest: 'd', summary: {} }), {
              isolation: 'serializable',
              retries: 50,
            }),
          ),
        ),
      );
      expect(versions.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });
}
