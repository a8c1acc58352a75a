import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { EXTENSION_ID, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { getToolUiResourceUri } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { SqliteContainer } from '../../src/container.js';
import type { Experiment } from '../../src/domain/schemas.js';
import { createMcpServerFactory } from '../../src/server/mcp-server.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { HISTORY_META_KEY, MetricsHistorySchema, type MetricsHistory } from '../../src/app/results/metrics-history.js';
import { ALL_TOOLSETS, demoConfig, permissivePolicy, startRunning, testContainer } from '../helpers/app.js';
import { ingestDays } from '../helpers/results-traffic.js';
import { SKIP_BROWSER, launchBrowser, screenshot, watchErrors, type BrowserSession } from '../helpers/browser.js';

const RESULTS_URI = 'ui://sealab/results.html';
const DAYS = 5;

let app: SqliteContainer;
let experiment: Experiment;

/** An SDK client in memory against a fresh server; `apps` declares the MCP Apps extension as a host that renders them does. */
async function connect(apps: boolean): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = await createMcpServerFactory(app, 'mcp-stdio', { tools: ALL_TOOLSETS })({ era: 'legacy' });
  await server.connect(serverSide);
  const client = new Client(
    { name: apps ? 'apps-host' : 'text-host', version: '1.0.0' },
    apps ? { capabilities: { extensions: { [EXTENSION_ID]: { mimeTypes: [RESOURCE_MIME_TYPE] } } } } : {},
  );
  await client.connect(clientSide);
  return client;
}

let plain: Client;
let host: Client;

