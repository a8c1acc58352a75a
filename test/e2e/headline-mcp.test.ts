import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { runSimulatedDays } from '../../src/cli/simulate-days.js';
import type { Container } from '../../src/container.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { appFetch, modernHttpClient, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';
import { type EngineApp, engineContainer } from '../helpers/engine-container.js';
import { ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * The headline task, as a new user's agent would do it: "run an A/B test on the Home surface that
 * tests a new ordering of shelves, with safe guardrails, launch it small, send traffic, and read
 * the results with a decision". A scripted MCP client (2026-07-28, over streamable HTTP against
 * the hono app) uses only tools and structured hints; traffic comes from the day-by-day simulator
 * on a simulated clock, under the shipped default policy. It must end in a ship that Home serves —
 * on a single SQLite process and on a gateway replica on PostgreSQL (issue 17: the same composition,
 * served exposures, ingest, fold, ramp and stop on the shared database).
 */

const GOAL =
  'run an A/B test on the Home surface that tests a new ordering of shelves, with safe guardrails, launch it small, send traffic, and read the results with a decision';
const APPROVAL = { reason: 'approved by the product owner in the launch review' };

let built: EngineApp | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await built?.close();
  built = client = undefined;
});

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'headline'), () => {
    it('the headline task ends in a ship decision that changes what Home serves', async () => {
      let n = 0;
      const opts = { clock: new SimulatedClock(new Date('2027-02-01T00:00:00.000Z')), newId: (p: string) => `${p}_headline${(++n).toString(36)}` };
      built = await engineContainer(engine, opts);
      await headline(built.app);
    }, 180_000);
  });
}

async function headline(app: Container): Promise<void> {
  const http = testHttp(app);
  client = await modernHttpClient(http);
  const tool = async (name: string, args: Record<string, unknown>) => {
    const r = (await client!.callTool({ name, arguments: args })) as ToolCallResult;
    if (r.isError) throw new Error(`${name}: ${textOf(r)}`);
    return r.structuredContent as Record<string, any>;
  };

  const { surfaces } = await tool('list_surfaces', {});
  const home = surfaces.find((s: { id: string }) => s.id === 'home');
  expect(home.slots.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining(['shelf-1', 'shelf-2', 'shelf-3']));

  // Structured hints, not keywords: the operation and the slots; the goal is only the hypothesis.
  const plan = await tool('plan_experiment', {
    goal: GOAL,
    surfaceId: 'home',
    change: { operation: 'reorder', slots: ['shelf-1', 'shelf-2', 'shelf-3'] },
    mde: 0.05,
    owner: 'home-team',
  });
  expect(plan.validation.valid).toBe(true);
  expect(plan.config.guardrails.map((g: { metricId: string }) => g.metricId)).toContain('crash-rate');
  expect(plan.config.allocationPercent).toBeLessThanOrEqual(10); // launched small: the policy's first-stage cap
  expect(plan.config.rampPlan.stages.length).toBeGreaterThan(0);

  const { experiment } = await tool('create_experiment', { config: plan.config, idempotencyKey: 'headline-1' });
  const verdict = await tool('validate_config', { experimentId: experiment.id });
  expect(verdict).toMatchObject({ valid: true, recorded: true });
  const started = await tool('deploy_to_surface', {
    experimentId: experiment.id,
    version: experiment.version,
    planHash: verdict.planHash,
    confirmation: APPROVAL,
  });
  expect(started).toMatchObject({ applied: true });

  const log = await runSimulatedDays({
    url: 'http://127.0.0.1',
    fetch: appFetch(http),
    days: plan.config.analysisPlan.durationDays,
    experiment: experiment.id,
    effect: 0.12,
    untilDecision: true,
    seed: 11,
    out: () => undefined,
  });
  expect(log.stoppedBecause).toBe('decision');
  expect(log.days.length).toBeLessThanOrEqual(plan.config.analysisPlan.durationDays);

  const ramp = await tool('get_ramp_status', { experimentId: experiment.id });
  expect(ramp.allocationPercent).toBe(Math.max(...plan.config.rampPlan.stages));
  const results = await tool('get_metrics', { experimentId: experiment.id });
  expect(results.decision).toMatchObject({ decision: 'ship', pending: [] });
  expect(results.blind).toEqual([]);

  const shipped = await tool('stop_experiment', {
    experimentId: experiment.id,
    outcome: 'shipped',
    reason: 'ship: the new shelf order wins, guardrails hold',
    confirmation: APPROVAL,
  });
  expect(shipped.experiment).toMatchObject({ status: 'concluded', outcome: 'shipped' });
  const record = await tool('get_experiment', { experimentId: experiment.id });
  expect(record.conclusion).toMatchObject({ outcome: 'shipped', decision: { decision: 'ship' } });

  // Everyone on Home now gets the new order.
  const layout = await tool('get_assignment', { surfaceId: 'home', unitId: 'someone-new' });
  const served = Object.fromEntries(layout.layout.map((l: { slotId: string; contentId: string | null }) => [l.slotId, l.contentId]));
  const treatment = plan.config.variants.find((v: { isControl: boolean }) => !v.isControl);
  for (const o of treatment.overrides) expect(served[o.slotId]).toBe(o.contentId);
}
