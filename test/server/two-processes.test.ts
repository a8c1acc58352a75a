import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { demoConfig, permissivePolicy } from '../helpers/app.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { eventually } from '../helpers/gateway-client.js';

/**
 * A gateway sealab orchestrating a backend sealab (behind a fault-injecting proxy) and a content
 * sealab, three processes on loopback. After every fault the systems must agree and no step may
 * have been applied twice.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TIMEOUT_MS = 700;

interface Proc {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<void>;
}

function start(args: string[], dataDir: string, env: Record<string, string> = {}, port = 0): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SEALAB_LOG_LEVEL: 'info', SEALAB_RAMP_INTERVAL_SECONDS: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    // Silent past the deadline (a loaded machine): killed, so no process outlives the test.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sealab did not start: ${err}`));
    }, 30_000);
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /"msg":"sealab HTTP listening[^"]*"/.test(err) ? /"url":"(http:\/\/[^"]+)"/.exec(err) : null;
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], stderr: () => err, exited });
      }
    });
    child.on('exit', (code) => reject(new Error(`sealab exited (${code}): ${err}`)));
  });
}

let dir: string;
let backend: Proc;
let content: Proc;
let gateway: Proc;
let proxy: FaultProxy;
/** The gateway keeps its port across a restart: the serving processes send it their exposures. */
let gatewayPort: number;
const gatewayDir = () => path.join(dir, 'gateway');
const startGateway = () =>
  start(
    ['--policy', path.join(dir, 'policy.json')],
    gatewayDir(),
    { SEALAB_BACKEND_URL: proxy.url, SEALAB_CONTENT_URL: content.url, SEALAB_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) },
    gatewayPort,
  );

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-two-'));
  writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(permissivePolicy()));
  gatewayPort = await freePort();
  const serving = { SEALAB_EVENTS_URL: `http://127.0.0.1:${gatewayPort}`, SEALAB_SYNC_INTERVAL_MS: '100' };
  backend = await start(['--role', 'backend'], path.join(dir, 'backend'), serving);
  // Content delivery reads allocations from the backend (not through the fault proxy) to render layouts.
  content = await start(['--role', 'content'], path.join(dir, 'content'), { ...serving, SEALAB_BACKEND_URL: backend.url });
  proxy = new FaultProxy(backend.url, TIMEOUT_MS * 2);
  await proxy.listen();
  gateway = await startGateway();
}, 30_000);

