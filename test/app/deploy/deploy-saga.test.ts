import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createContainer, type SqliteContainer } from '../../../src/container.js';
import { DeploySaga } from '../../../src/app/deploy/deploy-saga.js';
import { AppError } from '../../../src/errors.js';
import type { WriteContext } from '../../../src/app/context.js';
import type { BackendWrite, ContentDelivery, ContentWrite, ExperimentBackend } from '../../../src/systems/contracts.js';
import type { EmbeddedBackend, EmbeddedContent } from '../../../src/systems/embedded.js';
import { APPROVED, demoConfig, permissivePolicy } from '../../helpers/app.js';

const ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };
/** As the remote client reports a refused connection: the write certainly did not land. */
const down = () => new AppError('UPSTREAM_UNAVAILABLE', 'down', 'retry', { delivered: false });

/** A remote system stand-in over another sealab's embedded state, with faults per step. */
class Flaky<W extends { step: string }, S> {
  fault: (step: string) => 'ok' | 'fail' | 'apply-then-hang' = () => 'ok';
  /** Holds every write until it resolves (a slow system). */
  gate: Promise<void> | null = null;
  /** Holds the writes of one step until it resolves (a process frozen mid-step). */
  hold: (step: string) => Promise<void> | null = () => null;
  writes: string[] = [];
  constructor(private readonly inner: { putSync(id: string, w: W): { state: S; replayed: boolean }; getSync(id: string): S | null; listSync(): S[] }) {}
  async put(id: string, w: W) {
    if (this.gate) await this.gate;
    await this.hold(w.step);
    const f = this.fault(w.step);
    if (f === 'fail') throw down();
    const r = this.inner.putSync(id, w);
    this.writes.push(w.step);
    if (f === 'apply-then-hang') return new Promise<never>(() => undefined);
    return r;
  }
  async get(id: string) {
    return this.inner.getSync(id);
  }
  async list() {
    return this.inner.listSync();
  }
}

let app: SqliteContainer;
let remote: SqliteContainer;
let backend: Flaky<BackendWrite, ReturnType<EmbeddedBackend['getSync']> & object>;
let content: Flaky<ContentWrite, ReturnType<EmbeddedContent['getSync']> & object>;
let saga: DeploySaga;

const remoteSaga = () =>
  new DeploySaga(
    app.deps,
    app.experiments,
    app.deploys,
    app.stops,
    { embedded: false, backend: { kind: 'remote', ...bind(backend) } as ExperimentBackend, content: { kind: 'remote', ...bind(content) } as ContentDelivery },
    app.deps.store.operations,
  );
const bind = (f: Flaky<any, any>) => ({ put: f.put.bind(f), get: f.get.bind(f), list: f.list.bind(f) });

beforeEach(async () => {
  app = await createContainer({ dbFile: ':memory:', policy: permissivePolicy() });
  remote = await createContainer({ dbFile: ':memory:', policy: permissivePolicy() });
  backend = new Flaky(remote.localSystems.backend);
  content = new Flaky(remote.localSystems.content);
});
afterEach(() => {
  app.close();
  remote.close();
});

