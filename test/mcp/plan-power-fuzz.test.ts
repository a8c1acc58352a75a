import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { demoConfig, memoryClient, testContainer, textOf, type ToolCallResult } from '../helpers/app.js';

/**
 * Inputs the schemas accept must give a result or a typed error with a hint: never a non-finite number
 * reaching the output schema ("Output validation error"), never INTERNAL. The ranges are the tools'
 * own, edges included (α and weights near 0, power near 1, an mde near 0).
 */
let app: SqliteContainer;
let client: Client;
beforeAll(async () => {
  app = await testContainer();
  client = await memoryClient(app);
});
afterAll(async () => {
  await client.close();
  app.close();
});

const tiny = fc.constantFrom(Number.MIN_VALUE, 1e-320, 1e-300, 1e-17, 1e-9);
/** A double in (lo, hi): the open interval's edges and anything between. */
const open = (lo: number, hi: number, edges: number[] = []) =>
  fc.oneof(fc.double({ min: lo, max: hi, noNaN: true, minExcluded: true, maxExcluded: true }), fc.constantFrom(...edges));
const positive = fc.oneof(fc.double({ min: Number.MIN_VALUE, max: 1e6, noNaN: true }), tiny, fc.constantFrom(1e300, Number.MAX_VALUE));

const powerArgs = fc.record(
  {
    metricId: fc.constantFrom('stream-rate', 'minutes-played', 'skips-per-stream', 'latency-p90', 'crash-rate', 'retention-d7'),
    mde: open(0, 10, [Number.MIN_VALUE, 1e-300, 1e-12, 9.999999999]),
    alpha: open(0, 0.5, [Number.MIN_VALUE, 1e-320, 1e-17, 0.49999999999]),
    power: open(0.5, 1, [0.5000000001, 0.9999999999999999]),
    weights: fc.array(positive, { minLength: 2, maxLength: 4 }),
    guardrails: fc.array(
      fc.record({
        metricId: fc.constantFrom('crash-rate', 'latency-ms', 'skip-rate'),
        margin: positive,
        test: fc.constantFrom('non_inferiority', 'no_deterioration'),
      }),
      { maxLength: 2 },
    ),
    method: fc.constantFrom('always-valid', 'fixed-horizon', 'group-sequential'),
    looks: fc.integer({ min: 2, max: 20 }),
    surfaceId: fc.constantFrom('home', 'search', 'now-playing'),
    allocationPercent: fc.oneof(fc.double({ min: 1e-9, max: 100, noNaN: true }), fc.constantFrom(Number.MIN_VALUE, 100)),
    rampStages: fc.array(fc.oneof(fc.double({ min: 1e-9, max: 100, noNaN: true }), fc.constantFrom(Number.MIN_VALUE, 100)), { maxLength: 3 }),
    units: fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER)),
    durationDays: fc.oneof(fc.double({ min: 1e-9, max: 365, noNaN: true }), fc.constantFrom(Number.MIN_VALUE, 365)),
  },
  { requiredKeys: ['metricId', 'mde'] },
);

/** A result, or an isError text `CODE: message … Next: hint` with a code other than INTERNAL. */
function expectResultOrTypedError(r: ToolCallResult, args: unknown) {
  const text = textOf(r);
  const context = `${JSON.stringify(args)} → ${text}`;
  if (!r.isError) {
    expect(r.structuredContent, context).toBeDefined();
    return;
  }
  expect(text, context).toMatch(/^(?!INTERNAL)[A-Z_]+: [\s\S]+\nNext: \S[\s\S]{10,}$/);
  expect(text, context).not.toMatch(/Output validation error|received (Infinity|NaN)|Invalid structured content/);
}

