import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/sealab.js');
const run = promisify(execFile);

let elsewhere: string;
beforeAll(() => {
  elsewhere = mkdtempSync(path.join(tmpdir(), 'sealab-config-'));
});
afterAll(() => {
  rmSync(elsewhere, { recursive: true, force: true });
});

/** `node bin/sealab.js config ...` from a directory that is not the checkout. */
async function config(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'config', ...args], { cwd: elsewhere });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Stdio {
  type?: string;
  command: string;
  args: string[];
}

describe('sealab config', () => {
  it.each([
    ['claude', 'mcpServers', undefined],
    ['cursor', 'mcpServers', undefined],
    ['vscode', 'servers', 'stdio'],
  ])('%s: the absolute Node binary, launcher and data directory, whatever the working directory', async (client, key, type) => {
    const r = await config(client, '--data-dir', 'lab-data');
    expect(r.code, r.stderr).toBe(0);
    const entry = (JSON.parse(r.stdout) as Record<string, Record<string, Stdio>>)[key]!.sealab!;
    expect(entry.type).toBe(type);
    expect(entry.command).toBe(process.execPath);
    expect(entry.args).toEqual([BIN, '--data-dir', path.join(elsewhere, 'lab-data')]);
    expect(r.stderr).toMatch(client === 'vscode' ? /\.vscode\/mcp\.json/ : client === 'cursor' ? /\.cursor\/mcp\.json/ : /claude_desktop_config\.json/);
  });

  it('--http prints the URL form with a token placeholder, never a secret', async () => {
    const url = 'http://127.0.0.1:8787/mcp';
    const claude = JSON.parse((await config('claude', '--http', url)).stdout);
    expect(claude.mcpServers.sealab).toEqual({ type: 'http', url, headers: { Authorization: `Bearer \${SEALAB_TOKEN}` } });
    const cursor = JSON.parse((await config('cursor', '--http', url)).stdout);
    expect(cursor.mcpServers.sealab.headers.Authorization).toBe(`Bearer \${env:SEALAB_TOKEN}`);
    const vscode = JSON.parse((await config('vscode', '--http', url)).stdout);
    expect(vscode.servers.sealab).toEqual({ type: 'http', url, headers: { Authorization: `Bearer \${input:sealab-token}` } });
    expect(vscode.inputs).toEqual([expect.objectContaining({ id: 'sealab-token', password: true })]);
  });

  it('an unknown client or a bad URL is a usage error on stderr with nothing on stdout', async () => {
    const unknown = await config('zed');
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain('sealab config claude|cursor|vscode');
    const bad = await config('cursor', '--http', 'localhost:8787');
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toContain('http://127.0.0.1:8787/mcp');
  });

  it('exactly the printed command starts an MCP server from another directory', async () => {
    const r = await config('claude', '--data-dir', 'printed');
    const { command, args } = (JSON.parse(r.stdout) as { mcpServers: { sealab: Stdio } }).mcpServers.sealab;
    const transport = new StdioClientTransport({ command, args, cwd: tmpdir(), stderr: 'pipe' });
    const client = new Client({ name: 'pasted-config', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_surfaces', 'plan_experiment', 'create_experiment']));
      const surfaces = await client.callTool({ name: 'list_surfaces', arguments: {} });
      expect(surfaces.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(existsSync(path.join(elsewhere, 'printed', 'sealab.db'))).toBe(true);
  }, 30_000);
});
