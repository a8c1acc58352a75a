import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { Metric } from '../../src/domain/schemas.js';
import { appFetch, demoConfig, modernHttpClient, permissivePolicy, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';
import { prng } from '../../src/cli/simulate.js';
import { ingestTwice, servedArms } from '../helpers/traffic.js';

// An experiment whose metrics are defined from raw product events, driven end to end: the agent
// creates, validates and deploys over MCP, the surface serves layouts (which records exposures),
// the product sends raw events over HTTP, and get_metrics reports what the definitions say.

const base = { description: 'podcast listening', direction: 'increase', isGuardrail: false } as const;
const METRICS: Metric[] = [
  {
    ...base,
    id: 'episodes-started',
    name: 'Episodes started on phones in 7 days',
    kind: 'count',
    baselineMean: 3,
    baselineVariance: 4,
    source: { event: 'episode_start', where: { platform: ['ios', 'android'] }, aggregate: 'count', windowHours: 168 },
  },
  {
    ...base,
    id: 'listen-minutes',
    name: 'Minutes listened in 7 days, capped at 120',
    kind: 'mean',
    baselineMean: 40,
    baselineVariance: 900,
    source: { event: 'listen', aggregate: 'sum', windowHours: 168 },
    capMax: 120,
  },
  {
    ...base,
    id: 'finished-one',
    name: 'Finished an episode',
    kind: 'binary',
    baselineMean: 0.4,
    baselineVariance: 0.24,
    source: { event: 'episode_complete', aggregate: 'any' },
  },
  {
    ...base,
    id: 'minutes-per-episode',
    name: 'Minutes per episode started',
    kind: 'ratio',
    baselineMean: 13,
    baselineVariance: 50,
    numeratorId: 'listen-minutes',
    denominatorId: 'episodes-started',
  },
];

let app: SqliteContainer | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  app?.close();
});

it('an experiment on metrics from raw events: create, deploy and read results over MCP, events over HTTP', async () => {
  app = await testContainer({ policy: permissivePolicy() });
  for (const m of METRICS) await app.deps.store.catalog.upsertMetric(m);
  const http = testHttp(app);
  const fetch = appFetch(http);
  client = await modernHttpClient(http);
  const tool = async (name: string, args: Record<string, unknown>) => {
    const r = (await client!.callTool({ name, arguments: args })) as ToolCallResult;
    if (r.isError) throw new Error(`${name}: ${textOf(r)}`);
    return r.structuredContent as Record<string, any>;
  };
  const config = demoConfig({
    key: 'podcast-shelf',
    allocationPercent: 50,
    successMetrics: ['episodes-started', 'listen-minutes', 'minutes-per-episode'],
    guardrails: [
      { metricId: 'crash-rate', margin: 0.02 },
      { metricId: 'finished-one', margin: 0.05 },
    ],
    analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.05, durationDays: 14, sequential: false },
  });
  const { experiment } = await tool('create_experiment', { config });
  const verdict = await tool('validate_config', { experimentId: experiment.id });
  expect(verdict.valid, JSON.stringify(verdict.findings)).toBe(true);
  await tool('deploy_to_surface', {
    experimentId: experiment.id,
    version: experiment.version,
    planHash: verdict.planHash,
    confirmation: { reason: 'launch review ok' },
  });

  // Serve Home to 1,200 units; those the experiment decides a slot for are exposed, in the arm served.
  const arm = await servedArms(
    fetch,
    'home',
    experiment.id,
    Array.from({ length: 1200 }, (_, i) => `pod-${i}`),
  );
  await app.exposures.flush();
  const exposedAt = Date.now();
  const at = (h: number) => new Date(exposedAt + h * 3_600_000).toISOString();

  // Raw events: the treatment starts 40% more episodes. Per unit, what the definitions should make of them.
  const rand = prng(20261207);
  const events: Record<string, unknown>[] = [];
  const want = new Map<string, { started: number; minutes: number; finished: number }>();
  for (const [unitId, variant] of arm) {
    const episodes = Math.floor(rand() * (variant === 'control' ? 5 : 7));
    let [started, minutes, finished] = [0, 0, 0];
    for (let e = 0; e < episodes; e++) {
      const platform = rand() < 0.8 ? 'ios' : 'web';
      const h = 1 + Math.floor(rand() * 200); // some after the 7-day window
      const listened = Math.round(rand() * 60);
      events.push({ type: 'event', name: 'episode_start', unitId, properties: { platform, episode: e }, ts: at(h) });
      events.push({ id: `${unitId}-listen-${e}`, type: 'event', name: 'listen', unitId, value: listened, ts: at(h) });
      if (h < 168) {
        if (platform !== 'web') started++;
        minutes += listened;
      }
      if (rand() < 0.5) {
        events.push({ type: 'event', name: 'episode_complete', unitId, properties: { episode: e }, ts: at(h + 1) });
        finished = 1;
      }
    }
    events.push({ type: 'event', name: 'app_open', unitId, ts: at(0.5) }); // no metric uses it
    want.set(unitId, { started, minutes: Math.min(minutes, 120), finished });
  }
  // Every batch is sent twice: a producer's retry counts nothing twice.
  const unmatched = await ingestTwice(fetch, events, 500);
  expect(unmatched).toBe(arm.size);

  const results = await tool('get_metrics', { experimentId: experiment.id });
  const cell = (metricId: string, variant: string) =>
    results.metrics.find((m: { metricId: string }) => m.metricId === metricId).variants.find((v: { variant: string }) => v.variant === variant);
  for (const variant of ['control', 'focus']) {
    const units = [...arm].filter(([, v]) => v === variant).map(([u]) => want.get(u)!);
    expect(units.length).toBeGreaterThan(200);
    const sum = (k: 'started' | 'minutes' | 'finished') => units.reduce((s, u) => s + u[k], 0);
    expect(cell('episodes-started', variant)).toMatchObject({ units: units.length });
    expect(cell('episodes-started', variant).mean).toBeCloseTo(sum('started') / units.length, 9);
    expect(cell('listen-minutes', variant).mean).toBeCloseTo(sum('minutes') / units.length, 9);
    expect(cell('finished-one', variant).mean).toBeCloseTo(sum('finished') / units.length, 9);
    expect(cell('minutes-per-episode', variant).mean).toBeCloseTo(sum('minutes') / sum('started'), 9);
  }
  expect(cell('episodes-started', 'focus')).toMatchObject({ significant: true, assessment: 'better' });
}, 120_000);
