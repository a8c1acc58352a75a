import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { createContainer, dbFileIn } from '../../src/container.js';
import { httpTraffic, runAgentLoop, type LoopResult } from '../../scripts/agent-loop.js';
import { appFetch, legacyHttpClient, testContainer, testHttp } from '../helpers/app.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What every run of the loop must show, whatever the transport. */
function expectLoop(r: LoopResult, exposed: number, via: 'elicitation' | 'argument') {
  expect(r.firstFindings).toEqual(expect.arrayContaining(['REQUIRED_GUARDRAIL', 'RAMP_FIRST_STAGE_ABOVE_CAP']));
  expect(r.patched).toEqual(
    expect.arrayContaining([
      { op: 'add', path: '/guardrails/-', value: { metricId: 'crash-rate', margin: 0.02, marginType: 'relative', test: 'no_deterioration' } },
      { op: 'replace', path: '/allocationPercent', value: 10 },
    ]),
  );
  expect(r.planHash).toMatch(/^[0-9a-f]{64}$/);
  expect(r.deployed).toEqual({ status: 'running', allocationPercent: 10, confirmedVia: via });
  // Stable fields of get_metrics only: its shape is growing elsewhere.
  expect(r.metrics.exposures.reduce((s: number, e: { units: number }) => s + e.units, 0)).toBe(exposed);
  expect(r.metrics.srm).toMatchObject({ mismatch: false });
  const stream = r.metrics.metrics.find((m: { metricId: string }) => m.metricId === 'stream-rate');
  expect(stream.variants.reduce((s: number, v: { units: number }) => s + v.units, 0)).toBe(exposed);
}

describe('the scripted agent loop', () => {
  it('runs over HTTP with a 2026-07-28 client that shows confirmation forms', async () => {
    const app = await testContainer();
    const http = testHttp(app);
    const client = new Client(
      { name: 'loop-agent', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { form: {} } } },
    );
    const forms: string[] = [];
    client.setRequestHandler('elicitation/create', async (req) => {
      forms.push((req.params as { message: string }).message);
      return { action: 'accept', content: { approve: true, reason: 'approved by the loop test' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch: appFetch(http) }));
    const log: string[] = [];
    let exposed = 0;
    try {
      const r = await runAgentLoop({
        client,
        log: (l) => log.push(l),
        traffic: async (e) => {
          const t = await httpTraffic(appFetch(http), 'http://127.0.0.1', e, 2500);
          exposed = t.exposed;
          return t;
        },
      });
      expect(exposed).toBeGreaterThan(150);
      expectLoop(r, exposed, 'elicitation');
      expect(forms).toHaveLength(1);
      expect(log.join('\n')).toMatch(
        /step 1: plan_experiment[\s\S]*step 3: validate_config[\s\S]*RAMP_FIRST_STAGE_ABOVE_CAP[\s\S]*step 4: update_experiment[\s\S]*step 7: deploy_to_surface[\s\S]*step 9: get_metrics/,
      );
      expect((await app.deps.store.audit.forEntity('experiment', r.experimentId)).find((a) => a.operation === 'deploy_to_surface')?.confirmation).toMatchObject(
        {
          via: 'elicitation',
        },
      );
    } finally {
      await client.close();
      await http.close();
      app.close();
    }
  });

  it('runs over HTTP with a 2025-era client that passes the confirmation argument', async () => {
    const app = await testContainer();
    const http = testHttp(app);
    const client = await legacyHttpClient(http);
    try {
      let exposed = 0;
      const r = await runAgentLoop({
        client,
        log: () => undefined,
        confirmationReason: 'approved by the operator watching the test',
        traffic: async (e) => {
          const t = await httpTraffic(appFetch(http), 'http://127.0.0.1', e, 2000, 5);
          exposed = t.exposed;
          return t;
        },
      });
      expectLoop(r, exposed, 'argument');
    } finally {
      await client.close();
      await http.close();
      app.close();
    }
  });

  describe('over stdio (spawned process)', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'sealab-loop-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('runs against `sealab --data-dir` with traffic from a surface service on the same database', async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', 'src/main.ts', '--data-dir', dir],
        cwd: ROOT,
        env: { SEALAB_LOG_LEVEL: 'warn' },
        stderr: 'pipe',
      });
      const client = new Client({ name: 'stdio-loop-agent', version: '1.0.0' });
      await client.connect(transport);
      let exposed = 0;
      try {
        const r = await runAgentLoop({
          client,
          log: () => undefined,
          confirmationReason: 'approved by the operator watching the test',
          // The surface service: another sealab instance over the same SQLite file, serving /v1.
          traffic: async (e) => {
            const service = await createContainer({ dbFile: dbFileIn(dir), seedDemo: false });
            const http = testHttp(service);
            try {
              const t = await httpTraffic(appFetch(http), 'http://127.0.0.1', e, 2000, 9);
              exposed = t.exposed;
              return t;
            } finally {
              await http.close();
              service.close();
            }
          },
        });
        expectLoop(r, exposed, 'argument');
      } finally {
        await client.close();
      }
    });
  });
});
