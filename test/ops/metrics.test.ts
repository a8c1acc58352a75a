import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { listenMetrics } from '../../src/server/ops-routes.js';
import { createToken } from '../../src/store/tokens-file.js';
import { APPROVED, demoConfig, memoryClient, permissivePolicy, startRunning, testContainer, testHttp } from '../helpers/app.js';
import { requirePromtool, SKIP_PROMETHEUS } from './promtool.js';

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function container(opts: Parameters<typeof testContainer>[0] = {}): Promise<SqliteContainer> {
  const app = await testContainer({ policy: permissivePolicy(), ...opts });
  cleanups.push(() => app.close());
  return app;
}

/** The sample `name{labels}` of a text exposition (labels in the order prom-client writes them), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function get(port: number, p: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function post(port: number, p: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

async function serve(app: SqliteContainer, opts: { tokensFile?: string } = {}) {
  const http = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, ...opts });
  cleanups.push(() => http.close());
  return http.port;
}

describe('GET /metrics after real traffic', () => {
  it('counts REST, serving (OFREP fast path included), MCP tools, ingest, exposures, the deploy saga and the ramp scheduler, with their labels', async () => {
    const app = await container();
    const exp = await startRunning(app, demoConfig({ allocationPercent: 50 }));
    const port = await serve(app);

    expect((await get(port, `/v1/experiments/${exp.id}`)).status).toBe(200);
    expect((await get(port, '/v1/experiments/exp_nope')).status).toBe(404);
    expect((await get(port, '/v1/surfaces/home/assignment?unit=u1')).status).toBe(200);
    // Single-flag OFREP takes the node fast path; the bulk one goes through hono.
    expect((await post(port, '/ofrep/v1/evaluate/flags/home-focus-shelf', { context: { targetingKey: 'u1' } })).status).toBe(200);
    expect((await post(port, '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u2' } })).status).toBe(200);
    const ingest = await post(port, '/v1/events', {
      events: [
        { id: 'm1', type: 'metric', metricId: 'stream-rate', unitId: 'u1', value: 1 },
        { id: 'm2', type: 'metric', metricId: 'no-such-metric', unitId: 'u1', value: 1 },
      ],
    });
    expect(ingest.json).toMatchObject({ accepted: 1 });
    const client = await memoryClient(app);
    cleanups.push(() => client.close());
    expect((await client.callTool({ name: 'get_experiment', arguments: { experimentId: exp.id } })).isError).toBeFalsy();
    expect((await client.callTool({ name: 'get_experiment', arguments: { experimentId: 'exp_nope' } })).isError).toBe(true);
    await app.ramps.tick();
    for (let i = 0; i < 20; i++) app.events.assign('home', `unit-${i}`); // half of them are in the experiment: exposures
    await app.exposures.flush();
    // Acknowledged, not folded yet (ADR 0018): the backlog and its lag are exported; the fold observes the ingest lag.
    const before = (await get(port, '/metrics')).text;
    expect(sample(before, 'sealab_fold_backlog_events')).toBeGreaterThanOrEqual(2);
    expect(sample(before, 'sealab_fold_lag_seconds')).toBeGreaterThanOrEqual(0);
    app.fold.catchUp();

    const scrape = await get(port, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const t = scrape.text;
    expect(sample(t, 'sealab_http_requests_total{route="/v1/experiments/:id",method="GET",code="200"}')).toBe(1);
    expect(sample(t, 'sealab_http_requests_total{route="/v1/experiments/:id",method="GET",code="404"}')).toBe(1);
    expect(sample(t, 'sealab_http_request_duration_seconds_count{route="/v1/experiments/:id",method="GET"}')).toBe(2);
    expect(t).not.toContain('exp_nope'); // a raw path never becomes a label
    expect(sample(t, 'sealab_serving_requests_total{route="assignment",outcome="ok"}')).toBe(1);
    expect(sample(t, 'sealab_serving_requests_total{route="ofrep",outcome="ok"}')).toBe(1);
    expect(sample(t, 'sealab_serving_requests_total{route="ofrep_bulk",outcome="ok"}')).toBe(1);
    expect(sample(t, 'sealab_serving_duration_seconds_count{route="ofrep"}')).toBe(1);
    expect(sample(t, 'sealab_http_requests_total{route="/ofrep/v1/evaluate/flags/:key",method="POST",code="200"}')).toBe(1);
    expect(sample(t, 'sealab_events_accepted_total{type="metric"}')).toBe(1);
    expect(sample(t, 'sealab_events_rejected_total{reason="unknown_metric"}')).toBe(1);
    expect(sample(t, 'sealab_ingest_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'sealab_fold_backlog_events')).toBe(0);
    expect(sample(t, 'sealab_fold_lag_seconds')).toBe(0);
    expect(sample(t, 'sealab_mcp_tool_calls_total{tool="get_experiment",outcome="ok"}')).toBe(1);
    expect(sample(t, 'sealab_mcp_tool_calls_total{tool="get_experiment",outcome="NOT_FOUND"}')).toBe(1);
    expect(sample(t, 'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="get_experiment",error_type=""}')).toBe(1);
    expect(
      sample(t, 'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="get_experiment",error_type="NOT_FOUND"}'),
    ).toBe(1);
    expect(sample(t, 'sealab_saga_operations_total{kind="deploy",outcome="ok"}')).toBe(1);
    expect(sample(t, 'sealab_saga_step_duration_seconds_count{kind="deploy",step="backend.allocate"}')).toBe(1);
    expect(sample(t, 'sealab_ramp_ticks_total')).toBe(1);
    // Assignments exposed units; the flush wrote them.
    expect(sample(t, 'sealab_exposures_queued_total')).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'sealab_exposures_written_total')).toBe(sample(t, 'sealab_exposures_queued_total'));
    expect(sample(t, 'sealab_serving_config_revision')).toBeGreaterThan(0);
    expect(sample(t, 'sealab_config_propagation_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(t, `sealab_results_freshness_seconds{experiment="${exp.id}"}`)).toBeGreaterThanOrEqual(0);
    expect(sample(t, 'sealab_sqlite_wal_bytes')).toBe(0); // :memory: has no write-ahead log
    expect(t).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(t).toMatch(/^process_cpu_seconds_total /m);
  });

  it.skipIf(SKIP_PROMETHEUS)('passes `promtool check metrics` on a real scrape', async () => {
    const promtool = requirePromtool();
    const app = await container();
    await startRunning(app, demoConfig({ allocationPercent: 50 }));
    const port = await serve(app);
    await get(port, '/v1/surfaces/home/layout?unit=u1');
    await post(port, '/ofrep/v1/evaluate/flags/home-focus-shelf', { context: { targetingKey: 'u1' } });
    await app.ramps.tick();
    const scrape = await get(port, '/metrics');
    const check = spawnSync(promtool, ['check', 'metrics'], { input: scrape.text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('times each remote system call and counts its failures by system and reason', async () => {
    const backend = await container();
    const backendHttp = await listenHttp(backend, { role: 'backend', host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
    cleanups.push(() => backendHttp.close());
    const gateway = await container({ remote: { backendUrl: `http://127.0.0.1:${backendHttp.port}`, contentUrl: 'http://127.0.0.1:9', timeoutMs: 2000 } });
    const { experiment } = await gateway.experiments.create({ config: demoConfig() }, { actor: 't', interface: 'cli', operation: 't', requestId: 'r' });
    const v = await gateway.experiments.validate({ experimentId: experiment.id }, { actor: 't', interface: 'cli', operation: 't', requestId: 'r' });
    // Content delivery is unreachable (port 9): the deploy fails after the backend step and compensation is attempted.
    await expect(
      gateway.deployments.deploy(
        { experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED },
        { actor: 't', interface: 'cli', operation: 't', requestId: 'r' },
      ),
    ).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const t = await gateway.opsMetrics!.registry.metrics();
    expect(sample(t, 'sealab_remote_call_duration_seconds_count{system="experimentation_backend",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'sealab_remote_call_errors_total{system="content_delivery",reason="network"}')).toBeGreaterThanOrEqual(1);
    // Compensation needs content delivery too (its step may have landed), so it fails here and recovery retries it later.
    expect(sample(t, 'sealab_saga_operations_total{kind="deploy",outcome="compensation_failed"}')).toBe(1);
    expect(sample(t, 'sealab_saga_step_duration_seconds_count{kind="deploy",step="backend.allocate"}')).toBe(1);
    expect(sample(t, 'sealab_saga_step_duration_seconds_count{kind="deploy",step="content.apply"}')).toBe(1);
  });
});

describe('content catalog sync metrics', () => {
  it.skipIf(SKIP_PROMETHEUS)('counts syncs by outcome and reports their age, and the scrape passes `promtool check metrics`', async () => {
    const promtool = requirePromtool();
    const content = await container();
    const contentHttp = await listenHttp(content, { role: 'content', host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
    cleanups.push(() => contentHttp.close());
    const gateway = await container({ remote: { contentUrl: `http://127.0.0.1:${contentHttp.port}`, timeoutMs: 2000 } });
    expect(await gateway.contentSync!.sync()).toBe('unchanged');
    expect(await gateway.contentSync!.sync()).toBe('not_modified');
    const t = await gateway.opsMetrics!.registry.metrics();
    expect(sample(t, 'sealab_content_sync_total{outcome="unchanged"}')).toBe(1);
    expect(sample(t, 'sealab_content_sync_total{outcome="not_modified"}')).toBe(1);
    expect(sample(t, 'sealab_content_sync_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(t, 'sealab_content_missing_upstream_items')).toBe(0);
    const check = spawnSync(promtool, ['check', 'metrics'], { input: t, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('scrape-time sources', () => {
  it('reports the SQLite write-ahead log of a database file, stat-ed at scrape', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-metrics-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const app = await container({ dbFile: path.join(dir, 'sealab.db') });
    await startRunning(app, demoConfig({ allocationPercent: 50 }));
    const t = await app.opsMetrics!.registry.metrics();
    expect(sample(t, 'sealab_sqlite_wal_bytes')).toBeGreaterThan(0);
  });
});

describe('who may read /metrics', () => {
  it('needs a token with the read scope once tokens are set: 401 without one, 403 without read, 200 with read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-metrics-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'tokens.json');
    const reader = createToken(file, { name: 'scraper', scopes: ['read'] }).secret;
    const approver = createToken(file, { name: 'approver', scopes: ['approve'] }).secret;
    const port = await serve(await container(), { tokensFile: file });

    const anonymous = await get(port, '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain('sealab_');
    const refused = await get(port, '/metrics', { authorization: `Bearer ${approver}` });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toMatchObject({ code: 'INSUFFICIENT_SCOPE', hint: expect.stringContaining('read') });
    const scraped = await get(port, '/metrics', { authorization: `Bearer ${reader}` });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('# TYPE sealab_http_requests_total counter');
    // The refusals were counted by route pattern (the scrape in progress is counted after it answers).
    expect(sample(scraped.text, 'sealab_http_requests_total{route="/metrics",method="GET",code="403"}')).toBe(1);
  });

  it('serves --metrics-port on loopback without a token, and nothing else there', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-metrics-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'tokens.json');
    createToken(file, { name: 'scraper', scopes: ['read'] });
    const app = await container();
    const m = await listenMetrics(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1024, tokensFile: file });
    cleanups.push(() => m.close());
    const scraped = await get(m.port, '/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('sealab_serving_duration_seconds');
    const other = await get(m.port, '/v1/experiments');
    expect(other.status).toBe(404);
    expect(JSON.parse(other.text)).toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('/metrics') });
  });

  it('answers 404 with the switch when metrics are off (SEALAB_METRICS=off), and traffic still flows', async () => {
    const app = await container({ metrics: false });
    await startRunning(app, demoConfig({ allocationPercent: 50 }));
    const http = testHttp(app);
    cleanups.push(() => http.close());
    const assignment = await http.app.request('/v1/surfaces/home/assignment?unit=u1', { headers: { host: '127.0.0.1' } });
    expect(assignment.status).toBe(200);
    const res = await http.app.request('/metrics', { headers: { host: '127.0.0.1' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('SEALAB_METRICS') });
  });
});
