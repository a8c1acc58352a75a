import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Policy } from '../../src/domain/policy.js';
import { toAppError } from '../../src/errors.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { configRepos } from '../../src/store/sql/config-repos.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { APPROVED, demoConfig, permissivePolicy } from '../helpers/app.js';
import { configReplica, type ConfigReplica } from '../helpers/config-deps.js';
import { seedCatalog } from '../helpers/config-store.js';
import { type EngineDb, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * The configuration use cases (create, validate, deploy, approvals) through the async store, on SQLite and on a real
 * PostgreSQL, with several replicas racing where ADR 0020 says they may (issue 17). On PostgreSQL each replica has its
 * own pool; on SQLite they share the process's one connection, as gateways on one file share its write lock.
 */
const AGENT: WriteContext = { actor: 'mcp:agent', interface: 'mcp-http', operation: 'test', requestId: 'r1' };
const START = new Date('2026-12-07T09:00:00Z');
const approvalPolicy = (): Policy => permissivePolicy({ confirmation: { deploy: 'approval', rampAbovePercent: 100, stop: 'approval', ship: false } });

/** What every caller got: its value, or its error's code. */
async function settle<T>(tries: Promise<T>[]): Promise<{ ok: T[]; codes: string[] }> {
  const results = await Promise.allSettled(tries);
  return {
    ok: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    codes: results.flatMap((r) => (r.status === 'rejected' ? [toAppError(r.reason).code] : [])),
  };
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'config use cases'), () => {
    let db: EngineDb;
    let replicas: ConfigReplica[];
    const open = async (policy: Policy = permissivePolicy(), n = 3) => {
      const clock = new SimulatedClock(START);
      replicas = (await db.clients(n)).map((sql, i) => configReplica(sql, { policy, clock, name: `r${i}` }));
      return replicas;
    };
    const validated = async (r: ConfigReplica, key = 'focus') => {
      const { experiment } = await r.experiments.create({ config: demoConfig({ key }) }, AGENT);
      const v = await r.experiments.validate({ experimentId: experiment.id }, AGENT);
      expect(v.valid).toBe(true);
      return { experimentId: experiment.id, version: experiment.version, planHash: v.planHash! };
    };

    beforeEach(async () => {
      db = await engine.open();
      await seedCatalog(configRepos(db.sql));
      replicas = [];
    });
    afterEach(async () => {
      for (const r of replicas) r.close();
      await db?.close();
    });

    it('creates, validates and deploys; a stale version and a foreign plan hash are refused with nothing written', async () => {
      const [a] = await open();
      const d = await validated(a);
      const stale = await a.deploys.deploy({ ...d, version: 9, confirmation: APPROVED }, AGENT).catch(toAppError);
      expect(stale).toMatchObject({ code: 'CONFLICT', details: { currentVersion: 1 } });
      const foreign = await a.deploys.deploy({ ...d, planHash: 'f'.repeat(64), confirmation: APPROVED }, AGENT).catch(toAppError);
      expect(foreign).toMatchObject({ code: 'PRECONDITION_FAILED', details: { reason: 'unknown_plan' } });
      const r = configRepos(db.sql);
      expect((await r.experiments.get(d.experimentId))?.status).toBe('draft');
      const out = await a.deploys.deploy({ ...d, confirmation: APPROVED }, AGENT);
      expect(out).toMatchObject({ applied: true, replayed: false, experiment: { status: 'running', version: 2, allocationPercent: 10 } });
      expect((await r.experiments.get(d.experimentId))?.buckets).toEqual(out.experiment.buckets);
      // The audit trail of the three writes, newest first.
      expect((await r.audit.forEntity('experiment', d.experimentId)).map((e) => (e.after as { status?: string }).status ?? 'validation')).toEqual([
        'running',
        'validation',
        'draft',
      ]);
      if (engine.name === 'postgres') expect(await db.sql.get('SELECT revision FROM config_revision')).toEqual({ revision: 2 }); // create + deploy
    });

    it('two replicas deploying the same experiment version at once: one starts it, the other gets CONFLICT', async () => {
      const [a, b, c] = await open();
      const d = await validated(a);
      const { ok, codes } = await settle([a, b, c].map((r) => r.deploys.deploy({ ...d, confirmation: APPROVED }, AGENT)));
      expect(ok).toHaveLength(1);
      expect(codes).toEqual(['CONFLICT', 'CONFLICT']);
      const stored = await configRepos(db.sql).experiments.get(d.experimentId);
      expect(stored).toMatchObject({ status: 'running', version: 2, buckets: ok[0].experiment.buckets });
    });

    it('an idempotency key reused with another config is a CONFLICT, also when replicas race on it; the same config replays', async () => {
      const [a, b, c] = await open();
      const first = await a.experiments.create({ config: demoConfig({ key: 'k-first' }), idempotencyKey: 'idem-1' }, AGENT);
      const again = await b.experiments.create({ config: demoConfig({ key: 'k-first' }), idempotencyKey: 'idem-1' }, AGENT);
      expect(again).toEqual({ experiment: first.experiment, replayed: true });
      await expect(c.experiments.create({ config: demoConfig({ key: 'k-other' }), idempotencyKey: 'idem-1' }, AGENT)).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      // Three replicas, one new key, three different configs at once: one experiment, two CONFLICTs.
      const raced = await settle(
        [a, b, c].map((r, i) => r.experiments.create({ config: demoConfig({ key: `k-race-${i}` }), idempotencyKey: 'idem-2' }, AGENT)),
      );
      expect(raced.ok).toHaveLength(1);
      expect(raced.codes).toEqual(['CONFLICT', 'CONFLICT']);
      expect((await configRepos(db.sql).experiments.list()).map((e) => e.key).sort()).toEqual(['k-first', raced.ok[0].experiment.key]);
      // A deploy key reused for a different deploy.
      const d = await validated(a, 'k-deploy');
      await a.deploys.deploy({ ...d, idempotencyKey: 'dep-1', confirmation: APPROVED }, AGENT);
      const replay = await b.deploys.deploy({ ...d, idempotencyKey: 'dep-1', confirmation: APPROVED }, AGENT);
      expect(replay).toMatchObject({ replayed: true, applied: true });
      await expect(b.deploys.deploy({ ...d, allocationPercent: 20, idempotencyKey: 'dep-1', confirmation: APPROVED }, AGENT)).rejects.toMatchObject({
        code: 'CONFLICT',
      });
    });

    it('held for approval: replicas asking at once make one request; concurrent approvers: one runs the step, the rest get CONFLICT', async () => {
      const [a, b, c] = await open(approvalPolicy());
      const d = await validated(a);
      const asks = await Promise.all([a, b, c].map((r) => r.approvals.request({ step: 'deploy', args: d }, AGENT)));
      expect(new Set(asks.map((x) => x.id)).size).toBe(1);
      const id = asks[0].id;
      const approvers = [a, b, c].map((r, i) => r.approvals.approve(id, { ...AGENT, actor: `rest:approver-${i}`, interface: 'rest' }, 'looks right'));
      const { ok, codes } = await settle(approvers);
      expect(ok).toHaveLength(1);
      expect(codes).toEqual(['CONFLICT', 'CONFLICT']);
      expect(ok[0]).toMatchObject({ approval: { status: 'applied' }, experiment: { status: 'running', version: 2 } });
      const stored = await a.approvals.get(id);
      expect(stored).toMatchObject({ status: 'applied', decidedBy: ok[0].approval.decidedBy });
      // The step ran as the requester, through the saga: its operation is logged once, the embedded systems hold it.
      const ops = await configRepos(db.sql).operations.list(d.experimentId);
      expect(ops.map((o) => [o.kind, o.status])).toEqual([['deploy', 'completed']]);
      expect((await db.sql.get<{ status: string }>('SELECT status FROM backend_allocations WHERE experiment_id = ?', [d.experimentId]))?.status).toBe(
        'running',
      );
      // A rejected request on a new version stays rejected; approving it afterwards is a CONFLICT.
      const paused = await a.saga.pause({ experimentId: d.experimentId, version: 2, reason: 'look' }, AGENT);
      expect(paused).toMatchObject({ status: 'paused', version: 3 });
      const ask = await b.approvals.request({ step: 'stop', args: { experimentId: d.experimentId, reason: 'done' } }, AGENT);
      await c.approvals.reject(ask.id, { ...AGENT, actor: 'rest:approver-2', interface: 'rest' }, 'not yet');
      await expect(a.approvals.approve(ask.id, { ...AGENT, actor: 'rest:approver-1', interface: 'rest' })).rejects.toMatchObject({ code: 'CONFLICT' });
    });
  });
}