describe('plan_power and plan_experiment over the accepted input ranges', () => {
  it('the fuzzing findings: α = 1e-17, a weight of 1e-320, an mde of 1e-300', async () => {
    for (const args of [
      { metricId: 'stream-rate', mde: 0.05, alpha: 1e-17, method: 'fixed-horizon' },
      { metricId: 'stream-rate', mde: 0.05, weights: [1e-320, 50] },
      { metricId: 'stream-rate', mde: 0.05, weights: [1e-320, 50], surfaceId: 'home' },
      { metricId: 'stream-rate', mde: 1e-300 },
    ]) {
      const r = (await client.callTool({ name: 'plan_power', arguments: args })) as ToolCallResult;
      expectResultOrTypedError(r, args);
      expect(textOf(r)).toMatch(/^INVALID_INPUT: no finite sample [\s\S]*\nNext: Ask for something a finite sample can show/);
    }
    const always = (await client.callTool({ name: 'plan_power', arguments: { metricId: 'stream-rate', mde: 0.05, alpha: 1e-17 } })) as ToolCallResult;
    expect(always.isError, textOf(always)).toBeFalsy();
    expect(always.structuredContent?.requiredPerArm).toBeGreaterThan(25_874);
  });

  it('validate_config: a plan no finite sample can satisfy is an UNPLANNABLE finding, and get_metrics on such a draft a typed error', async () => {
    const config = demoConfig({ key: 'unplannable', analysisPlan: { alpha: 0.05, power: 0.8, mde: Number.MIN_VALUE, durationDays: 14, sequential: true } });
    const r = (await client.callTool({ name: 'validate_config', arguments: { config } })) as ToolCallResult;
    const v = r.structuredContent as { valid: boolean; findings: { code: string; severity: string; message: string }[] };
    expect(v.valid).toBe(false);
    expect(v.findings.filter((f) => f.code === 'UNPLANNABLE')).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringMatching(/^no finite sample detects an mde of 5e-324 on 'stream-rate'/) }),
    ]);
    expect(v.findings.map((f) => f.code)).not.toContain('UNDERPOWERED');
    const created = (await client.callTool({ name: 'create_experiment', arguments: { config } })) as ToolCallResult;
    expect(created.isError, textOf(created)).toBeFalsy();
    const metrics = (await client.callTool({ name: 'get_metrics', arguments: { experimentId: 'unplannable' } })) as ToolCallResult;
    expect(textOf(metrics)).toMatch(/^INVALID_INPUT: no finite sample [\s\S]*Next: validate_config names the input \(UNPLANNABLE\)/);
  });

  it('plan_power: every answer is a result or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(powerArgs, async (args) => {
        const r = (await client.callTool({ name: 'plan_power', arguments: args })) as ToolCallResult;
        expectResultOrTypedError(r, args);
      }),
      { numRuns: 300, seed: 12 },
    );
  }, 120_000);

  it('plan_experiment: every answer is a result or a typed error', async () => {
    const change = { operation: 'replace', slots: ['shelf-2'], content: ['sh-focus'] };
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            mde: open(0, 10, [Number.MIN_VALUE, 1e-300, 1e-12, 9.999999999]),
            durationDays: fc.integer({ min: 1, max: 180 }),
            metricId: fc.constantFrom('stream-rate', 'minutes-played', 'skips-per-stream', 'retention-d7'),
          },
          { requiredKeys: [] },
        ),
        async (extra) => {
          const args = { goal: 'a focus shelf gets more people listening', surfaceId: 'home', change, ...extra };
          const r = (await client.callTool({ name: 'plan_experiment', arguments: args })) as ToolCallResult;
          expectResultOrTypedError(r, args);
        },
      ),
      { numRuns: 60, seed: 12 },
    );
  }, 120_000);

  it('validate_config: an analysis plan the schema accepts is judged, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ alpha: open(0, 0.5, [Number.MIN_VALUE, 1e-17]), mde: open(0, 10, [Number.MIN_VALUE, 1e-300]), power: open(0.5, 1, [0.9999999999999999]) }),
        async (plan) => {
          const args = { config: demoConfig({ analysisPlan: { ...plan, durationDays: 14, sequential: true } }) };
          const r = (await client.callTool({ name: 'validate_config', arguments: args })) as ToolCallResult;
          expectResultOrTypedError(r, plan);
        },
      ),
      { numRuns: 60, seed: 12 },
    );
  }, 120_000);
});
