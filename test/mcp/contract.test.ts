import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { tools } from '../../tools/index.js';
import { commitShip, demoConfig, memoryClient, testContainer, textOf, type ToolCallResult } from '../helpers/app.js';

let app: SqliteContainer;
let client: Client;
let listed: Awaited<ReturnType<Client['listTools']>>['tools'];

beforeAll(async () => {
  app = await testContainer();
  client = await memoryClient(app);
  listed = (await client.listTools()).tools;
});
afterAll(async () => {
  await client.close();
  app.close();
});

const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('tool contract (what agents see)', () => {
  it('lists exactly the tools in tools/index.ts', () => {
    expect(listed.map((t) => t.name).sort()).toEqual(tools.map((t) => t.name).sort());
    expect(listed.length).toBeGreaterThanOrEqual(8);
  });

  it.each(tools.map((t) => [t.name]))('%s: name, title, description, annotations, schemas, README', (name) => {
    const t = listed.find((x) => x.name === name)!;
    expect(t.name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/);
    expect(t.title?.length).toBeGreaterThan(3);
    expect(t.description!.length).toBeGreaterThan(120);
    expect(t.annotations).toMatchObject({
      readOnlyHint: expect.any(Boolean),
      destructiveHint: expect.any(Boolean),
      idempotentHint: expect.any(Boolean),
      openWorldHint: expect.any(Boolean),
    });
    expect(t.inputSchema.type).toBe('object');
    expect(t.inputSchema).not.toHaveProperty('anyOf');
    expect(t.outputSchema?.type).toBe('object');
    expect(t.outputSchema).not.toHaveProperty('anyOf');
    for (const [field, schema] of Object.entries((t.inputSchema.properties ?? {}) as Record<string, { description?: string }>)) {
      expect(schema.description, `${name}.${field} needs .describe()`).toBeTruthy();
    }
    expect(readme).toContain(`\`${name}\``);
  });

  it.each(tools.map((t) => [t.name]))('%s: listed schema snapshot', async (name) => {
    const t = listed.find((x) => x.name === name)!;
    await expect(
      JSON.stringify({ title: t.title, annotations: t.annotations, inputSchema: t.inputSchema, outputSchema: t.outputSchema }, null, 2),
    ).toMatchFileSnapshot(`./__snapshots__/${name}.schema.json`);
  });

  it('every tool output honours its listed outputSchema', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const check = async (name: string, args: Record<string, unknown>) => {
      const r = (await client.callTool({ name, arguments: args })) as ToolCallResult;
      expect(r.isError, textOf(r)).toBeFalsy();
      const validate = ajv.compile(listed.find((x) => x.name === name)!.outputSchema!);
      expect(validate(r.structuredContent), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(textOf(r).length).toBeGreaterThan(0);
      return r.structuredContent as Record<string, any>;
    };
    const covered = new Set<string>();
    const run = async (name: string, args: Record<string, unknown>) => {
      covered.add(name);
      return check(name, args);
    };
    const confirmation = { reason: 'contract test approval' };
    await run('list_surfaces', {});
    const planned = await run('plan_experiment', {
      goal: 'more listening from a focus shelf',
      surfaceId: 'home',
      change: { operation: 'replace', slots: ['shelf-2'], content: ['sh-focus'] },
    });
    expect(planned.validation.valid).toBe(true);
    const { experiment: draft } = await run('create_experiment', { config: { ...demoConfig({ key: 'home-draft' }), guardrails: [] } });
    const bad = await run('validate_config', { experimentId: draft.id });
    await run('update_experiment', { experimentId: draft.id, version: bad.version, patch: bad.fixPatch });
    const { experiment } = await run('create_experiment', { config: demoConfig() });
    await run('validate_config', { config: demoConfig({ key: 'other' }) });
    const { planHash } = await run('validate_config', { experimentId: experiment.id });
    await run('deploy_to_surface', { experimentId: experiment.id, version: 1, planHash, dryRun: true });
    const deployed = await run('deploy_to_surface', { experimentId: experiment.id, version: 1, planHash, confirmation });
    await run('list_experiments', { status: ['running'] });
    await run('get_experiment', { experimentId: experiment.id });
    app.events.assign('home', 'contract-unit');
    await run('plan_power', { metricId: 'stream-rate', mde: 0.05, surfaceId: 'home', allocationPercent: 10 });
    await run('get_assignment', { surfaceId: 'home', unitId: 'contract-unit', platform: 'ios' });
    await run('get_metrics', { experimentId: experiment.id });
    const paused = await run('pause_experiment', { experimentId: experiment.id, version: 2, reason: 'contract test' });
    const resumed = await run('deploy_to_surface', {
      experimentId: experiment.id,
      version: paused.experiment.version,
      planHash: deployed.planHash,
      confirmation,
    });
    expect(resumed.plan.action).toBe('resume');
    const stopped = await run('stop_experiment', { experimentId: experiment.id, reason: 'contract test', confirmation });
    await run('archive_experiment', { experimentId: experiment.id, version: stopped.experiment.version, reason: 'contract test' });
    const { experiment: ramped } = await run('create_experiment', {
      config: demoConfig({ key: 'home-ramped', rampPlan: { stages: [25], minHours: 48, gate: { minUnitsPerArm: 200 } } }),
    });
    const rampPlan = await run('validate_config', { experimentId: ramped.id });
    await run('deploy_to_surface', { experimentId: ramped.id, version: ramped.version, planHash: rampPlan.planHash, confirmation });
    const ramp = await run('get_ramp_status', { experimentId: ramped.id });
    await run('hold_ramp', { experimentId: ramped.id, reason: 'contract test' });
    const advanced = await run('advance_ramp', { experimentId: ramped.id, version: ramp.version, planHash: ramp.planHash, confirmation });
    expect(advanced.ramp).toMatchObject({ allocationPercent: 25, nextAction: 'complete' });
    // A concluded ship, written by the stop's commit step (test/app/deploy/ship.test.ts reaches a real ship decision).
    const ship = { variant: 'focus', at: new Date().toISOString(), decision: { decision: 'ship' } };
    const sys = { actor: 'test', interface: 'cli' as const, operation: 'contract', requestId: 'r' };
    await commitShip(app, ramped.id, ship, 'contract', sys);
    const shipped = await run('get_experiment', { experimentId: ramped.id });
    expect(shipped.conclusion).toMatchObject({ outcome: 'shipped', variant: 'focus', revert: null });
    const reverted = await run('revert_ship', { experimentId: ramped.id, reason: 'contract test', confirmation });
    expect(reverted.conclusion.revert).toMatchObject({ reason: 'contract test' });
    // A policy that wants a person's approval: the step is held and the agent reads the request.
    const policy = app.deps.policy;
    app.setPolicy({ ...policy, defaults: { ...policy.defaults, confirmation: { ...policy.defaults.confirmation, deploy: 'approval' } } });
    const { experiment: held } = await run('create_experiment', { config: demoConfig({ key: 'home-held' }) });
    const heldPlan = await run('validate_config', { experimentId: held.id });
    const pending = await run('deploy_to_surface', { experimentId: held.id, version: held.version, planHash: heldPlan.planHash });
    expect(pending).toMatchObject({ applied: false, approval: { status: 'pending_approval' } });
    expect(await run('get_approval', { approvalId: pending.approval.approvalId })).toMatchObject({ status: 'pending', step: 'deploy' });
    expect(await run('diagnose_orchestration', { windowMinutes: 60 })).toMatchObject({ slowest: [], stuck: [] });
    await app.slo.sample();
    expect((await run('get_slo_status', {})).slos.length).toBeGreaterThan(0);
    const metric = { ...(await app.catalog.metrics())[0], id: 'contract-metric', name: 'Contract metric' };
    const change = { mode: 'merge', catalog: { metrics: [metric] } };
    expect((await run('plan_catalog_change', change)).counts).toMatchObject({ added: 1, breaking: 0 });
    expect(await run('apply_catalog_change', { ...change, dryRun: false })).toMatchObject({ applied: true, dryRun: false });
    expect([...covered].sort()).toEqual(tools.map((t) => t.name).sort());
  });

  it('errors are isError results whose text ends with what to do next', async () => {
    for (const t of tools) {
      const r = (await client.callTool({ name: t.name, arguments: { experimentId: 12 } })) as ToolCallResult;
      if (!r.isError) continue; // tools whose input accepts this
      expect(textOf(r)).toMatch(/^[A-Z_]+: [\s\S]+\nNext: .+/);
    }
  });
});
