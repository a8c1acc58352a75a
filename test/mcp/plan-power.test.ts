import { afterEach, describe, expect, it } from 'vitest';
import { memoryClient, testContainer, textOf, type ToolCallResult } from '../helpers/app.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('plan_power (issue 9): every need, sized for the method in force, through the ramp', () => {
  it('sizes the success metric and each guardrail, and gives days per ramp stage on the demo Home surface', async () => {
    const app = testContainer();
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
    // latency-ms 2·6400·(c + z_0.9)²/6.4² = 5824 (power 1 − 0.2/2, one non-inferiority guardrail).
    expect(r.structuredContent).toMatchObject({
      method: 'always-valid',
      requiredPerArm: 25_874,
      requiredTotal: 51_748,
      bindingMetricId: 'stream-rate',
      needs: [
        { metricId: 'stream-rate', test: 'superiority', requiredPerArm: 25_874 },
        { metricId: 'crash-rate', test: 'no_deterioration', requiredPerArm: null },
        { metricId: 'latency-ms', test: 'non_inferiority', requiredPerArm: 5824 },
      ],
      // 10% of 40 000/day for 24 h, 25% for 24 h, then 50% for (51 748 − 14 000)/20 000 days.
      stages: [
        { percent: 10, unitsPerDay: 4000, days: 1 },
        { percent: 25, unitsPerDay: 10_000, days: 1 },
        { percent: 50, unitsPerDay: 20_000, days: 1.89 },
      ],
      expectedDays: 4,
    });
    expect(textOf(r)).toContain('latency-ms non_inferiority: 5,824');
  });
});
