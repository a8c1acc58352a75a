import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { demoConfig, textOf, type ToolCallResult } from '../helpers/app.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEEDED = 'seeded demo surfaces';

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'sealab-stdio-'));
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const serverParams = () => ({
  command: process.execPath,
  args: ['--import', 'tsx', 'src/main.ts', '--data-dir', dataDir],
  cwd: ROOT,
  env: { SEALAB_LOG_LEVEL: 'info' },
  stderr: 'pipe' as const,
});

/** Everything the process wrote to stderr, and any error the client saw on the protocol stream. */
interface Run {
  stderr: () => string;
  protocolErrors: Error[];
}

function capture(stream: NodeJS.ReadableStream | null, run: { chunks: string[] }) {
  stream?.on('data', (chunk: Buffer) => run.chunks.push(chunk.toString('utf8')));
}

async function callOk(client: Client | V1Client, name: string, args: Record<string, unknown>) {
  const r = (await client.callTool({ name, arguments: args })) as ToolCallResult;
  expect(r.isError, textOf(r)).toBeFalsy();
  return r.structuredContent as Record<string, any>;
}

/** stderr carries only pino JSON lines from sealab. */
function logLines(stderr: string): { msg: string; level: number; svc: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** A v2 client over a freshly spawned server; `pin` asks for the 2026-07-28 revision. */
async function withV2Client(fn: (client: Client, run: Run) => Promise<void>, pin?: '2026-07-28'): Promise<Run> {
  const transport = new StdioClientTransport(serverParams());
  const chunks: string[] = [];
  capture(transport.stderr as PassThrough | null, { chunks });
  const client = new Client({ name: 'stdio-agent', version: '1.0.0' }, pin ? { versionNegotiation: { mode: { pin } } } : {});
  const run: Run = { stderr: () => chunks.join(''), protocolErrors: [] };
  client.onerror = (err) => run.protocolErrors.push(err);
  await client.connect(transport);
  try {
    await fn(client, run);
  } finally {
    await client.close();
  }
  return run;
}

/** Edits the stored demo catalog behind the server's back, so that a second seeding would show. */
function renameHomeSurface(name: string) {
  const db = new Database(path.join(dataDir, 'sealab.db'));
  try {
    const row = db.prepare("SELECT doc FROM surfaces WHERE id = 'home'").get() as { doc: string };
    db.prepare("UPDATE surfaces SET doc = ? WHERE id = 'home'").run(JSON.stringify({ ...JSON.parse(row.doc), name }));
  } finally {
    db.close();
  }
}

describe('sealab over stdio (spawned process)', () => {
  let experimentId: string;

  it('serves a v2 client: tools, surfaces, and a created experiment; logs only on stderr', async () => {
    const run = await withV2Client(async (client) => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['list_surfaces', 'create_experiment', 'validate_config', 'deploy_to_surface', 'get_experiment']),
      );
      const surfaces = await callOk(client, 'list_surfaces', {});
      expect(surfaces.surfaces.map((s: { id: string }) => s.id)).toEqual(['home', 'now-playing', 'search']);
      const { experiment } = await callOk(client, 'create_experiment', { config: demoConfig(), idempotencyKey: 'stdio-key-0001' });
      expect(experiment).toMatchObject({ status: 'draft', version: 1, key: 'home-focus-shelf' });
      experimentId = experiment.id;
    });

    expect(run.protocolErrors).toEqual([]);
    const logs = logLines(run.stderr());
    expect(logs.every((l) => l.svc === 'sealab' && typeof l.level === 'number')).toBe(true);
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['sealab MCP on stdio', 'tool']));
    // One line per tool call, with the experiment its result names.
    expect(logs.find((l) => l.msg === 'tool' && (l as { tool?: string }).tool === 'create_experiment')).toMatchObject({ outcome: 'ok', experimentId });
    expect(
      logs.filter((l) => l.msg.startsWith(SEEDED)),
      run.stderr(),
    ).toHaveLength(1);
  });

  it('keeps the experiment across a restart on the same data dir, without seeding again', async () => {
    expect(experimentId).toMatch(/^exp_/);
    renameHomeSurface('Home (edited between runs)');

    const run = await withV2Client(async (client) => {
      const got = await callOk(client, 'get_experiment', { experimentId });
      expect(got.experiment).toMatchObject({ id: experimentId, key: 'home-focus-shelf', status: 'draft', version: 1 });
      const surfaces = await callOk(client, 'list_surfaces', {});
      expect(surfaces.surfaces.map((s: { id: string; name: string }) => `${s.id}:${s.name}`)).toEqual([
        'home:Home (edited between runs)',
        'now-playing:Now Playing',
        'search:Search',
      ]);
      const replay = await callOk(client, 'create_experiment', { config: demoConfig(), idempotencyKey: 'stdio-key-0001' });
      expect(replay).toMatchObject({ replayed: true, experiment: { id: experimentId } });
    });

    expect(run.protocolErrors).toEqual([]);
    const logs = logLines(run.stderr());
    expect(logs.map((l) => l.msg)).toContain('sealab MCP on stdio');
    expect(logs.filter((l) => l.msg.startsWith(SEEDED))).toEqual([]);
  });

  it('serves a v2 client pinned to 2026-07-28', async () => {
    const run = await withV2Client(async (client) => {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const got = await callOk(client, 'get_experiment', { experimentId: 'home-focus-shelf' });
      expect(got.experiment.id).toBe(experimentId);
      const missing = (await client.callTool({ name: 'get_experiment', arguments: { experimentId: 'exp_nope' } })) as ToolCallResult;
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toMatch(/^NOT_FOUND: [\s\S]*Next: /);
    }, '2026-07-28');
    expect(run.protocolErrors).toEqual([]);
  });

  it('serves a 2025-era client (SDK 1.32 stdio transport)', async () => {
    const transport = new V1StdioTransport(serverParams());
    const chunks: string[] = [];
    capture(transport.stderr as PassThrough | null, { chunks });
    const client = new V1Client({ name: 'legacy-stdio-agent', version: '1.0.0' });
    const errors: Error[] = [];
    client.onerror = (err) => errors.push(err);
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('get_experiment');
      const listed = await callOk(client, 'list_experiments', {});
      expect(JSON.stringify(listed)).toContain('home-focus-shelf');
      const v = await callOk(client, 'validate_config', { experimentId: 'home-focus-shelf' });
      expect(v).toMatchObject({ valid: true, recorded: true, version: 1 });
    } finally {
      await client.close();
    }
    expect(errors).toEqual([]);
    expect(client.getServerVersion()?.name).toBe('sealab');
    expect(logLines(chunks.join('')).map((l) => l.msg)).toContain('sealab MCP on stdio');
  });

  it('writes nothing but JSON-RPC to stdout, even at log level trace', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--data-dir', dataDir], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SEALAB_LOG_LEVEL: 'trace' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const request = (id: number, method: string, params: Record<string, unknown> = {}) =>
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);

    request(1, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    await until(
      () => stdout.includes('\n'),
      () => `no initialize response; stderr: ${stderr}`,
    );
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    request(2, 'tools/call', { name: 'get_experiment', arguments: { experimentId: 'no-such-experiment' } });
    await until(
      () => stdout.split('\n').length > 2,
      () => `no tools/call response; stderr: ${stderr}`,
    );
    child.kill('SIGTERM');
    await exited;

    const lines = stdout.split('\n').filter((l) => l !== '');
    const messages = lines.map((l) => JSON.parse(l));
    expect(messages.map((m) => [m.jsonrpc, m.id])).toEqual([
      ['2.0', 1],
      ['2.0', 2],
    ]);
    expect(messages[1].result).toMatchObject({ isError: true });
    expect(stderr).toMatch(/"msg":"sealab MCP on stdio"/);
  });
});

async function until(ok: () => boolean, message: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 25));
  }
}
