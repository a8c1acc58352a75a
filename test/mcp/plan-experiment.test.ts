import { afterEach, describe, expect, it } from 'vitest';
import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { createMcpServerFactory } from '../../src/server/mcp-server.js';
import { appFetch, memoryClient, tableCounts, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
type Caller = { callTool(r: { name: string; arguments: Record<string, unknown> }): Promise<unknown> };
const call = async (c: Caller, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as ToolCallResult;
const ok = async (c: Caller, name: string, args: Record<string, unknown>) => {
  const r = await call(c, name, args);
  expect(r.isError, textOf(r)).toBeFalsy();
  return r.structuredContent as Record<string, any>;
};
async function setup(): Promise<SqliteContainer> {
  const app = await testContainer();
  cleanups.push(() => app.close());
  return app;
}
const GOAL = 'run an A/B test on the Home surface that tests a new ordering of shelves, with safe guardrails, launch it small';

/** A 2025-era client in memory that declares sampling; `answer` plays the client's model. */
async function samplingClient(app: SqliteContainer, answer: (prompt: string) => string, seen: string[]) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = await createMcpServerFactory(app, 'mcp-stdio')({ era: 'legacy' });
  await server.connect(serverSide);
  const client = new Client({ name: 'sampling-agent', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler('sampling/createMessage', async (req) => {
    const p = req.params as { messages: { content: { text: string } }[]; systemPrompt?: string };
    seen.push(`${p.systemPrompt}\n${p.messages[0].content.text}`);
    return { role: 'assistant', content: { type: 'text', text: answer(p.messages[0].content.text) }, model: 'scripted-model', stopReason: 'endTurn' };
  });
  await client.connect(clientSide);
  cleanups.push(() => client.close());
  return client;
}

describe('plan_experiment: a generator for surfaces', () => {
  it('the headline: a new ordering of Home shelves from structured hints renders them reordered, validates clean and names a ramp', async () => {
    const app = await setup();
    const c = await memoryClient(app);
    cleanups.push(() => c.close());
    const before = tableCounts(app);
    const p = await ok(c, 'plan_experiment', { goal: GOAL, surfaceId: 'home', change: { operation: 'reorder', slots: ['shelf-1', 'shelf-2', 'shelf-3'] } });
    expect(tableCounts(app)).toEqual(before);
    const { control, treatment } = p.layouts;
    const shelves = ['shelf-1', 'shelf-2', 'shelf-3'];
    expect(shelves.map((s) => treatment[s]).sort()).toEqual(shelves.map((s) => control[s]).sort());
    for (const s of shelves) expect(treatment[s], s).not.toBe(control[s]);
    expect(treatment['shelf-4']).toBe(control['shelf-4']);
    expect(p.hints).toEqual({ operation: 'reorder', slots: shelves, from: 'caller' });
    expect(p.config.variants[1].layout).toEqual([{ op: 'reorder', order: ['shelf-2', 'shelf-3', 'shelf-1'] }]);
    expect(p.validation.findings.filter((f: { severity: string }) => f.severity === 'error')).toEqual([]);
    expect(p.validation.valid).toBe(true);
    // Launch small: start at the first-stage cap, ramp in stages to the target, days per stage and in total.
    expect(p.config.allocationPercent).toBe(10);
    expect(p.config.rampPlan.stages.length).toBeGreaterThan(0);
    expect(Math.max(...p.config.rampPlan.stages)).toBeLessThanOrEqual(50);
    expect(p.sample.stages.map((s: { percent: number }) => s.percent)).toEqual([10, ...p.config.rampPlan.stages]);
    expect(p.sample.totalDays).toBeGreaterThan(0);
    expect(p.sample.totalDays).toBeLessThanOrEqual(p.config.analysisPlan.durationDays);
    expect(p.rationale.join('\n')).toMatch(/ramp 10% for \d+(\.\d+)? day\(s\).*total \d+ days/);
    expect(p.config.guardrails[0]).toMatchObject({ metricId: 'crash-rate', test: 'no_deterioration', marginType: 'relative' });
    // The plan goes straight to create_experiment and validates there too, overrides compiled on create.
    const { experiment } = await ok(c, 'create_experiment', { config: p.config });
    expect(experiment.id).toMatch(/^exp_/);
    const v = await ok(c, 'validate_config', { experimentId: experiment.id });
    expect(v.valid, JSON.stringify(v.findings)).toBe(true);
  });

  it('catches Daily Mix 1 in two shelves at once (issue 9), and compiles a layout given to create_experiment', async () => {
    const app = await setup();
    const c = await memoryClient(app);
    cleanups.push(() => c.close());
    const p = await ok(c, 'plan_experiment', {
      goal: 'daily mix higher up',
      surfaceId: 'home',
      change: { operation: 'replace', slots: ['shelf-1'], content: ['mx-daily-1'] },
    });
    expect(p.validation.valid).toBe(false);
    expect(p.validation.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'DUPLICATE_CONTENT_IN_LAYOUT', message: "variant 'treatment' shows 'mx-daily-1' in shelf-1 and shelf-2 at once" }),
      ]),
    );
    const config = {
      ...p.config,
      key: 'home-mix-swap',
      variants: [p.config.variants[0], { key: 'treatment', weight: 50, layout: [{ op: 'swap', slotIds: ['shelf-1', 'shelf-2'] }] }],
    };
    const { experiment } = await ok(c, 'create_experiment', { config });
    expect((await app.experiments.get(experiment.id)).variants[1].overrides).toEqual([
      { slotId: 'shelf-1', contentId: 'mx-daily-1' },
      { slotId: 'shelf-2', contentId: 'sh-recently-played' },
    ]);
    expect((await ok(c, 'validate_config', { experimentId: experiment.id })).valid).toBe(true);
  });

  it('without hints and without sampling: INVALID_INPUT listing the hints needed, the slots and an example', async () => {
    const app = await setup();
    const c = await memoryClient(app);
    cleanups.push(() => c.close());
    const r = await call(c, 'plan_experiment', { goal: GOAL, surfaceId: 'home' });
    expect(r.isError).toBe(true);
    const text = textOf(r);
    expect(text).toMatch(
      /^INVALID_INPUT: no change hints were given and this client cannot propose them \(no MCP sampling\): plan_experiment needs change = \{operation, slots, content\?\}/,
    );
    expect(text).toContain('shelf-5 (accepts shelf/mix/playlist; shows nothing; optional)');
    expect(text).toContain('shelf-2 (accepts shelf/mix/playlist; shows mx-daily-1)');
    expect(text).toMatch(/Example: \{"goal":.*"change":\{"operation":"reorder","slots":\[/);
  });

  it("with sampling (2025 session): the client's model proposes the hints; the rules judge them", async () => {
    const app = await setup();
    const seen: string[] = [];
    const c = await samplingClient(app, () => 'Here you go: {"operation":"swap","slots":["shelf-1","shelf-3"]}', seen);
    const p = await ok(c, 'plan_experiment', { goal: GOAL, surfaceId: 'home' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(
      /Answer with one JSON object only[\s\S]*Goal: "run an A\/B test[\s\S]*shelf-5 \(accepts shelf\/mix\/playlist; shows nothing; optional\)/,
    );
    expect(p.hints).toEqual({ operation: 'swap', slots: ['shelf-1', 'shelf-3'], from: 'client_model' });
    expect(p.rationale[0]).toMatch(/from the client's model \(sampling\), judged by validation/);
    expect(p.validation.valid).toBe(true);

    // A proposal the rules refuse is a finding, not a crash; an unusable answer is INVALID_INPUT.
    const bad = await samplingClient(app, () => '{"operation":"remove","slots":["shelf-1"]}', []);
    const refused = await ok(bad, 'plan_experiment', { goal: GOAL, surfaceId: 'home' });
    expect(refused.validation.findings.map((f: { code: string }) => f.code)).toContain('SLOT_NOT_OPTIONAL');
    const prose = await samplingClient(app, () => 'I would reorder the shelves.', []);
    expect(textOf(await call(prose, 'plan_experiment', { goal: GOAL, surfaceId: 'home' }))).toMatch(
      /^INVALID_INPUT: the client's model did not propose usable hints/,
    );
  });

  it('with sampling (2026-07-28 over HTTP): the proposal arrives through input_required', async () => {
    const app = await setup();
    const h = testHttp(app);
    cleanups.push(() => h.close());
    const client = new Client(
      { name: 'modern-sampler', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { sampling: {} } },
    );
    let asked = 0;
    client.setRequestHandler('sampling/createMessage', async () => {
      asked++;
      return {
        role: 'assistant',
        content: { type: 'text', text: '{"operation":"reorder","slots":["shelf-1","shelf-2","shelf-3"]}' },
        model: 'scripted-model',
        stopReason: 'endTurn',
      };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch: appFetch(h) }));
    cleanups.push(() => client.close());
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const p = await ok(client, 'plan_experiment', { goal: GOAL, surfaceId: 'home' });
    expect(asked).toBe(1);
    expect(p.hints).toMatchObject({ operation: 'reorder', from: 'client_model' });
    expect(p.validation.valid).toBe(true);
  });
});
