import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../../src/container.js';
import { DEFAULT_POLICY } from '../../../src/domain/policy.js';
import type { Policy } from '../../../src/domain/policy.js';
import { rangesSize } from '../../../src/domain/assignment.js';
import { RAMP_SCHEDULER_ACTOR } from '../../../src/app/ramp/ramp-scheduler.js';
import { listenHttp } from '../../../src/server/http-listen.js';
import { APPROVED, demoConfig, memoryClient, permissivePolicy, startRunning, testContainer, textOf, type ToolCallResult } from '../../helpers/app.js';

const HOUR = 3_600_000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A container on a fake clock the test moves by hand: a week of ramping runs in milliseconds. */
async function setup(policy: Policy = permissivePolicy()) {
  let now = Date.parse('2026-11-02T09:00:00Z');
  const app = await testContainer({ clock: { now: () => new Date(now) }, policy });
  cleanups.push(() => app.close());
  return { app, advance: (ms: number) => (now += ms), now: () => now };
}

async function client(app: SqliteContainer): Promise<Client> {
  const c = await memoryClient(app);
  cleanups.push(() => c.close());
  return c;
}

const call = async (c: Client, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as ToolCallResult;
const ok = async (c: Client, name: string, args: Record<string, unknown>) => {
  const r = await call(c, name, args);
  expect(r.isError, textOf(r)).toBeFalsy();
  return r.structuredContent as Record<string, any>;
};

const RAMPED = demoConfig({ rampPlan: { stages: [25, 50], minHours: 24, gate: { minUnitsPerArm: 40 } } });

/**
 * Sends `n` new units through the event API: exposures split by `share` (treatment share), each
 * unit streams with the given rate and crashes with its arm's crash rate, or every 7th unit by default (deterministic patterns).
 */
let serial = 0;
async function traffic(app: SqliteContainer, experimentId: string, n: number, opts: { share?: number; crash?: { control: number; focus: number } } = {}) {
  const share = opts.share ?? 0.5;
  const crash = opts.crash ?? { control: 0, focus: 0 };
  const events: Record<string, unknown>[] = [];
  let treated = 0;
  const seen = { control: 0, focus: 0 };
  for (let i = 0; i < n; i++) {
    const unit = `u${++serial}`;
    // Deterministic split at `share`: treat this unit when the running share falls below it.
    const focus = treated < share * (i + 1);
    if (focus) treated++;
    const variant = focus ? 'focus' : 'control';
    events.push({ id: `x-${unit}`, type: 'exposure', unitId: unit, experimentId, variant });
    events.push({ id: `s-${unit}`, type: 'metric', unitId: unit, metricId: 'stream-rate', value: serial % 3 === 0 ? 1 : 0 });
    const rate = crash[variant];
    // Without a crash pattern, every 7th unit crashes whatever its arm: the guardrail has data in both arms, and no difference.
    if (opts.crash ? rate > 0 && ++seen[variant] % Math.round(1 / rate) === 0 : serial % 7 === 0)
      events.push({ id: `c-${unit}`, type: 'metric', unitId: unit, metricId: 'crash-rate', value: 1 });
  }
  const r = await app.events.ingest({ events });
  expect(r.rejected).toEqual([]);
}

const rampRows = async (app: SqliteContainer, id: string) =>
  (await app.deps.store.audit.forEntity('experiment', id)).filter((a) => a.actor === RAMP_SCHEDULER_ACTOR);

describe('ramp scheduler on a fake clock', () => {
  it('drives a week: a stage advances only after its minimum duration and while its gate holds, then stays at the last stage', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    const allocations: { hour: number; percent: number }[] = [];
    for (let hour = 1; hour <= 7 * 24; hour++) {
      advance(HOUR);
      await traffic(app, exp.id, 6);
      await app.ramps.tick();
      const now = await app.experiments.get(exp.id);
      if (allocations.at(-1)?.percent !== now.allocationPercent) allocations.push({ hour, percent: now.allocationPercent });
    }
    // 24 h at 10% (with 72 units per arm by then), 24 h at 25%, then the last stage.
    expect(allocations).toEqual([
      { hour: 1, percent: 10 },
      { hour: 24, percent: 25 },
      { hour: 48, percent: 50 },
    ]);
    const final = await app.experiments.get(exp.id);
    expect(final.status).toBe('running');
    expect(rangesSize(final.buckets)).toBe((await app.deps.store.catalog.surface('home'))!.bucketCount / 2);

    const status = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(status).toMatchObject({
      allocationPercent: 50,
      stage: 3,
      stageCount: 3,
      nextPercent: null,
      nextAction: 'complete',
      minHours: 24,
      hoursInStage: 120,
    });
    expect(status.lastTick).toMatchObject({ action: 'complete' });

    const advances = (await rampRows(app, exp.id)).filter((a) => a.operation === 'ramp_advance');
    expect(advances).toHaveLength(2);
    expect(advances[1].rationale).toMatch(
      /^stage 1\/3 → 25%: 24\.0h in stage, minimum 24h; SRM p=[0-9.e-]+ \(ok\); no guardrail significantly worse \(crash-rate\/focus no_detectable_change\); every success and guardrail metric has data in every arm; units per arm control 72, focus 72 \(minimum 40\)$/,
    );
    expect(advances[1]).toMatchObject({ interface: 'system', confirmation: null });
    expect((advances[0].after as { allocationPercent: number }).allocationPercent).toBe(50);
  });

  it('waits for enough data even after the minimum duration, and says which check fails', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    advance(30 * HOUR);
    await traffic(app, exp.id, 20);
    expect(await app.ramps.tick()).toEqual([
      expect.objectContaining({ action: 'waiting', reason: expect.stringContaining('units per arm control 10, focus 10 (minimum 40)') }),
    ]);
    const status = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(status.gate.checks).toEqual([
      expect.objectContaining({ name: 'min_duration', pass: true }),
      expect.objectContaining({ name: 'srm', pass: true }),
      expect.objectContaining({ name: 'guardrails', pass: true }),
      expect.objectContaining({ name: 'data', pass: true }),
      expect.objectContaining({ name: 'enough_data', pass: false }),
    ]);
    expect(status.nextAction).toBe('wait');
    await traffic(app, exp.id, 60);
    expect((await app.ramps.tick())[0].action).toBe('advanced');
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
  });

  it('a sample-ratio mismatch holds the ramp', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    for (let hour = 1; hour <= 72; hour++) {
      advance(HOUR);
      await traffic(app, exp.id, 10, { share: 0.7 });
      await app.ramps.tick();
    }
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(10);
    const status = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(status.gate.srm).toMatchObject({ checked: true, mismatch: true });
    expect(status.gate.srm.pValue).toBeLessThan(1e-6);
    expect(status).toMatchObject({ nextAction: 'wait', breaker: { tripped: false } });
    expect(status.reason).toMatch(/SRM p=.* \(mismatch\)/);
    expect(await rampRows(app, exp.id)).toEqual([]);
  });

  it('a guardrail breach trips the circuit breaker: rolled back, buckets freed, the numbers in the audit log', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    advance(2 * HOUR);
    await traffic(app, exp.id, 1000, { crash: { control: 0.01, focus: 0.25 } });
    const status = await app.ramps.status(exp.id);
    expect(status).toMatchObject({ nextAction: 'roll_back', breaker: { tripped: true } });
    expect(status.gate.guardrails).toEqual([
      expect.objectContaining({ metricId: 'crash-rate', variant: 'focus', assessment: 'worse', mean: 0.25, controlMean: 0.01 }),
    ]);

    const [outcome] = await app.ramps.tick();
    expect(outcome).toMatchObject({
      action: 'rolled_back',
      reason: expect.stringMatching(
        /^circuit breaker: guardrail crash-rate in 'focus' \(0\.250 vs control 0\.0100, 2400\.0%, interval \[[-0-9.e]+, [-0-9.e]+\], p=[0-9.e-]+\) is significantly worse under the always-valid analysis$/,
      ),
    });
    const after = await app.experiments.get(exp.id);
    expect(after).toMatchObject({ status: 'concluded', outcome: 'rolled_back', buckets: [] });
    expect(app.events.assign('home', 'u1').assignments).toEqual([]);
    // The Prometheus series an operator alerts on: one trip, its breach-to-rollback time, the roll back's saga.
    const m = app.opsMetrics!;
    expect((await m.rampBreakerTrips.get()).values[0].value).toBe(1);
    expect((await m.guardrailReaction.get()).values.find((v) => v.metricName === 'sealab_guardrail_reaction_seconds_count')?.value).toBe(1);
    expect((await m.sagaOperations.get()).values.map((v) => [v.labels.kind, v.labels.outcome, v.value])).toContainEqual(['stop', 'ok', 1]);

    const rows = await rampRows(app, exp.id);
    expect(rows.map((r) => r.operation)).toEqual(['circuit_breaker', 'circuit_breaker']);
    expect(rows[1]).toMatchObject({
      interface: 'system',
      rationale: outcome.reason,
      confirmation: null,
      after: expect.objectContaining({ status: 'concluded', outcome: 'rolled_back' }),
    });
    expect(rows[0].after).toMatchObject({
      circuitBreaker: {
        allocationPercent: 10,
        guardrails: [expect.objectContaining({ metricId: 'crash-rate', assessment: 'worse', mean: 0.25 })],
        unitsPerArm: [
          { variant: 'control', units: 500 },
          { variant: 'focus', units: 500 },
        ],
      },
    });
    // Concluded experiments are left alone.
    expect(await app.ramps.tick()).toEqual([]);
  });

  it('a breach under a fixed-horizon plan is still read with the always-valid analysis', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, demoConfig({ ...RAMPED, analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.05, durationDays: 14, sequential: false } }));
    advance(HOUR);
    await traffic(app, exp.id, 1000, { crash: { control: 0.01, focus: 0.25 } });
    expect((await app.ramps.status(exp.id)).nextAction).toBe('roll_back');
    expect((await app.metrics.report(exp.id)).method).toBe('fixed-horizon');
  });

  it('hold_ramp stops automatic advancement (the breaker stays armed) until resumed', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    const held = await ok(c, 'hold_ramp', { experimentId: exp.id, reason: 'waiting for the crash report' });
    expect(held.ramp).toMatchObject({ hold: { reason: 'waiting for the crash report', actor: 'agent:test-agent' } });
    for (let hour = 1; hour <= 48; hour++) {
      advance(HOUR);
      await traffic(app, exp.id, 6);
      await app.ramps.tick();
    }
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(10);
    const status = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(status).toMatchObject({ nextAction: 'held', gate: { holds: true }, lastTick: { action: 'held' } });
    expect(status.reason).toMatch(/^held by agent:test-agent since .*: waiting for the crash report$/);

    const resumed = await ok(c, 'hold_ramp', { experimentId: exp.id, action: 'resume', reason: 'report is clean' });
    expect(resumed.ramp).toMatchObject({ hold: null, nextAction: 'advance' });
    await app.ramps.tick();
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
    const audit = (await app.deps.store.audit.forEntity('experiment', exp.id)).filter((a) => a.operation === 'hold_ramp');
    expect(audit.map((a) => [a.rationale, a.after])).toEqual([
      ['report is clean', { rampHold: null }],
      ['waiting for the crash report', { rampHold: expect.objectContaining({ reason: 'waiting for the crash report' }) }],
    ]);

    // Held, a breach still rolls it back.
    await ok(c, 'hold_ramp', { experimentId: exp.id, reason: 'hold again' });
    await traffic(app, exp.id, 1000, { crash: { control: 0.01, focus: 0.25 } });
    expect((await app.ramps.tick())[0].action).toBe('rolled_back');
  });

  it('under the default policy: advance_ramp needs a confirmation, and the scheduler is held at the approval threshold', async () => {
    const { app, advance } = await setup(DEFAULT_POLICY);
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    let s = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    // The gate does not hold yet (no time, no data): a human must confirm whatever the policy says.
    const refused = await call(c, 'advance_ramp', { experimentId: exp.id, version: s.version, planHash: s.planHash });
    expect(textOf(refused)).toMatch(
      /^PRECONDITION_FAILED: confirmation required for: resize 'home-focus-shelf' on home: 10% → 25% .*; the ramp gate does NOT hold \(0\.0h in stage, minimum 24h; units per arm control 0, focus 0 \(minimum 40\)\)/,
    );
    const advanced = await ok(c, 'advance_ramp', {
      experimentId: exp.id,
      version: s.version,
      planHash: s.planHash,
      confirmation: { reason: 'approved by @dana' },
    });
    expect(advanced).toMatchObject({
      applied: true,
      plan: { action: 'resize', fromPercent: 10, toPercent: 25 },
      confirmation: { given: { via: 'argument', reason: 'approved by @dana' } },
      ramp: { allocationPercent: 25, stage: 2, hoursInStage: 0 },
    });

    // 50% is above the approval threshold for everyone but client:* and rest:*: the scheduler waits there
    // (it does not try and fail every tick) and says who may advance.
    advance(25 * HOUR);
    await traffic(app, exp.id, 100);
    expect(await app.ramps.tick()).toEqual([
      expect.objectContaining({
        action: 'waiting',
        reason: expect.stringMatching(
          /^gate holds, but the policy lets only client:\*, rest:\* deploy above 25%: an approved caller advances to 50% with advance_ramp/,
        ),
      }),
    ]);
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
    s = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(s).toMatchObject({ nextAction: 'wait', lastTick: { action: 'waiting' } });

    // Once at the last stage there is nothing to advance to.
    app.setPolicy({ ...DEFAULT_POLICY, defaults: { ...DEFAULT_POLICY.defaults, allocationApprovals: [{ abovePercent: 25, actors: ['system:*'] }] } });
    await ok(c, 'validate_config', { experimentId: exp.id });
    expect((await app.ramps.tick())[0].action).toBe('advanced');
    s = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(
      textOf(await call(c, 'advance_ramp', { experimentId: exp.id, version: s.version, planHash: s.planHash, confirmation: { reason: 'x-approved' } })),
    ).toMatch(/^PRECONDITION_FAILED: .* the last stage of its plan/);
  });

  it('a changed policy holds the scheduler until the plan is validated again; the system paths refuse other callers', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    advance(25 * HOUR);
    await traffic(app, exp.id, 100);
    app.setPolicy(permissivePolicy({ maxDurationDays: 30 }));
    expect(await app.ramps.tick()).toEqual([
      expect.objectContaining({ action: 'refused', reason: expect.stringMatching(/no passing verdict under the policy in force \('test-permissive'\)/) }),
    ]);
    await app.experiments.validate({ experimentId: exp.id });
    expect((await app.ramps.tick())[0].action).toBe('advanced');
    const agent = { actor: 'agent:x', interface: 'mcp-stdio' as const, operation: 'x', requestId: 'r' };
    await expect(app.deploys.advanceBySystem({ experimentId: exp.id, version: 3, toPercent: 50 }, agent)).rejects.toThrow(/reserved to the server/);
    await expect(app.stops.rollBackBySystem({ experimentId: exp.id, reason: 'x', details: {} }, agent)).rejects.toThrow(/reserved to the server/);
  });

  it('existing configs without minHours or a gate get the defaults (24 h, 100 units per arm)', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, demoConfig({ rampPlan: { stages: [25] } }));
    advance(24 * HOUR);
    await traffic(app, exp.id, 190);
    expect(await app.ramps.status(exp.id)).toMatchObject({ minHours: 24, gate: { minUnitsPerArm: 100, holds: false }, nextAction: 'wait' });
    await traffic(app, exp.id, 10);
    expect((await app.ramps.tick())[0].action).toBe('advanced');
  });

  it('a guardrail that never receives data never ramps past its first stage: the gate waits, then the scheduler holds the ramp and says why', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    const ticks: { hour: number; action: string; reason: string }[] = [];
    for (let hour = 1; hour <= 7 * 24; hour++) {
      advance(HOUR);
      await traffic(app, exp.id, 6, { crash: { control: 0, focus: 0 } });
      const [t] = await app.ramps.tick();
      if (ticks.at(-1)?.action !== t.action) ticks.push({ hour, action: t.action, reason: t.reason });
    }
    expect(await app.experiments.get(exp.id)).toMatchObject({ status: 'running', allocationPercent: 10 });
    // Waiting (blind, and the minimum duration) until the grace period (24 h by default) ends, then held for good.
    expect(ticks.map((t) => [t.hour, t.action])).toEqual([
      [1, 'waiting'],
      [24, 'held'],
    ]);
    expect(ticks[0].reason).toMatch(
      /no data yet: guardrail crash-rate in 'control' \(3 units, none with an event\), guardrail crash-rate in 'focus' \(3 units/,
    );
    expect(ticks[1].reason).toMatch(
      /^no guardrail data after 24\.0h in stage \(grace 24h\): crash-rate in 'control', crash-rate in 'focus' without any event, so the circuit breaker cannot trip on it; ramping is paused\. Fix the metric's events, then hold_ramp with action "resume"$/,
    );

    expect((await app.opsMetrics!.rampHolds.get()).values.map((v) => [v.labels.reason, v.value])).toEqual([['blind_guardrail', 1]]);
    const holds = await rampRows(app, exp.id);
    expect(holds).toHaveLength(1);
    expect(holds[0]).toMatchObject({ operation: 'blind_guardrail_hold', interface: 'system', rationale: ticks[1].reason });
    expect(holds[0].after).toEqual({ rampHold: { reason: ticks[1].reason, actor: RAMP_SCHEDULER_ACTOR, at: '2026-11-03T09:00:00.000Z' } });

    const status = await ok(c, 'get_ramp_status', { experimentId: exp.id });
    expect(status).toMatchObject({ nextAction: 'held', hold: { actor: RAMP_SCHEDULER_ACTOR }, breaker: { tripped: false } });
    expect(status.gate.blindGraceHours).toBe(24);
    expect(status.gate.blind).toEqual([
      { metricId: 'crash-rate', role: 'guardrail', variant: 'control', units: 504 },
      { metricId: 'crash-rate', role: 'guardrail', variant: 'focus', units: 504 },
    ]);
    expect(status.gate.checks.find((x: { name: string }) => x.name === 'data')).toMatchObject({ pass: false });
    expect(textOf(await call(c, 'get_ramp_status', { experimentId: exp.id }))).toMatch(/✗ no data yet: guardrail crash-rate in 'control'/);

    // Held, the circuit breaker stays armed.
    await traffic(app, exp.id, 1000, { crash: { control: 0.01, focus: 0.25 } });
    expect((await app.ramps.tick())[0].action).toBe('rolled_back');
  });

  it('a blind metric holds the gate until data arrives in every arm; then the gate passes', async () => {
    const { app, advance } = await setup(permissivePolicy({ blindGraceHours: 72 }));
    const exp = await startRunning(app, RAMPED);
    advance(30 * HOUR);
    await traffic(app, exp.id, 100, { crash: { control: 0.1, focus: 0 } });
    let s = await app.ramps.status(exp.id);
    expect(s.gate.blind).toEqual([{ metricId: 'crash-rate', role: 'guardrail', variant: 'focus', units: 50 }]);
    expect(s).toMatchObject({ nextAction: 'wait', gate: { holds: false, blindGraceHours: 72 } });
    expect(s.reason).toBe("waiting: no data yet: guardrail crash-rate in 'focus' (50 units, none with an event)");
    expect((await app.ramps.tick())[0].action).toBe('waiting');
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(10);

    await traffic(app, exp.id, 100, { crash: { control: 0.1, focus: 0.1 } });
    s = await app.ramps.status(exp.id);
    expect(s.gate.blind).toEqual([]);
    expect(s).toMatchObject({ nextAction: 'advance', gate: { holds: true } });
    expect((await app.ramps.tick())[0].action).toBe('advanced');
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
  });

  it("start() runs tick on an unref'd timer and stops; 0 disables it", async () => {
    const { app } = await setup();
    expect(app.ramps.start(0)).toBeTypeOf('function');
    const stop = app.ramps.start(3600);
    stop();
  });
});