beforeAll(async () => {
  const clock = new SimulatedClock(new Date('2026-03-02T09:00:00Z'));
  app = await testContainer({ policy: permissivePolicy(), clock });
  // Guardrails of each kind: no deterioration (crash-rate), non-inferiority with a margin (minutes-played), and one with no data at all (skips: blind).
  const guardrails = [
    { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
    { metricId: 'minutes-played', margin: 0.05 },
    { metricId: 'skips', margin: 0.05, test: 'no_deterioration' },
  ];
  experiment = await startRunning(app, demoConfig({ allocationPercent: 20, rampPlan: { stages: [35, 50] }, guardrails }));
  await ingestDays(app, clock, experiment.id, { days: DAYS, perArmPerDay: 80 });
  plain = await connect(false);
  host = await connect(true);
});
afterAll(async () => {
  await plain?.close();
  await host?.close();
  app?.close();
});

type Result = { content: unknown[]; structuredContent?: Record<string, any>; _meta?: Record<string, unknown>; isError?: boolean };
const call = async (client: Client, name: string) => (await client.callTool({ name, arguments: { experimentId: experiment.id } })) as Result;

describe('the results MCP App (ui://sealab/results.html)', () => {
  it('get_metrics and get_ramp_status name the view in _meta.ui (and the legacy key); no other tool does', async () => {
    const { tools } = await plain.listTools();
    const withUi = tools.filter((t) => getToolUiResourceUri(t) !== undefined).map((t) => t.name);
    expect(withUi.sort()).toEqual(['get_metrics', 'get_ramp_status']);
    for (const name of withUi) {
      const t = tools.find((x) => x.name === name)!;
      expect(t._meta).toEqual({ ui: { resourceUri: RESULTS_URI }, 'ui/resourceUri': RESULTS_URI });
    }
  });

  it('is listed as a UI resource and reads as one self-contained HTML5 document', async () => {
    const listed = (await plain.listResources()).resources.find((r) => r.uri === RESULTS_URI);
    expect(listed).toMatchObject({ uri: RESULTS_URI, mimeType: RESOURCE_MIME_TYPE, _meta: { ui: { prefersBorder: true } } });
    const read = await plain.readResource({ uri: RESULTS_URI });
    expect(read.contents).toHaveLength(1);
    const c = read.contents[0] as { uri: string; mimeType: string; text: string; _meta?: Record<string, unknown> };
    expect(c).toMatchObject({ uri: RESULTS_URI, mimeType: 'text/html;profile=mcp-app', _meta: { ui: { prefersBorder: true } } });
    expect(c.text.startsWith('<!doctype html>')).toBe(true);
    expect(c.text).toContain('<script type="module">');
    // Inline only: nothing for the host's default CSP (no declared domains) to block.
    expect(c.text).not.toMatch(/\s(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(c.text.match(/<\/script/gi)).toHaveLength(1);
  });

  it('a host without Apps gets exactly the text and structuredContent it got before, and no _meta', async () => {
    const [a, b] = [await call(plain, 'get_metrics'), await call(host, 'get_metrics')];
    expect(a._meta).toBeUndefined();
    expect(a.content).toEqual(b.content);
    expect(a.structuredContent).toEqual(b.structuredContent);
    expect(a.structuredContent).toEqual(JSON.parse(JSON.stringify(await app.metrics.report(experiment.id))));
    const [ra, rb] = [await call(plain, 'get_ramp_status'), await call(host, 'get_ramp_status')];
    expect(ra._meta).toBeUndefined();
    expect(rb._meta).toBeUndefined();
    expect(ra.structuredContent).toEqual(rb.structuredContent);
  });

  it('a host with Apps also gets the effect over time in _meta["sealab/history"], ending at get_metrics’ own interval', async () => {
    const r = await call(host, 'get_metrics');
    const history = MetricsHistorySchema.parse(r._meta?.[HISTORY_META_KEY]);
    expect(history).toEqual(JSON.parse(JSON.stringify(await app.metrics.history(experiment.id))));
    expect(history.series.map((s) => `${s.metricId}/${s.points.length}`).sort()).toEqual([
      `crash-rate/${DAYS}`,
      `minutes-played/${DAYS}`,
      'skips/0',
      `stream-rate/${DAYS}`,
    ]);
    for (const s of history.series.filter((x) => x.points.length)) {
      const cell = r.structuredContent!.metrics.find((m: any) => m.metricId === s.metricId).variants.find((v: any) => v.variant === s.variant);
      const { day: _day, ...last } = s.points.at(-1)!;
      expect(last).toEqual(cell.absolute);
    }
  });
});

describe.skipIf(SKIP_BROWSER)('the App in a browser, inside a minimal Apps host (AppBridge over postMessage)', () => {
  let session: BrowserSession;
  let hostJs: string;

  beforeAll(async () => {
    session = await launchBrowser();
    const built = await build({
      entryPoints: [fileURLToPath(new URL('./apps-host.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
    });
    hostJs = built.outputFiles[0].text.replace(/<\/(script)/gi, '<\\/$1');
  }, 60_000);
  afterAll(async () => {
    await session?.close();
  });

  it('draws a real get_metrics result: the numbers in the SVG are the API’s, a band for each day, the decision, the ramp', async () => {
    const page = await session.browser.newPage({ viewport: { width: 960, height: 900 } });
    const errors = watchErrors(page);
    const html = ((await host.readResource({ uri: RESULTS_URI })).contents[0] as { text: string }).text;
    const result = await call(host, 'get_metrics');
    const m = result.structuredContent!;
    const history = result._meta![HISTORY_META_KEY] as MetricsHistory;
    await page.exposeFunction('hostCallTool', async (params: { name: string; arguments?: Record<string, unknown> }) =>
      JSON.parse(JSON.stringify(await host.callTool({ name: params.name, arguments: params.arguments ?? {} }))),
    );
    await page.setContent(`<!doctype html><html><head><title>test host</title></head><body><script type="module">${hostJs}</script></body></html>`);
    await page.waitForFunction(() => typeof window.startApp === 'function');
    await page.evaluate((start) => window.startApp(start), {
      html,
      toolInput: { experimentId: experiment.id },
      toolResult: JSON.parse(JSON.stringify(result)),
    });

    const view = page.frameLocator('iframe');
    await view.locator('[data-view="results"] [data-decision]').waitFor({ timeout: 30_000 });
    // The App asked the host for the ramp (a running experiment) and drew its timeline.
    await view.locator('[data-stage]').first().waitFor({ timeout: 30_000 });

    // Decision, as the API said, with its reasons.
    const decision = view.locator('[data-decision]');
    expect(await decision.getAttribute('data-decision')).toBe(m.decision.decision);
    expect(await decision.textContent()).toContain(m.decision.reasons[0]);

    // Every (metric, treatment) interval bar is an SVG rect carrying the API's numbers.
    let cells = 0;
    for (const metric of m.metrics) {
      for (const v of metric.variants.filter((x: any) => x.absolute)) {
        const bar = view.locator(`svg rect[data-metric="${metric.metricId}"][data-variant="${v.variant}"]`);
        expect(await bar.count()).toBe(1);
        expect(await bar.getAttribute('data-estimate')).toBe(String(v.absolute.estimate));
        expect(await bar.getAttribute('data-lower')).toBe(String(v.absolute.lower));
        expect(await bar.getAttribute('data-upper')).toBe(String(v.absolute.upper));
        cells++;
      }
    }
    expect(cells).toBe(3);

    // The non-inferiority margin drawn where get_metrics judged it; the blind metric marked.
    const mp = m.metrics.find((x: any) => x.metricId === 'minutes-played').variants.find((v: any) => !v.isControl);
    const margin = view.locator('[data-metric-figure="minutes-played"] svg [data-margin]');
    expect(mp.nonInferiority.threshold).toBeGreaterThan(0); // the margin's size; higher is better, so the line lies below zero
    expect(await margin.getAttribute('data-margin')).toBe(String(-mp.nonInferiority.threshold));
    expect(m.blind).toContainEqual({ metricId: 'skips', role: 'guardrail', variant: 'focus' });
    expect(await view.locator('[data-metric-figure="skips"] [data-blind="focus"]').count()).toBe(1);

    // The confidence-sequence band: one drawn segment per day per series, with the history's numbers.
    for (const s of history.series.filter((x) => x.points.length)) {
      const days = view.locator(`[data-history="${s.metricId}/${s.variant}"] svg [data-day]`);
      expect(await days.count()).toBe(DAYS);
      for (const [i, p] of s.points.entries()) {
        const seg = days.nth(i);
        expect(await seg.getAttribute('data-day')).toBe(p.day);
        expect(await seg.getAttribute('data-lower')).toBe(String(p.lower));
        expect(await seg.getAttribute('data-upper')).toBe(String(p.upper));
      }
    }
    const ramp = (await call(host, 'get_ramp_status')).structuredContent!;
    expect(ramp.stageCount).toBe(3);
    expect(await view.locator('[data-stage]').count()).toBe(ramp.stageCount);
    expect(await view.locator('[data-stage="1"]').getAttribute('data-state')).toBe('current');
    expect(await view.locator('[data-stage="3"]').getAttribute('data-percent')).toBe('50');
    expect(await page.evaluate(() => window.hostEvents)).toEqual(['initialized', 'tools/call get_ramp_status']);

    // Text alternatives: every chart has an accessible name and a table of its numbers.
    for (const svg of await view.locator('svg[aria-label]').all()) expect((await svg.getAttribute('aria-label'))!.length).toBeGreaterThan(5);
    expect(await view.locator('figure table caption').count()).toBeGreaterThanOrEqual(m.metrics.length + history.series.length);

    // A viewport as tall as the page, so the (out-of-process) iframe is painted whole in the picture.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 960, height: Math.min(4000, height + 20) });
    await page.waitForTimeout(300);
    await screenshot(page, 'mcp-app-results');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
