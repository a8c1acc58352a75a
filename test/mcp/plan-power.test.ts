import { afterEach, describe, expect, it } from 'vitest';
import { memoryClient, testContainer, textOf, type ToolCallResult } from '../helpers/app.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('plan_power (issue 9): every need, sized for the method in force, through the ramp', () => {
  it('sizes the success metric and each guardrail, and gives days per ramp stage on the demo Home surface', async () => {
    const app = await testContainer();
    cleanups.push(() => app.close());
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const r = (await client.callTool({
      name: 'plan_power',
      arguments: {
        metricId: 'stream-rate',
        mde: 0.05,
        surfaceId: 'home',
        allocationPercent: 10,
        rampStages: [25, 50],
        guardrails: [
          { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
          { metricId: 'latency-ms', margin: 0.02 },
        ],
      },
    })) as ToolCallResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    // python3: always-valid c(0.05) = 3.035209; stream-rate (0.32·0.68 + 0.336·0.664)·(c + z_0.8)²/0.016² = 25 874 (p₁ = 1.05·p₀);
    // latency-ms, one-sided (issue 10): c₁(0.05) = 2.779094 (ρ tuned at 2α), 2·6400·(c₁ + z_0.9)²/6.4² = 5152.76 → 5153
    // (power 1 − 0.2/2, one non-inferiority guardrail; with the two-sided c it was 5824).
    expect(r.structuredContent).toMatchObject({
      method: 'always-valid',
      requiredPerArm: 25_874,
      requiredTotal: 51_748,
      bindingMetricId: 'stream-rate',
      needs: [
        { metricId: 'stream-rate', test: 'superiority', requiredPerArm: 25_874 },
        { metricId: 'crash-rate', test: 'no_deterioration', requiredPerArm: null },
        { metricId: 'latency-ms', test: 'non_inferiority', requiredPerArm: 5153 },
      ],
      // 10% of 40 000/day for 24 h, 25% for 24 h, then 50% for (51 748 − 14 000)/20 000 days.
      stages: [
        { percent: 10, unitsPerDay: 4000, days: 1 },
        { percent: 25, unitsPerDay: 10_000, days: 1 },
        { percent: 50, unitsPerDay: 20_000, days: 1.89 },
      ],
      expectedDays: 4,
    });
    expect(textOf(r)).toContain('latency-ms non_inferiority: 5,153');
  });

  it('both ways (issue 10): power and mde at given units, at given days, and an explicit not-reachable result', async () => {
    const app = await testContainer();
    cleanups.push(() => app.close());
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    const call = async (args: Record<string, unknown>) => {
      const r = (await client.callTool({ name: 'plan_power', arguments: args })) as ToolCallResult;
      expect(r.isError, textOf(r)).toBeFalsy();
      return r.structuredContent as {
        requiredTotal: number;
        atSample: {
          totalUnits: number;
          source: string;
          needs: { metricId: string; power: number | null; mde: number | null; targetPower: number; notReachable: string | null }[];
        } | null;
        reachable: boolean;
        notReachable: string | null;
      };
    };
    // Round trip: at the planned total the success metric has at least the target power, and its mde is at most the asked one.
    const planned = await call({ metricId: 'minutes-played', mde: 0.02, method: 'fixed-horizon' });
    const at = await call({ metricId: 'minutes-played', mde: 0.02, method: 'fixed-horizon', units: planned.requiredTotal });
    const need = at.atSample!.needs[0];
    expect(at.atSample!.source).toBe('units');
    expect(need.power!).toBeGreaterThanOrEqual(0.8);
    expect(need.power!).toBeLessThan(0.8001);
    expect(need.mde!).toBeLessThanOrEqual(0.02);
    expect(need.mde!).toBeGreaterThan(0.01999);
    expect(at.reachable).toBe(true);
    // Half the sample: less power, and the plan says so instead of pretending.
    const half = await call({ metricId: 'minutes-played', mde: 0.02, method: 'fixed-horizon', units: Math.floor(planned.requiredTotal / 2) });
    expect(half.atSample!.needs[0].power!).toBeLessThan(0.8);
    expect(half.reachable).toBe(false);
    expect(half.notReachable).toMatch(/minutes-played reaches power/);
    // Days on the surface: the units its ramp delivers.
    const days = await call({ metricId: 'stream-rate', mde: 0.05, surfaceId: 'home', allocationPercent: 10, durationDays: 2 });
    expect(days.atSample).toMatchObject({ source: 'durationDays', totalUnits: 8000 }); // 10% of 40 000/day for 2 days
    // A conversion rate of 0.32 cannot rise by more than (1 − 0.32)/0.32 = 2.125 relative: with 10 units nothing reachable is detectable.
    const tiny = await call({ metricId: 'stream-rate', mde: 0.05, units: 10, method: 'fixed-horizon' });
    expect(tiny.atSample!.needs[0].mde).toBeNull();
    expect(tiny.atSample!.needs[0].notReachable).toMatch(/not reachable/);
    expect(tiny.reachable).toBe(false);
    // A plan beyond the policy's maxDurationDays on the surface is not reachable: the needs are read at what that duration delivers.
    const far = await call({ metricId: 'stream-rate', mde: 0.001, surfaceId: 'home', allocationPercent: 10 });
    expect(far.reachable).toBe(false);
    expect(far.atSample!.source).toBe('maxDurationDays');
    expect(far.notReachable).toMatch(/within the policy's \d+ days/);
  });
});