async function validated(key = 'saga-exp') {
  const { experiment } = await app.experiments.create({ config: demoConfig({ key, rampPlan: { stages: [20] } }) }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  return { experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED };
}

/** The invariant: the backend runs exactly what the surfaces serve, and what the gateway's record says is running. */
async function agreement(systems: { backend: EmbeddedBackend; content: EmbeddedContent }, gateway: SqliteContainer = app) {
  const running = systems.backend
    .listSync()
    .filter((s) => s.status === 'running')
    .map((s) => s.experimentId)
    .sort();
  const serving = systems.content
    .listSync()
    .filter((s) => s.serving)
    .map((s) => s.experimentId)
    .sort();
  const recorded = (await gateway.experiments.list({ status: ['running'] })).map((e) => e.id).sort();
  return { running, serving, recorded };
}

describe('deploy saga, embedded systems (the default)', () => {
  it('logs one completed operation per deploy, pause and stop, and keeps backend, content and record in agreement', async () => {
    const input = await validated();
    const { experiment } = await app.deploys.deploy(input, ctx);
    let a = await agreement(app.localSystems);
    expect(a).toEqual({ running: [experiment.id], serving: [experiment.id], recorded: [experiment.id] });
    const paused = await app.experiments.pause({ experimentId: experiment.id, version: experiment.version, reason: 'check' }, ctx);
    expect(app.localSystems.backend.getSync(experiment.id)).toMatchObject({ status: 'paused', buckets: paused.buckets });
    await app.stops.stop({ experimentId: experiment.id, reason: 'done', confirmation: APPROVED }, ctx);
    a = await agreement(app.localSystems);
    expect(a).toEqual({ running: [], serving: [], recorded: [] });
    const ops = await app.deployments.ops.list(experiment.id);
    expect(ops.map((o) => [o.kind, o.status, o.steps])).toEqual([
      ['deploy', 'completed', ['backend.allocate', 'content.apply', 'backend.activate']],
      ['pause', 'completed', ['backend.pause', 'content.remove']],
      ['stop', 'completed', ['backend.release', 'content.remove']],
    ]);
  });

  it('writes no operation for a refused or dry-run deploy', async () => {
    const input = await validated();
    await app.deploys.deploy({ ...input, dryRun: true }, ctx);
    await expect(app.deploys.deploy({ ...input, version: 99 }, ctx)).rejects.toThrow(/version/);
    expect(await app.deployments.ops.list()).toEqual([]);
    expect(app.localSystems.backend.listSync()).toEqual([]);
  });
});

describe('deploy saga, remote systems', () => {
  beforeEach(() => {
    saga = remoteSaga(); // replaces the container's embedded saga: the record's writes now wait for the systems
  });

  it('runs allocate → content.apply → activate, then the record; the same idempotency key returns the first outcome', async () => {
    const input = { ...(await validated()), idempotencyKey: 'saga-key-0001' };
    const first = await saga.deploy(input, ctx);
    expect(first).toMatchObject({ applied: true, replayed: false, experiment: { status: 'running' } });
    expect(backend.writes).toEqual(['backend.allocate', 'backend.activate']);
    expect(content.writes).toEqual(['content.apply']);
    const again = await saga.deploy(input, ctx);
    expect(again).toMatchObject({ replayed: true, experiment: { id: first.experiment.id, version: first.experiment.version } });
    expect(backend.writes).toHaveLength(2);
    expect((await app.deployments.ops.list(first.experiment.id)).map((o) => o.status)).toEqual(['completed']);
    await expect(saga.deploy({ ...input, allocationPercent: 20 }, ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await agreement(remote.localSystems)).toEqual({ running: [first.experiment.id], serving: [first.experiment.id], recorded: [first.experiment.id] });

    const stopped = await saga.stop({ experimentId: first.experiment.id, reason: 'done', confirmation: APPROVED }, ctx);
    expect(stopped.status).toBe('concluded');
    expect(await agreement(remote.localSystems)).toEqual({ running: [], serving: [], recorded: [] });
  });

  it('compensates backend.allocate when content.apply fails; the record is untouched and the key can be retried', async () => {
    const input = { ...(await validated()), idempotencyKey: 'saga-key-0002' };
    content.fault = () => 'fail';
    await expect(saga.deploy(input, ctx)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(await app.experiments.get(input.experimentId)).toMatchObject({ status: 'draft', version: 1 });
    expect(backend.writes).toEqual(['backend.allocate', 'compensate.backend']);
    expect(remote.localSystems.backend.getSync(input.experimentId)).toMatchObject({ status: 'released', buckets: [] });
    expect((await app.deployments.ops.list(input.experimentId)).map((o) => [o.status, o.steps, o.error?.code])).toEqual([
      ['compensated', ['backend.allocate'], 'UPSTREAM_UNAVAILABLE'],
    ]);
    content.fault = () => 'ok';
    const retried = await saga.deploy(input, ctx);
    expect(retried.experiment.status).toBe('running');
    expect((await agreement(remote.localSystems)).running).toEqual([input.experimentId]);
    expect((await agreement(remote.localSystems)).serving).toEqual([input.experimentId]);
  });

  it('leaves an operation whose compensation cannot reach a system to recovery, and refuses new work on that experiment until then', async () => {
    const input = await validated();
    backend.fault = (step) => (step === 'backend.activate' || step.startsWith('compensate') ? 'fail' : 'ok');
    content.fault = (step) => (step.startsWith('compensate') ? 'fail' : 'ok');
    await expect(saga.deploy(input, ctx)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect((await app.deployments.ops.unfinished()).map((o) => o.status)).toEqual(['compensating']);
    await expect(saga.deploy(input, ctx)).rejects.toThrow(/still being rolled back/);
    backend.fault = () => 'ok';
    content.fault = () => 'ok';
    expect(await saga.recover()).toMatchObject({ compensated: [expect.stringMatching(/^op_/)], stuck: [] });
    expect(await agreement(remote.localSystems)).toEqual({ running: [], serving: [], recorded: [] });
    expect(remote.localSystems.content.getSync(input.experimentId)).toMatchObject({ serving: false });
  });

  it('after a crash, recovery compensates an operation with steps missing and finishes one whose steps all landed, once', async () => {
    const a = await validated('saga-a');
    backend.fault = (step) => (step === 'backend.activate' ? 'apply-then-hang' : 'ok');
    void saga.deploy(a, ctx); // the process "dies" while activate is in flight
    await until(() => backend.writes.includes('backend.activate'));
    backend.fault = () => 'ok';
    // The "dead" saga lives in this process, so its pid looks alive: let its claim lapse as a dead process's would.
    const lapse = () => app.deps.db.prepare("UPDATE operations SET lease_until = '2000-01-01T00:00:00.000Z' WHERE status IN ('pending', 'compensating')").run();
    const restarted = remoteSaga();
    expect(await restarted.recover()).toMatchObject({ compensated: [], completed: [] }); // still claimed by its live owner
    lapse();
    expect(await restarted.recover()).toMatchObject({ compensated: [expect.any(String)], completed: [] });
    expect(await agreement(remote.localSystems)).toEqual({ running: [], serving: [], recorded: [] });

    const b = await validated('saga-b');
    backend.fault = (step) => (step === 'backend.activate' ? 'apply-then-hang' : 'ok');
    void saga.deploy({ ...b, idempotencyKey: 'saga-key-0003' }, ctx);
    await until(() => backend.writes.filter((w) => w === 'backend.activate').length === 2);
    const op = (await app.deployments.ops.unfinished())[0];
    app.deployments.ops.stepDone(op.id, 'backend.activate', new Date().toISOString()); // it landed and was logged, then the crash
    backend.fault = () => 'ok';
    lapse();
    const again = remoteSaga();
    expect(await again.recover()).toMatchObject({ completed: [op.id] });
    expect(await again.recover()).toMatchObject({ completed: [], compensated: [] });
    expect(await agreement(remote.localSystems)).toEqual({ running: [b.experimentId], serving: [b.experimentId], recorded: [b.experimentId] });
    const replay = await again.deploy({ ...b, idempotencyKey: 'saga-key-0003' }, ctx);
    expect(replay).toMatchObject({ replayed: true, experiment: { version: 2 } });
    expect((await app.deps.store.audit.forEntity('experiment', b.experimentId)).filter((r) => r.operation === 'test').length).toBeGreaterThan(0);
  });

  it('pauses, advances a ramp stage (the scheduler) and rolls back (the circuit breaker) through the systems', async () => {
    const input = await validated();
    const system: WriteContext = { actor: 'system:ramp-scheduler', interface: 'system', operation: 'test', requestId: 'r2' };
    const { experiment } = await saga.deploy(input, ctx);
    const paused = await saga.pause({ experimentId: experiment.id, version: experiment.version, reason: 'look' }, ctx);
    expect(paused.status).toBe('paused');
    expect(remote.localSystems.backend.getSync(experiment.id)).toMatchObject({ status: 'paused', buckets: paused.buckets });
    expect(await agreement(remote.localSystems)).toEqual({ running: [], serving: [], recorded: [] });
    const resumed = await saga.deploy({ ...input, version: paused.version, planHash: app.experiments.planHashOf(paused) }, ctx);
    const advanced = await saga.advance({ experimentId: experiment.id, version: resumed.experiment.version, toPercent: 20 }, system);
    expect(advanced.experiment.allocationPercent).toBe(20);
    expect(remote.localSystems.backend.getSync(experiment.id)).toMatchObject({
      status: 'running',
      allocationPercent: 20,
      buckets: advanced.experiment.buckets,
    });
    content.fault = () => 'fail';
    await expect(saga.rollBack({ experimentId: experiment.id, reason: 'breaker', details: {} }, system)).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(await agreement(remote.localSystems)).toEqual({ running: [experiment.id], serving: [experiment.id], recorded: [experiment.id] });
    content.fault = () => 'ok';
    const rolled = await saga.rollBack({ experimentId: experiment.id, reason: 'breaker', details: {} }, system);
    expect(rolled).toMatchObject({ status: 'concluded', outcome: 'rolled_back' });
    expect(await agreement(remote.localSystems)).toEqual({ running: [], serving: [], recorded: [] });
    expect((await app.deployments.ops.list(experiment.id)).map((o) => `${o.kind}:${o.status}`)).toEqual([
      'deploy:completed',
      'pause:completed',
      'deploy:completed',
      'deploy:completed',
      'stop:compensated',
      'stop:completed',
    ]);
  });

  it('runs one operation per experiment at a time; recovery leaves an in-flight one alone', async () => {
    const input = await validated();
    let release!: () => void;
    content.gate = new Promise<void>((r) => (release = r));
    const first = saga.deploy(input, ctx);
    first.catch(() => undefined);
    await until(() => backend.writes.length === 1);
    await expect(saga.deploy(input, ctx)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/in progress/) });
    expect(await saga.recover()).toEqual({ completed: [], compensated: [], stuck: [] });
    release();
    expect((await first).experiment.status).toBe('running');
    expect(await agreement(remote.localSystems)).toEqual({ running: [input.experimentId], serving: [input.experimentId], recorded: [input.experimentId] });
  });

  it('fences a forward step that lands after its compensation (slow past the timeout)', () => {
    const b = remote.localSystems.backend;
    const w = { surfaceId: 'home', key: 'x', allocationPercent: 10, variants: [] };
    b.putSync('exp_x', { ...w, status: 'released', buckets: [], opId: 'op_1', step: 'compensate.backend' });
    expect(b.putSync('exp_x', { ...w, status: 'allocated', buckets: [[0, 100]], opId: 'op_1', step: 'backend.allocate' })).toMatchObject({
      replayed: true,
      state: { status: 'released' },
    });
  });
});

describe('deploy saga, two gateway processes sharing one database', () => {
  let dir: string;
  let a: SqliteContainer;
  let b: SqliteContainer;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sealab-shared-'));
    a = await createContainer({ dbFile: path.join(dir, 'sealab.db'), policy: permissivePolicy() });
    b = await createContainer({ dbFile: path.join(dir, 'sealab.db'), policy: permissivePolicy() });
  });
  afterEach(() => {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** Each gateway's saga over the same remote systems. */
  const sagaOf = (g: SqliteContainer) =>
    new DeploySaga(
      g.deps,
      g.experiments,
      g.deploys,
      g.stops,
      { embedded: false, backend: { kind: 'remote', ...bind(backend) } as ExperimentBackend, content: { kind: 'remote', ...bind(content) } as ContentDelivery },
      g.deps.store.operations,
    );

  it("a second gateway neither recovers nor races an operation the first is running; it takes over only when the first's claim lapses", async () => {
    const [sa, sb] = [sagaOf(a), sagaOf(b)];
    const { experiment } = await a.experiments.create({ config: demoConfig({ key: 'shared-db', rampPlan: { stages: [20] } }) }, ctx);
    const v = await a.experiments.validate({ experimentId: experiment.id }, ctx);
    const input = { experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED };

    let release!: () => void;
    content.hold = (step) => (step === 'content.apply' ? new Promise<void>((r) => (release = r)) : null);
    const deploying = sa.deploy(input, ctx);
    await until(() => backend.writes.length === 1);
    // B sees A's unfinished operation in the shared log, but A is alive and holds its claim.
    expect(await sb.recover()).toEqual({ completed: [], compensated: [], stuck: [] });
    await expect(sb.deploy(input, ctx)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/in progress/) });
    await expect(sb.stop({ experimentId: experiment.id, reason: 'race', confirmation: APPROVED }, ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(backend.writes).toEqual(['backend.allocate']);
    release();
    expect((await deploying).experiment.status).toBe('running');
    expect(await agreement(remote.localSystems, b)).toEqual({ running: [experiment.id], serving: [experiment.id], recorded: [experiment.id] });

    // A freezes in the middle of a stop, long enough for its claim to lapse: B takes over and restores the running state.
    let thaw!: () => void;
    content.hold = (step) => (step === 'content.remove' ? new Promise<void>((r) => (thaw = r)) : null);
    const stopping = sa.stop({ experimentId: experiment.id, reason: 'stop', confirmation: APPROVED }, ctx);
    stopping.catch(() => undefined);
    await until(() => backend.writes.includes('backend.release'));
    b.deps.db.prepare("UPDATE operations SET lease_until = '2000-01-01T00:00:00.000Z' WHERE status = 'pending'").run();
    content.hold = () => null;
    const report = await sb.recover();
    expect(report.compensated).toHaveLength(1);
    expect(await agreement(remote.localSystems, b)).toEqual({ running: [experiment.id], serving: [experiment.id], recorded: [experiment.id] });
    // A thaws: its content.remove lands after B's compensation and is fenced off; A stops instead of committing.
    thaw();
    (await expect(stopping)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/taken over by another sealab process/) });
    expect(await agreement(remote.localSystems, a)).toEqual({ running: [experiment.id], serving: [experiment.id], recorded: [experiment.id] });
    expect((await a.deployments.ops.list(experiment.id)).map((o) => o.status)).toEqual(['completed', 'compensated']);
    expect(backend.writes.filter((w) => w.startsWith('compensate'))).toEqual(['compensate.backend']);
  });
});

async function until(ok: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
