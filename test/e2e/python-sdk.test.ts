import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { demoConfig, testContainer } from '../helpers/app.js';

/**
 * The official MCP Python SDK against a listening sealab. It runs where `python3 -c "import mcp"`
 * works (CI installs it with `python3 -m pip install mcp`); elsewhere it is skipped and
 * test/server/mcp-interop.test.ts, which replays the same requests as raw HTTP, stands in for it.
 */
const PYTHON = process.env.PYTHON ?? 'python3';
const hasPythonSdk = spawnSync(PYTHON, ['-c', 'import mcp.client.streamable_http'], { stdio: 'ignore' }).status === 0;
const SCRIPT = fileURLToPath(new URL('./python/mcp_client.py', import.meta.url));

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe.skipIf(!hasPythonSdk)('the MCP Python SDK', () => {
  it('opens the notification stream, gets a change notification and ends its session cleanly', async () => {
    const lines: { level: number; msg: string; method?: string; path?: string; status?: number }[] = [];
    const app = await testContainer({ logger: createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s)) }) });
    cleanups.push(() => app.close());
    const listening = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
    cleanups.push(() => listening.close());

    // Async spawn: the server answers in this process while the client runs.
    const child = spawn(PYTHON, [SCRIPT, `http://127.0.0.1:${listening.port}/mcp`, JSON.stringify(demoConfig())]);
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const run = { status, stdout, stderr };

    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      created: true,
      notified: true,
      tools: expect.arrayContaining(['create_experiment']),
    });
    expect(run.stderr).not.toMatch(/Session termination failed/);
    const mcp = lines.filter((l) => l.path === '/mcp');
    expect(mcp.filter((l) => l.method === 'GET').map((l) => l.status)).toEqual([200]);
    expect(mcp.filter((l) => l.method === 'DELETE').map((l) => l.status)).toEqual([200]);
    expect(mcp.filter((l) => (l.status ?? 0) >= 400)).toEqual([]);
  }, 60_000);
});
