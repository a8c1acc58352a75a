import { afterEach, describe, expect, it } from 'vitest';
import { runSimulatedDays, type SimulatedDaysLog, type SimulateDaysOptions } from '../../src/cli/simulate-days.js';
import type { SqliteContainer } from '../../src/container.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { appFetch, testContainer, testHttp } from '../helpers/app.js';

/**
 * The whole loop under the shipped default policy (policy/default.json), through the real HTTP app
 * and a simulated clock: plan from structured hints → create → validate → deploy the first stage →
 * day-by-day traffic (the ramp scheduler ticks hourly) → decision → ship, which changes what the
 * surface serves. Deterministic ids and seeds: the variant split hashes the experiment id.
 */

const START = new Date('2027-01-04T00:00:00.000Z');
const HEADLINE =
  'run an A/B test on the Home surface that tests a new ordering of shelves, with safe guardrails, launch it small, send traffic, and read the results with a decision';
const REORDER = { operation: 'reorder', slots: ['shelf-1', 'shelf-2', 'shelf-3'] } as const;
const CONFIRM = { reason: 'approved by the test operator' };

let opened: SqliteContainer[] = [];
afterEach(() => {
  for (const c of opened) c.close();
  opened = [];
});

async function world() {
  let n = 0;
  const app = await testContainer({ clock: new SimulatedClock(START), newId: (p) => `${p}_e2e${(++n).toString(36).padStart(4, '0')}` });
  opened.push(app);
  const fetch = appFetch(testHttp(app));
  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`http://127.0.0.1/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const simulate = (o: Partial<SimulateDaysOptions> & { days: number }): Promise<SimulatedDaysLog> =>
    runSimulatedDays({ url: 'http://127.0.0.1', fetch, seed: 7, out: () => undefined, ...o });
  return { app, call, simulate };
}

/** Plan with structured hints, store, validate and start the first stage, all through REST. */
async function launch(w: Awaited<ReturnType<typeof world>>, key: string, extra: Record<string, unknown> = {}) {
  const plan = await w.call('POST', '/plans', { goal: HEADLINE, surfaceId: 'home', change: REORDER, mde: 0.05, key, owner: 'home-team', ...extra });
  expect(plan.validation.findings.filter((f: { severity: string }) => f.severity === 'error')).toEqual([]);
  const { experiment } = await w.call('POST', '/experiments', { config: plan.config });
  const verdict = await w.call('POST', `/experiments/${experiment.id}/validate`);
  expect(verdict.valid).toBe(true);
  const started = await w.call('POST', `/experiments/${experiment.id}/deploy`, {
    version: experiment.version,
    planHash: verdict.planHash,
    confirmation: CONFIRM,
  });
  expect(started.experiment).toMatchObject({ status: 'running', allocationPercent: plan.config.allocationPercent });
  return { plan, id: experiment.id as string };
}

const layoutOf = async (w: Awaited<ReturnType<typeof world>>, unit: string) =>
  Object.fromEntries(
    ((await w.call('GET', `/surfaces/home/layout?unit=${unit}`)).layout as { slotId: string; contentId: string | null }[]).map((l) => [l.slotId, l.contentId]),
  );

describe('decisions a team can act on, under the shipped default policy', () => {
  it('a true success effect with no harm ramps, reaches ship within the planned duration, and shipping changes what Home serves', async () => {
    const w = await world();
    const { plan, id } = await launch(w, 'home-shelf-order');
    const planned = plan.config.analysisPlan.durationDays as number;
    const stages = [plan.config.allocationPercent, ...plan.config.rampPlan.stages] as number[];
    expect(stages.length).toBeGreaterThan(1);

    const before = await layoutOf(w, 'visitor-outside-any-experiment');
    const log = await w.simulate({ days: planned, experiment: id, effect: 0.12 });
    const decisions = log.days.map((d) => d.experiments[0].decision);
    const shipDay = decisions.indexOf('ship') + 1;
    // Time is respected: no ship before the planned whole days, then ship by the end of the plan.
    expect(shipDay).toBeGreaterThan(0);
    expect(shipDay).toBeLessThanOrEqual(planned);
    expect(decisions.slice(0, planned - 1).every((d) => d === 'keep_running')).toBe(true);
    // The ramp scheduler walked every stage by itself.
    expect(log.days.at(-1)!.experiments[0].allocationPercent).toBe(stages.at(-1));
    const report = await w.call('GET', `/experiments/${id}/metrics`);
    expect(report.decision).toMatchObject({ decision: 'ship', pending: [] });
    expect(report.blind).toEqual([]);

    const shipped = await w.call('POST', `/experiments/${id}/stop`, {
      outcome: 'shipped',
      reason: 'ship: stream-rate up, guardrails hold',
      confirmation: CONFIRM,
    });
    expect(shipped.experiment).toMatchObject({ status: 'concluded', outcome: 'shipped' });
    expect(shipped.conclusion.decision).toMatchObject({
      decision: 'ship',
      rule: { name: expect.any(String) },
      alpha: 0.05,
      power: 0.8,
      guardrailPower: expect.any(Number),
      pending: [],
    });
    const after = await layoutOf(w, 'visitor-outside-any-experiment');
    const treatment = plan.config.variants.find((v: { isControl: boolean }) => !v.isControl);
    for (const o of treatment.overrides as { slotId: string; contentId: string }[]) {
      expect(before[o.slotId]).not.toBe(o.contentId);
      expect(after[o.slotId]).toBe(o.contentId);
    }
    const { experiment } = await w.call('GET', `/experiments/${id}`);
    expect(experiment.outcome).toBe('shipped');
  }, 120_000);

  it('a true harm on a guardrail is rolled back by the circuit breaker during the ramp', async () => {
    const w = await world();
    const { plan, id } = await launch(w, 'home-shelf-order-harm');
    const guardrail = (plan.config.guardrails as { metricId: string; test: string }[]).find((g) => g.test === 'non_inferiority')!;
    expect(guardrail).toBeDefined();
    const log = await w.simulate({
      days: plan.config.analysisPlan.durationDays,
      experiment: id,
      effect: 0.12,
      harm: [{ metricId: guardrail.metricId, effect: 0.15 }],
    });
    expect(log.stoppedBecause).toBe('concluded');
    const last = log.days.at(-1)!.experiments[0];
    expect(last.status).toBe('concluded');
    expect(last.allocationPercent).toBeLessThan(Math.max(...(plan.config.rampPlan.stages as number[])));
    const { experiment } = await w.call('GET', `/experiments/${id}`);
    expect(experiment.outcome).toBe('rolled_back');
    const audit = (await w.call('GET', `/experiments/${id}/audit`)).audit as { actor: string; rationale: string | null }[];
    expect(audit.some((a) => a.actor === 'system:ramp-scheduler' && a.rationale?.includes(`circuit breaker: guardrail ${guardrail.metricId}`))).toBe(true);
  }, 120_000);

  it('a guardrail that never receives data never ramps past its first stage, and the scheduler says why', async () => {
    const w = await world();
    const { plan, id } = await launch(w, 'home-shelf-order-blind');
    const guardrail = (plan.config.guardrails as { metricId: string }[]).at(-1)!.metricId;
    const log = await w.simulate({ days: 3, experiment: id, effect: 0.12, silence: [guardrail] });
    expect(log.days.map((d) => d.experiments[0].allocationPercent)).toEqual([
      plan.config.allocationPercent,
      plan.config.allocationPercent,
      plan.config.allocationPercent,
    ]);
    const ramp = await w.app.ramps.status(id);
    expect(ramp.nextAction).toBe('held');
    expect(ramp.hold?.reason).toContain(guardrail);
    expect(ramp.gate.blind.map((b) => b.metricId)).toContain(guardrail);
    const report = await w.call('GET', `/experiments/${id}/metrics`);
    expect(report.blind.map((b: { metricId: string }) => b.metricId)).toContain(guardrail);
    expect(report.decision.decision).not.toBe('ship');
  }, 120_000);
});
