import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenHttp } from '../../src/server/http-listen.js';
import { startTracing, tracingOn, type Tracing } from '../../src/ops/tracing.js';
import { demoConfig, modernHttpClient, permissivePolicy, testContainer, testHttp, type ToolCallResult } from '../helpers/app.js';

/**
 * One deploy through an MCP tool call carrying `_meta.traceparent`, across a gateway and remote backend
 * and content roles (real HTTP servers on loopback), exported over OTLP/HTTP to an in-process receiver.
 * OpenTelemetry keeps one tracer provider per process, so the three sealabs share it; their spans are
 * told apart by name and kind.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const POLICY = permissivePolicy({ requiredGuardrails: [] });
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
/** The agent's span that made the tool call (`_meta.traceparent`). */
const AGENT_SPAN = '00f067aa0ba902b7';
/** The agent's HTTP client span (the `traceparent` header of its requests to /mcp). */
const AGENT_HTTP_SPAN = 'b7ad6b7169203331';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}
const SERVER = 2;
const CLIENT = 3;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  cleanups.push(() => new Promise((done) => server.close(done)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const bodyOf = async (req: AsyncIterable<Buffer>) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
};

/** An OTLP/HTTP receiver: keeps every span posted to /v1/traces (the exporter sends JSON). */
async function otlpReceiver() {
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  const requests: { path?: string; contentType?: string }[] = [];
  const url = await listen(
    createServer(async (req, res) => {
      const body = await bodyOf(req);
      requests.push({ path: req.url, contentType: req.headers['content-type'] });
      const parsed = JSON.parse(body.toString()) as { resourceSpans: { resource: Pick<OtlpSpan, 'attributes'>; scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of parsed.resourceSpans) {
        services.push(String(attr(rs.resource, 'service.name')));
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }),
  );
  return { base: url, url: `${url}/v1/traces`, spans, services, requests };
}

/** Forwards to a remote role and keeps the headers the gateway sent it. */
async function recordingProxy(target: string) {
  const seen: IncomingHttpHeaders[] = [];
  const url = await listen(
    createServer(async (req, res) => {
      seen.push(req.headers);
      const body = await bodyOf(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'connection'].includes(k)),
      ) as Record<string, string>;
      const r = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(body.length ? { body } : {}) });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
    }),
  );
  return { url, seen };
}