describe("ramp scheduler over remote systems (another sealab's backend and content delivery over HTTP)", () => {
  /** Backend and content roles listening on loopback, and a gateway on a fake clock that orchestrates them. */
  async function remoteSetup() {
    let now = Date.parse('2026-11-02T09:00:00Z');
    const systems = await Promise.all(
      (['backend', 'content'] as const).map(async (role) => {
        const c = await testContainer({ policy: permissivePolicy() });
        let http = await listenHttp(c, { role, host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
        const port = http.port;
        let up = true;
        cleanups.push(async () => {
          if (up) await http.close();
          c.close();
        });
        const down = async () => {
          up = false;
          await http.close();
        };
        const restart = async () => {
          http = await listenHttp(c, { role, host: '127.0.0.1', port, maxBodyBytes: 1_048_576 });
          up = true;
        };
        return { c, url: `http://127.0.0.1:${port}`, down, restart };
      }),
    );
    const [backend, content] = systems;
    const app = await testContainer({
      clock: { now: () => new Date(now) },
      policy: permissivePolicy(),
      remote: { backendUrl: backend.url, contentUrl: content.url, timeoutMs: 2000 },
    });
    cleanups.push(() => app.close());
    const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r1' };
    const { experiment } = await app.experiments.create({ config: RAMPED }, ctx);
    const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
    const exp = (await app.deployments.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, ctx)).experiment;
    return { app, exp, backend: backend.c, content: content.c, advance: (ms: number) => (now += ms), backendDown: backend.down, backendUp: backend.restart };
  }

  it('advances a stage through the saga: the backend allocates the new percentage and keeps running, content keeps serving', async () => {
    const { app, exp, backend, content, advance } = await remoteSetup();
    expect(backend.localSystems.backend.getSync(exp.id)).toMatchObject({ status: 'running', allocationPercent: 10 });
    advance(25 * HOUR);
    await traffic(app, exp.id, 100);
    expect((await app.ramps.tick())[0]).toMatchObject({ action: 'advanced' });
    const after = await app.experiments.get(exp.id);
    expect(after.allocationPercent).toBe(25);
    expect(backend.localSystems.backend.getSync(exp.id)).toMatchObject({ status: 'running', allocationPercent: 25, buckets: after.buckets });
    expect(content.localSystems.content.getSync(exp.id)).toMatchObject({ serving: true });
    expect(await app.deployments.ops.unfinished()).toEqual([]);
    // The gateway serves the new allocation at once (the saga refreshed its serving configuration).
    const assigned = Array.from({ length: 2000 }, (_, i) => app.assignments.view('home', `ramp-${i}`)!.assignments.length).reduce((a, b) => a + b, 0);
    expect(assigned / 2000).toBeGreaterThan(0.2);
  });

  it('trips the circuit breaker through the saga: released in the backend, no longer rendered by content delivery', async () => {
    const { app, exp, backend, content, advance } = await remoteSetup();
    advance(2 * HOUR);
    await traffic(app, exp.id, 1000, { crash: { control: 0.01, focus: 0.25 } });
    expect((await app.ramps.tick())[0]).toMatchObject({ action: 'rolled_back' });
    expect(await app.experiments.get(exp.id)).toMatchObject({ status: 'concluded', outcome: 'rolled_back' });
    expect(backend.localSystems.backend.getSync(exp.id)).toMatchObject({ status: 'released', buckets: [] });
    expect(content.localSystems.content.getSync(exp.id)).toMatchObject({ serving: false });
    expect(app.assignments.view('home', 'u1')!.assignments).toEqual([]);
  });

  it('a backend that is down when the gate holds: the advance is refused and changes nothing; the next tick after it is back advances', async () => {
    const { app, exp, backend, content, advance, backendDown, backendUp } = await remoteSetup();
    advance(25 * HOUR);
    await traffic(app, exp.id, 100);
    await backendDown();
    const [refused] = await app.ramps.tick();
    expect(refused).toMatchObject({
      action: 'refused',
      reason: expect.stringMatching(/^advance to 25% refused: UPSTREAM_UNAVAILABLE: the experimentation backend .* could not be reached/),
    });
    expect(await app.experiments.get(exp.id)).toMatchObject({ status: 'running', allocationPercent: 10, version: exp.version });
    expect(content.localSystems.content.getSync(exp.id)).toMatchObject({ serving: true });
    await backendUp();
    expect((await app.ramps.tick())[0]).toMatchObject({ action: 'advanced' });
    expect(backend.localSystems.backend.getSync(exp.id)).toMatchObject({ status: 'running', allocationPercent: 25 });
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
    expect((await app.deployments.ops.list(exp.id)).map((o) => o.status)).toEqual(['completed', 'compensated', 'completed']);
  });
});

describe('the ramp history (metrics history .ramp, from the audit trail)', () => {
  it('lists the start, a hold and its release, the advance and the breaker trip that concluded it, oldest first, with actors', async () => {
    const { app, advance } = await setup();
    const exp = await startRunning(app, RAMPED);
    const c = await client(app);
    await ok(c, 'hold_ramp', { experimentId: exp.id, reason: 'waiting for the crash report' });
    for (let hour = 1; hour <= 30; hour++) {
      advance(HOUR);
      await traffic(app, exp.id, 6);
      await app.ramps.tick();
    }
    await ok(c, 'hold_ramp', { experimentId: exp.id, action: 'resume', reason: 'report is clean' });
    await app.ramps.tick();
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
    advance(HOUR);
    await traffic(app, exp.id, 1000, { crash: { control: 0.01, focus: 0.25 } });
    expect((await app.ramps.tick())[0]).toMatchObject({ action: 'rolled_back' });

    const events = (await app.metrics.history(exp.id)).ramp;
    expect(events.map((e) => [e.kind, e.percent])).toEqual([
      ['started', 10],
      ['held', null],
      ['released', null],
      ['advanced', 25],
      ['breaker', 25],
      ['concluded', 25],
    ]);
    expect(events[1]).toMatchObject({ actor: 'agent:test-agent', detail: 'waiting for the crash report' });
    expect(events[2]).toMatchObject({ actor: 'agent:test-agent', detail: 'report is clean' });
    expect(events[3].actor).toBe(RAMP_SCHEDULER_ACTOR);
    expect(events[4].detail).toMatch(/^circuit breaker: guardrail crash-rate in 'focus'/);
    expect(events[5].detail).toMatch(/^rolled_back: circuit breaker/);
    const times = events.map((e) => e.at);
    expect([...times].sort()).toEqual(times);
  });
});
