import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import { SLO_ACTOR } from '../../src/ops/slo/slo-service.js';
import { appFetch, demoConfig, permissivePolicy, startRunning, testContainer, testHttp } from '../helpers/app.js';
import { serve } from './slo-helpers.js';

const HOUR = 3_600_000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A running experiment at 10% (the policy's first-stage cap) whose ramp gate holds after 30 hours. */
async function setup() {
  let now = Date.parse('2026-11-02T09:00:00Z');
  const app = await testContainer({ clock: { now: () => new Date(now) }, policy: permissivePolicy({ firstStageCapPercent: 10 }) });
  cleanups.push(() => app.close());
  const advance = (ms: number) => (now += ms);
  const exp = await startRunning(app, demoConfig({ rampPlan: { stages: [25, 50], minHours: 24, gate: { minUnitsPerArm: 20 } } }));
  const events = Array.from({ length: 60 }, (_, i) => [
    { id: `x${i}`, type: 'exposure', unitId: `u${i}`, experimentId: exp.id, variant: i % 2 ? 'focus' : 'control' },
    { id: `s${i}`, type: 'metric', unitId: `u${i}`, metricId: 'stream-rate', value: i % 3 === 0 ? 1 : 0 },
    { id: `c${i}`, type: 'metric', unitId: `u${i}`, metricId: 'crash-rate', value: i % 7 === 0 ? 1 : 0 },
  ]).flat();
  expect((await app.events.ingest({ events })).rejected).toEqual([]);
  advance(30 * HOUR);
  return { app, advance, exp };
}

const sloRows = async (app: SqliteContainer) => await app.deps.store.audit.forEntity('slo', 'assignment-availability');

describe('the error budget acts on rollouts', () => {
  it('holds the ramp while assignment availability pages (audited once, with the burn figures), then lets it proceed', async () => {
    const { app, advance, exp } = await setup();
    expect(await app.ramps.status(exp.id)).toMatchObject({ nextAction: 'advance', nextPercent: 25 });
    await app.slo.sample();
    await serve(app, advance, 60, { ok: 1000, errors: 0 });
    await serve(app, advance, 10, { ok: 900, errors: 100 });
    expect(app.slo.status('assignment-availability').slos[0]!.state).toBe('page');

    // get_ramp_status says so before the tick, without auditing anything.
    expect(await app.ramps.status(exp.id)).toMatchObject({ nextAction: 'held', reason: expect.stringMatching(/^slo_burn: assignment-availability/) });
    expect(await sloRows(app)).toHaveLength(0);
    const [held] = await app.ramps.tick();
    expect(held).toMatchObject({ experimentId: exp.id, action: 'held' });
    expect(held!.reason).toMatch(/^slo_burn: assignment-availability \(objective 99\.90%\): burn 16\.7× over 1h and 100\.0× over 5m \(page above 14\.4×\)/);
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(10);
    await app.ramps.tick();
    const holds = (await app.slo.registry!.getSingleMetric('sealab_ramp_holds_total')!.get()).values;
    // Two ticks of one hold: it counts once, when it starts.
    expect(holds).toEqual([expect.objectContaining({ labels: { reason: 'slo_burn' }, value: 1 })]);
    const rows = await sloRows(app);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: SLO_ACTOR, interface: 'system', operation: 'slo_burn_ramp_hold' });
    const after = rows[0]!.after as { experimentId: string; burning: { slo: string; alerts: { long: string; longBurn: number }[] }[] };
    expect(after.experimentId).toBe(exp.id);
    expect(after.burning[0]!.alerts[0]).toMatchObject({ severity: 'page', long: '1h', short: '5m', burnRate: 14.4 });
    expect(after.burning[0]!.alerts[0]!.longBurn).toBeCloseTo(1000 / 60000 / 0.001, 6);

    // Recovery: 5 clean minutes end the 1h/5m page, but the 6h/30m one pages until the 30m window is clean too.
    await serve(app, advance, 10, { ok: 1000, errors: 0 });
    expect(app.slo.paging()[0]!.alerts.map((a) => `${a.long}/${a.short}`)).toEqual(['6h/30m', '3d/6h']);
    expect((await app.ramps.tick())[0]).toMatchObject({ action: 'held' });
    await serve(app, advance, 21, { ok: 1000, errors: 0 });
    expect(app.slo.paging()).toEqual([]);
    const [advanced] = await app.ramps.tick();
    expect(advanced).toMatchObject({ action: 'advanced' });
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
  });

  it('a deploy above the first stage is held for approval while burning (REST 202), the first stage is not; none once it recovers', async () => {
    const { app, advance, exp } = await setup();
    const call = appFetch(testHttp(app));
    const deploy = async (allocationPercent: number) => {
      const current = await app.experiments.get(exp.id);
      return call(`http://127.0.0.1/v1/experiments/${exp.id}/deploy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version: current.version, planHash: app.experiments.planHashOf(current), allocationPercent, dryRun: allocationPercent === 10 }),
      });
    };
    await app.slo.sample();
    await serve(app, advance, 10, { ok: 500, errors: 500 });

    const held = await deploy(25);
    expect(held.status).toBe(202);
    const body = (await held.json()) as { status: string; approvalId: string };
    expect(body.status).toBe('pending_approval');
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(10);
    const approval = await app.approvals.get(body.approvalId);
    expect(approval.policyReason).toMatch(/^slo_burn: a serving SLO is burning its error budget fast, so going above the first stage \(10%\) to 25%/);
    expect(approval.policyReason).toMatch(/assignment-availability \(objective 99\.90%\): burn 500\.0× over 1h/);
    const audited = (await app.deps.store.audit.forEntity('approval', body.approvalId))[0]!;
    expect((audited.after as { policyReason: string }).policyReason).toBe(approval.policyReason);

    // Staying at the first stage needs nothing more than the policy asks.
    expect((await deploy(10)).status).toBe(200);

    // After recovery the same deploy applies at once.
    await serve(app, advance, 31, { ok: 1000, errors: 0 });
    const applied = await deploy(25);
    expect(applied.status).toBe(200);
    expect((await app.experiments.get(exp.id)).allocationPercent).toBe(25);
  });

  it('an SLO without actions only alerts: rollouts go on', async () => {
    const file = JSON.parse(JSON.stringify((await app0()).slo.file)) as { slos: { actions: { holdRamps: boolean; approvalAboveFirstStage: boolean } }[] };
    for (const s of file.slos) s.actions = { holdRamps: false, approvalAboveFirstStage: false };
    let now = Date.parse('2026-11-02T09:00:00Z');
    const app = await testContainer({ clock: { now: () => new Date(now) }, slo: file });
    cleanups.push(() => app.close());
    await app.slo.sample();
    await serve(app, (ms) => (now += ms), 10, { ok: 500, errors: 500 });
    expect(app.slo.paging().map((s) => s.name)).toEqual(['assignment-availability']);
    expect(await app.slo.rampHold('exp_x')).toBeNull();
    expect(app.slo.approvalReason(10, 10, 50)).toBeNull();
  });
});

async function app0() {
  const app = await testContainer();
  cleanups.push(() => app.close());
  return app;
}