/** A gateway over remote backend and content roles, each role behind a recording proxy. */
async function sealabs() {
  const roles = await Promise.all(
    (['backend', 'content'] as const).map(async (role) => {
      const c = await testContainer({ policy: POLICY });
      const http = await listenHttp(c, { role, host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
      cleanups.push(async () => {
        await http.close();
        c.close();
      });
      return recordingProxy(`http://127.0.0.1:${http.port}`);
    }),
  );
  const [backend, content] = roles;
  const app = await testContainer({ policy: POLICY, remote: { backendUrl: backend.url, contentUrl: content.url, timeoutMs: 2000 } });
  cleanups.push(() => app.close());
  const http = testHttp(app);
  cleanups.push(() => http.close());
  /** What the gateway sent the two systems, so far. */
  const sent = () => [...backend.seen, ...content.seen];
  return { app, http, sent };
}

/** Creates and validates an experiment, then deploys it through deploy_to_surface over /mcp with trace context in _meta and headers. */
async function deployThroughMcp(s: Awaited<ReturnType<typeof sealabs>>): Promise<void> {
  const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r1' };
  const { experiment } = await s.app.experiments.create({ config: demoConfig() }, ctx);
  const v = await s.app.experiments.validate({ experimentId: experiment.id }, ctx);
  expect(v.valid, JSON.stringify(v.findings)).toBe(true);
  const client = await modernHttpClient(s.http, { traceparent: `00-${TRACE_ID}-${AGENT_HTTP_SPAN}-01` });
  cleanups.push(() => client.close());
  const r = (await client.callTool({
    name: 'deploy_to_surface',
    arguments: { experimentId: experiment.id, version: experiment.version, planHash: v.planHash },
    _meta: { traceparent: `00-${TRACE_ID}-${AGENT_SPAN}-01`, tracestate: 'agent=1' },
  })) as ToolCallResult;
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  expect((await s.app.experiments.get(experiment.id)).status).toBe('running');
}

const attr = (span: Pick<OtlpSpan, 'attributes'>, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : undefined);
};

describe('tracing off (the default)', () => {
  it('runs no exporter and sends no traceparent to the remote systems, even when the caller sent one', async () => {
    const receiver = await otlpReceiver();
    expect(tracingOn()).toBe(false);
    const s = await sealabs();
    await deployThroughMcp(s);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.sent().length).toBeGreaterThanOrEqual(3); // the three forward steps reached the systems
    expect(s.sent().filter((h) => h.traceparent !== undefined || h.tracestate !== undefined)).toEqual([]);
    expect(receiver.requests).toEqual([]);
  });
});

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it("links one deploy's spans across the gateway and the remote systems under the agent's trace", async () => {
    const receiver = await otlpReceiver();
    tracing = startTracing({ url: receiver.url, serviceName: 'sealab-test' });
    const s = await sealabs();
    await deployThroughMcp(s);
    // A remote call outside any span (as serving's sync poll makes) starts no trace of its own, here or in the backend role.
    await s.app.deployments.systems.backend.list();
    await tracing.forceFlush();

    expect(receiver.requests[0]).toMatchObject({ path: '/v1/traces', contentType: 'application/json' });
    const spans = receiver.spans;
    const byId = new Map(spans.map((sp) => [sp.spanId, sp]));
    const children = (parent: OtlpSpan) => spans.filter((sp) => sp.parentSpanId === parent.spanId);
    const one = (name: string) => {
      const found = spans.filter((sp) => sp.name === name);
      expect(
        found.map((sp) => sp.name),
        `spans named ${name} among ${spans.map((sp) => sp.name).join(', ')}`,
      ).toEqual([name]);
      return found[0];
    };

    // Every span continues the agent's trace: the HTTP requests to /mcp through their header, the tool call through _meta.
    expect(new Set(spans.map((sp) => sp.traceId))).toEqual(new Set([TRACE_ID]));

    const tool = one('tools/call deploy_to_surface');
    expect(tool.parentSpanId).toBe(AGENT_SPAN);
    expect(tool.kind).toBe(SERVER);
    expect(attr(tool, 'mcp.method.name')).toBe('tools/call');
    expect(attr(tool, 'gen_ai.tool.name')).toBe('deploy_to_surface');
    expect(attr(tool, 'error.type')).toBeUndefined();

    // The HTTP request that carried the call is a child of the agent's HTTP client span.
    const mcpRequests = spans.filter((sp) => sp.name === 'POST /mcp');
    expect(mcpRequests.length).toBeGreaterThan(0);
    for (const sp of mcpRequests) expect(sp.parentSpanId).toBe(AGENT_HTTP_SPAN);

    const saga = one('saga deploy');
    expect(saga.parentSpanId).toBe(tool.spanId);
    const steps = children(saga).filter((sp) => sp.name.startsWith('saga.step '));
    expect(steps.map((sp) => sp.name)).toEqual(['saga.step backend.allocate', 'saga.step content.apply', 'saga.step backend.activate']);

    // Each step made one client call, and the remote sealab's server span is that call's child.
    for (const step of steps) {
      const calls = children(step).filter((sp) => sp.kind === CLIENT);
      expect(calls, step.name).toHaveLength(1);
      const call = calls[0];
      expect(attr(call, 'http.request.method')).toBe('PUT');
      expect(attr(call, 'server.address')).toBe('127.0.0.1');
      expect(String(attr(call, 'url.full'))).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/(backend|content-delivery)\/experiments\/exp_/);
      expect(attr(call, 'http.response.status_code')).toBe(200);
      const served = children(call).filter((sp) => sp.kind === SERVER);
      expect(served.map((sp) => sp.name)).toEqual([
        step.name.includes('content') ? 'PUT /v1/content-delivery/experiments/:id' : 'PUT /v1/backend/experiments/:id',
      ]);
      expect(attr(served[0], 'http.response.status_code')).toBe(200);
    }

    // And what the remote systems received carried the client span as its parent.
    const puts = s.sent().filter((h) => h.traceparent && byId.get(String(h.traceparent).split('-')[2])?.kind === CLIENT);
    expect(puts.length).toBeGreaterThanOrEqual(3);
  });

  it('marks a refused tool call with error.type, and a call without _meta under its HTTP request span', async () => {
    const receiver = await otlpReceiver();
    tracing = startTracing({ url: receiver.url, serviceName: 'sealab-test' });
    const s = await sealabs();
    const client = await modernHttpClient(s.http, { traceparent: `00-${TRACE_ID}-${AGENT_HTTP_SPAN}-01` });
    cleanups.push(() => client.close());
    const r = (await client.callTool({ name: 'get_experiment', arguments: { experimentId: 'exp_missing' } })) as ToolCallResult;
    expect(r.isError).toBe(true);
    await tracing.forceFlush();
    const tool = receiver.spans.find((sp) => sp.name === 'tools/call get_experiment');
    expect(tool).toBeDefined();
    expect(attr(tool!, 'error.type')).toBe('tool_error');
    expect(attr(tool!, 'sealab.error.code')).toBe('NOT_FOUND');
    expect(receiver.spans.find((sp) => sp.spanId === tool!.parentSpanId)?.name).toBe('POST /mcp');
  });
});

describe('sealab serve with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports the spans of a request continuing its traceparent, flushed when the process shuts down', async () => {
    const receiver = await otlpReceiver();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sealab-traces-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--port', '0', '--data-dir', dataDir], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        SEALAB_RAMP_INTERVAL_SECONDS: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.base,
        OTEL_SERVICE_NAME: 'sealab-gateway',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    cleanups.push(() => child.kill('SIGKILL'));
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sealab did not start: ${err}`)), 20_000);
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        const m = /"msg":"sealab HTTP listening[^"]*"/.test(err) ? /"url":"(http:\/\/[^"]+)"/.exec(err) : null;
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const res = await fetch(`${url}/v1/experiments`, { headers: { traceparent: `00-${TRACE_ID}-${AGENT_HTTP_SPAN}-01` } });
    expect(res.status).toBe(200);
    // The batch processor waits 5 s before exporting: what arrives now was flushed by the shutdown.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const span = receiver.spans.find((sp) => sp.name === 'GET /v1/experiments');
    expect(span, receiver.spans.map((sp) => sp.name).join(', ')).toMatchObject({ traceId: TRACE_ID, parentSpanId: AGENT_HTTP_SPAN, kind: SERVER });
    expect(receiver.services).toContain('sealab-gateway');
  }, 30_000);
});