afterAll(async () => {
  for (const p of [gateway, backend, content]) p?.child.kill('SIGTERM');
  await Promise.all([gateway, backend, content].map((p) => p?.exited));
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(base: string, method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + route, {
    method,
    headers: { 'content-type': 'application/json', 'x-actor': 'two-process-test' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

const confirmation = { reason: 'approved in the two-process test' };

/** Each experiment tests its own shelf (same slot, so they own disjoint buckets). */
async function validated(key: string, contentId: string) {
  const variants = [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId }] },
  ];
  const created = await call(gateway.url, 'POST', '/v1/experiments', { config: demoConfig({ key: `home-${key}`, variants, rampPlan: { stages: [20] } }) });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const v = await call(gateway.url, 'POST', `/v1/experiments/${created.json.experiment.id}/validate`);
  expect(v.json.valid, JSON.stringify(v.json)).toBe(true);
  return { id: created.json.experiment.id as string, version: 1, planHash: v.json.planHash as string };
}

/** The invariant across the three processes: backend running = content serving = gateway running, with the same buckets. */
async function agreement() {
  const b = (await call(backend.url, 'GET', '/v1/backend/experiments')).json.experiments as { experimentId: string; status: string; buckets: number[][] }[];
  const c = (await call(content.url, 'GET', '/v1/content-delivery/experiments')).json.experiments as { experimentId: string; serving: boolean }[];
  const g = (await call(gateway.url, 'GET', '/v1/experiments')).json.experiments as { id: string; status: string; buckets: number[][] }[];
  const running = b.filter((x) => x.status === 'running');
  return {
    running: running.map((x) => x.experimentId).sort(),
    serving: c
      .filter((x) => x.serving)
      .map((x) => x.experimentId)
      .sort(),
    recorded: g
      .filter((x) => x.status === 'running')
      .map((x) => x.id)
      .sort(),
    bucketsAgree: running.every((x) => JSON.stringify(g.find((e) => e.id === x.experimentId)?.buckets) === JSON.stringify(x.buckets)),
  };
}

async function expectAgreement(runningIds: string[]) {
  const sorted = [...runningIds].sort();
  expect(await agreement()).toEqual({ running: sorted, serving: sorted, recorded: sorted, bucketsAgree: true });
}

/** Every (operation, step) the backend applied, for one experiment, in order (its primary key forbids a second one). */
function backendSteps(experimentId: string): string[] {
  const db = new Database(path.join(dir, 'backend', 'sealab.db'), { readonly: true });
  try {
    return (db.prepare('SELECT step FROM system_applied WHERE experiment_id = ? ORDER BY rowid').all(experimentId) as { step: string }[]).map((r) => r.step);
  } finally {
    db.close();
  }
}

function gatewayOps(experimentId: string): { kind: string; status: string; steps: string }[] {
  const db = new Database(path.join(gatewayDir(), 'sealab.db'), { readonly: true });
  try {
    return db.prepare('SELECT kind, status, steps FROM operations WHERE experiment_id = ? ORDER BY created_at, rowid').all(experimentId) as {
      kind: string;
      status: string;
      steps: string;
    }[];
  } finally {
    db.close();
  }
}

/** One unit as each process serves it: the backend's OFREP answer, content delivery's and the gateway's shelf-2. */
async function served(experimentKey: string, unit: string) {
  const flag = (await call(backend.url, 'POST', `/ofrep/v1/evaluate/flags/${experimentKey}`, { context: { targetingKey: unit } })).json as {
    variant: string;
    reason: string;
    metadata: { inExperiment?: boolean };
  };
  const shelf = async (base: string) =>
    ((await call(base, 'GET', `/v1/surfaces/home/layout?unit=${unit}&slots=shelf-2`)).json as { layout: { contentId: string }[] }).layout[0].contentId;
  return {
    variant: flag.variant,
    reason: flag.reason,
    inExperiment: flag.metadata?.inExperiment === true,
    content: await shelf(content.url),
    gateway: await shelf(gateway.url),
  };
}

describe('two sealab processes: a gateway over a remote backend and content delivery', () => {
  const running: string[] = [];

  it('serves each role its own contract only', async () => {
    expect((await call(backend.url, 'GET', '/v1/experiments')).status).toBe(404);
    expect((await call(content.url, 'GET', '/v1/backend/experiments')).status).toBe(404);
    const doc = (await call(backend.url, 'GET', '/v1/openapi.json')).json as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/backend'))).toHaveLength(2);
  });

  it('the gateway syncs its content catalog from the content process at start (its /readyz waits for it)', async () => {
    let ready = await call(gateway.url, 'GET', '/readyz');
    for (let i = 0; i < 100 && !ready.json.checks?.content?.ok; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await call(gateway.url, 'GET', '/readyz');
    }
    expect(ready.json.checks.content).toEqual({ ok: true, stale: false });
    const listed = await call(gateway.url, 'GET', '/v1/content');
    expect(listed.json.sync).toMatchObject({ source: content.url, stale: false, lastError: null, etag: expect.stringMatching(/^".+"$/) });
    const upstream = await fetch(`${content.url}/v1/content-delivery/content`);
    expect(upstream.headers.get('etag')).toBe(listed.json.sync.etag);
    expect(listed.json.content).toEqual(((await upstream.json()) as { content: unknown[] }).content);
  });

  it('deploys, ramps and stops across them', async () => {
    const e = await validated('two-proc-main', 'sh-focus');
    const deployed = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-1',
      confirmation,
    });
    expect(deployed.status, JSON.stringify(deployed.json)).toBe(200);
    await expectAgreement([e.id]);
    const replay = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-1',
      confirmation,
    });
    expect(replay.json).toMatchObject({ replayed: true, experiment: { version: 2 } });

    // Surfaces read assignments from the systems: for every unit, content delivery renders the override
    // exactly when the backend's OFREP answer is the treatment, and the gateway serves the same.
    const units = Array.from({ length: 120 }, (_, i) => `two-proc-unit-${i}`);
    await eventually(async () => {
      for (const unit of units) {
        const s = await served('home-two-proc-main', unit);
        expect(s.content, unit).toBe(s.inExperiment && s.variant === 'treatment' ? 'sh-focus' : 'mx-daily-1');
        expect(s.gateway, unit).toBe(s.content);
      }
    });
    const all = await Promise.all(units.map((u) => served('home-two-proc-main', u)));
    // In or out of the allocation the reason is SPLIT (OFREP has no DEFAULT); metadata says which.
    expect(new Set(all.map((s) => s.reason))).toEqual(new Set(['SPLIT']));
    const split = all.filter((s) => s.inExperiment);
    expect(split.some((s) => s.variant === 'treatment') && split.some((s) => s.variant === 'control')).toBe(true);
    // Their exposures (one per unit, whichever process served it first) reach the gateway's ingest and its analysis.
    await eventually(async () => {
      const m = (await call(gateway.url, 'GET', `/v1/experiments/${e.id}/metrics`)).json as { exposures: { units: number }[] };
      expect(m.exposures.reduce((n, x) => n + x.units, 0)).toBe(split.length);
    });

    const ramped = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 2,
      planHash: deployed.json.planHash,
      allocationPercent: 20,
      confirmation,
    });
    expect(ramped.status, JSON.stringify(ramped.json)).toBe(200);
    expect(ramped.json.plan).toMatchObject({ action: 'resize', toPercent: 20 });
    await expectAgreement([e.id]);

    const stopped = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/stop`, { reason: 'done', confirmation });
    expect(stopped.json.experiment).toMatchObject({ status: 'concluded' });
    await expectAgreement(running);
    // Stopped: nobody is assigned, every surface renders its default again.
    await eventually(async () => {
      for (const unit of units.slice(0, 40))
        expect(await served('home-two-proc-main', unit)).toMatchObject({ reason: 'DISABLED', content: 'mx-daily-1', gateway: 'mx-daily-1' });
    });
    expect(backendSteps(e.id)).toEqual(['backend.allocate', 'backend.activate', 'backend.allocate', 'backend.activate', 'backend.release']);
    expect(gatewayOps(e.id).map((o) => `${o.kind}:${o.status}`)).toEqual(['deploy:completed', 'deploy:completed', 'stop:completed']);
  });

  it('remote down: refused with UPSTREAM_UNAVAILABLE, nothing changes; the same key succeeds once it is back', async () => {
    const e = await validated('two-proc-down', 'sh-jump-back-in');
    proxy.rule = () => 'down';
    const r = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-2',
      confirmation,
    });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await expectAgreement(running);
    proxy.rule = () => 'ok';
    const again = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-2',
      confirmation,
    });
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    running.push(e.id);
    await expectAgreement(running);
    // The proxy accepted the connection and reset it: the gateway cannot know whether allocate landed,
    // so it restored the backend (once it was reachable) before the retry ran its own operation.
    expect(backendSteps(e.id)).toEqual(['compensate.backend', 'backend.allocate', 'backend.activate']);
  });

  it('remote slow past the timeout: compensated, and the late step is fenced off when it lands', async () => {
    const e = await validated('two-proc-slow', 'sh-made-for-you');
    proxy.rule = (_m, step) => (step === 'backend.activate' ? 'slow' : 'ok');
    const r = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, { version: 1, planHash: e.planHash, confirmation });
    expect(r.status).toBe(503);
    expect(r.json.detail).toMatch(/did not answer within/);
    await new Promise((res) => setTimeout(res, TIMEOUT_MS * 2 + 300)); // the delayed activate reaches the backend now
    proxy.rule = () => 'ok';
    await expectAgreement(running);
    expect(backendSteps(e.id)).toEqual(['backend.allocate', 'compensate.backend']);
    expect(gatewayOps(e.id).map((o) => o.status)).toEqual(['compensated']);
  });

  it('remote answers 500: compensated; the upstream body goes to the log, not to the caller', async () => {
    const e = await validated('two-proc-500', 'sh-local-scene');
    proxy.rule = (_m, step) => (step === 'backend.activate' ? '500' : 'ok');
    const r = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, { version: 1, planHash: e.planHash, confirmation });
    proxy.rule = () => 'ok';
    expect(r.status).toBe(503);
    expect(JSON.stringify(r.json)).not.toContain('secret upstream');
    expect(gateway.stderr()).toContain('secret upstream stack trace');
    await expectAgreement(running);
    expect(backendSteps(e.id)).toEqual(['backend.allocate', 'compensate.backend']);
  });

  it('gateway killed with SIGKILL mid-saga: the restarted gateway compensates, and a retry applies each step once', async () => {
    const e = await validated('two-proc-kill', 'mx-release-radar');
    proxy.seen = [];
    proxy.rule = (_m, step) => (step === 'backend.activate' ? 'hang' : 'ok');
    const pending = call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-3',
      confirmation,
    }).catch(() => 'killed');
    await until(() => proxy.seen.includes('PUT backend.activate'));
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    expect(await pending).toBe('killed');
    expect(gatewayOps(e.id).map((o) => [o.status, JSON.parse(o.steps)])).toEqual([['pending', ['backend.allocate', 'content.apply']]]);
    proxy.rule = () => 'ok';

    gateway = await startGateway();
    expect(gatewayOps(e.id).map((o) => o.status)).toEqual(['compensated']);
    await expectAgreement(running);
    const again = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-3',
      confirmation,
    });
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    running.push(e.id);
    await expectAgreement(running);
    const replay = await call(gateway.url, 'POST', `/v1/experiments/${e.id}/deploy`, {
      version: 1,
      planHash: e.planHash,
      idempotencyKey: 'two-proc-key-3',
      confirmation,
    });
    expect(replay.json).toMatchObject({ replayed: true, experiment: { version: 2 } });
    expect(backendSteps(e.id)).toEqual(['backend.allocate', 'compensate.backend', 'backend.allocate', 'backend.activate']);
    expect(gatewayOps(e.id).map((o) => o.status)).toEqual(['compensated', 'completed']);
  });
});

async function until(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
