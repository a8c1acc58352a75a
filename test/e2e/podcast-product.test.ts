import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { createContainer, dbFileIn, type SqliteContainer } from '../../src/container.js';
import { appFetch, modernHttpClient, permissivePolicy, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';
import { prng } from '../../src/cli/simulate.js';
import { ROOT, runSealab } from '../helpers/cli.js';
import { ingestTwice, servedArms } from '../helpers/traffic.js';

// Issue 14's acceptance test: a second product, not the demo. The podcast team's catalog directory
// (catalog/examples/podcast: a Library surface, its content and metrics defined from raw events) is
// applied by the real CLI to an empty data directory; then an agent plans, creates, validates and
// deploys an experiment on the Library over MCP, the app serves layouts (exposures) and sends its raw
// product events over HTTP, and get_metrics reports exactly what the metric definitions say.

const PODCAST = path.join(ROOT, 'catalog/examples/podcast');

let dir: string | undefined;
let app: SqliteContainer | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the podcast catalog applied by the CLI, then an experiment on its Library over MCP with metrics from raw events', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-podcast-'));
  const dataDir = path.join(dir, 'data');
  const policyFile = path.join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(permissivePolicy()));

  // The podcast team's files, applied by the CLI to an empty data directory (no demo catalog).
  const applied = await runSealab(['catalog', 'apply', PODCAST, '--json', '--data-dir', dataDir, '--policy', policyFile]);
  expect(applied.code, applied.stderr).toBe(0);
  expect(JSON.parse(applied.stdout)).toMatchObject({ applied: true, version: 1 });

  app = await createContainer({ dbFile: dbFileIn(dataDir), seedDemo: false, policyFile });
  expect((await app.catalog.surfaces()).map((s) => s.id)).toEqual(['library']);
  const http = testHttp(app);
  const fetch = appFetch(http);
  client = await modernHttpClient(http);
  const tool = async (name: string, args: Record<string, unknown>) => {
    const r = (await client!.callTool({ name, arguments: args })) as ToolCallResult;
    if (r.isError) throw new Error(`${name}: ${textOf(r)}`);
    return r.structuredContent as Record<string, any>;
  };

  // The agent sees the team's surface and metrics, and plans on them.
  const { surfaces } = await tool('list_surfaces', {});
  expect(surfaces.map((s: { id: string }) => s.id)).toEqual(['library']);
  const plan = await tool('plan_experiment', {
    goal: 'recommend History Hour in the Recommended row to start more episodes',
    surfaceId: 'library',
    change: { operation: 'replace', slots: ['recommended'], content: ['pd-history-hour'] },
    metricId: 'episodes-started',
    mde: 0.1,
    owner: 'podcast-team',
  });
  expect(plan.validation.valid, JSON.stringify(plan.validation.findings)).toBe(true);
  const guardrails = plan.config.guardrails.map((g: { metricId: string }) => g.metricId);
  expect(guardrails.length).toBeGreaterThan(0);
  // Guardrails come from the team's own guardrail metrics, none from the demo.
  expect(guardrails.every((id: string) => ['completions-per-start', 'skip-rate', 'crash-rate'].includes(id))).toBe(true);

  // The team widens the plan: more traffic, more success metrics, and its other guardrails (a ratio, a filtered binary).
  const config = {
    ...plan.config,
    allocationPercent: 50,
    successMetrics: ['episodes-started', 'listen-minutes', 'episode-completion'],
    guardrails: [
      ...plan.config.guardrails.filter((g: { metricId: string }) => !['completions-per-start', 'skip-rate'].includes(g.metricId)),
      { metricId: 'completions-per-start', margin: 0.05 },
      { metricId: 'skip-rate', margin: 0.05 },
    ],
  };
  const { experiment } = await tool('create_experiment', { config });
  const verdict = await tool('validate_config', { experimentId: experiment.id });
  expect(verdict.valid, JSON.stringify(verdict.findings)).toBe(true);
  await tool('deploy_to_surface', {
    experimentId: experiment.id,
    version: experiment.version,
    planHash: verdict.planHash,
    confirmation: { reason: 'podcast launch review ok' },
  });
  const treatment = config.variants.find((v: { isControl?: boolean }) => !v.isControl).key as string;

  // The Library is served to 1,200 listeners; those the experiment decides the slot for are exposed, in the arm served.
  const arm = await servedArms(
    fetch,
    'library',
    experiment.id,
    Array.from({ length: 1200 }, (_, i) => `listener-${i}`),
  );
  await app.exposures.flush();
  expect(arm.size).toBeGreaterThan(400);
  const exposedAt = Date.now();
  const at = (h: number) => new Date(exposedAt + h * 3_600_000).toISOString();

  // Raw product events, as the app sends them; per listener, what the team's definitions make of them.
  const rand = prng(20261207);
  const events: Record<string, unknown>[] = [];
  const want = new Map<string, { started: number; minutes: number; completedAny: number; completed: number; skippedEarly: number; crashed: number }>();
  for (const [unitId, variant] of arm) {
    const episodes = Math.floor(rand() * (variant === 'control' ? 3 : 9)); // the treatment starts many more episodes: a sure detection, even always-valid and Holm-corrected
    const w = { started: 0, minutes: 0, completedAny: 0, completed: 0, skippedEarly: 0, crashed: 0 };
    for (let e = 0; e < episodes; e++) {
      const h = 1 + Math.floor(rand() * 200); // some after the 7-day window (168 h)
      const inWindow = h < 168;
      const listened = Math.round(rand() * 240);
      events.push({ type: 'event', name: 'episode_start', unitId, properties: { show: 'history-hour', episode: e }, ts: at(h) });
      events.push({ id: `${unitId}-listen-${e}`, type: 'event', name: 'listen', unitId, value: listened, ts: at(h) });
      if (inWindow) {
        w.started++;
        w.minutes += listened;
      }
      if (rand() < 0.45 && h + 1 < 168) {
        events.push({ type: 'event', name: 'episode_complete', unitId, properties: { episode: e }, ts: at(h + 1) });
        w.completed++;
        w.completedAny = 1;
      }
      const early = rand() < 0.3;
      events.push({ type: 'event', name: 'episode_skip', unitId, properties: { early, episode: e }, ts: at(h) });
      if (early && inWindow) w.skippedEarly = 1;
    }
    if (rand() < 0.05) {
      // crash-rate has no window: a crash 20 days later still counts, one before exposure does not.
      events.push({ type: 'event', name: 'app_crash', unitId, ts: at(rand() < 0.5 ? 480 : -2) });
      w.crashed = Number(events.at(-1)!.ts! > at(0));
    }
    events.push({ type: 'event', name: 'library_open', unitId, ts: at(0.5) }); // no metric uses it
    w.minutes = Math.min(w.minutes, 600); // listen-minutes' capMax
    want.set(unitId, w);
  }
  // Every batch is sent twice: a producer's retry counts nothing twice.
  const unmatched = await ingestTwice(fetch, events, 1000);
  expect(unmatched).toBe(arm.size); // the library_open events, stored for metrics defined later

  const results = await tool('get_metrics', { experimentId: experiment.id });
  const cell = (metricId: string, variant: string) =>
    results.metrics.find((m: { metricId: string }) => m.metricId === metricId).variants.find((v: { variant: string }) => v.variant === variant);
  for (const variant of ['control', treatment]) {
    const units = [...arm].filter(([, v]) => v === variant).map(([u]) => want.get(u)!);
    const sum = (k: keyof (typeof units)[number]) => units.reduce((s, u) => s + u[k], 0);
    expect(cell('episodes-started', variant)).toMatchObject({ units: units.length });
    expect(cell('episodes-started', variant).mean).toBeCloseTo(sum('started') / units.length, 9);
    expect(cell('listen-minutes', variant).mean).toBeCloseTo(sum('minutes') / units.length, 9);
    expect(cell('episode-completion', variant).mean).toBeCloseTo(sum('completedAny') / units.length, 9);
    expect(cell('completions-per-start', variant).mean).toBeCloseTo(sum('completed') / sum('started'), 9);
    expect(cell('skip-rate', variant).mean).toBeCloseTo(sum('skippedEarly') / units.length, 9);
    expect(cell('crash-rate', variant).mean).toBeCloseTo(sum('crashed') / units.length, 9);
  }
  expect(cell('episodes-started', treatment), JSON.stringify(results.metrics[0])).toMatchObject({ significant: true, assessment: 'better' });
}, 180_000);
