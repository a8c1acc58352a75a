/**
 * npm run demo: watch an agent loop against a real sealab. Starts sealab on a free loopback port
 * with a throwaway database, connects an MCP client that can show confirmation forms (a scripted
 * human approves them), and runs plan → mistake → findings → patches → clean → deploy → traffic → results.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createContainer, dbFileIn } from '../src/container.js';
import { listenHttp } from '../src/server/http-listen.js';
import { httpTraffic, runAgentLoop } from './agent-loop.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-demo-'));
  const app = createContainer({ dbFile: dbFileIn(dir) });
  const server = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
  const url = `http://127.0.0.1:${server.port}`;
  out(`sealab is listening on ${url} (MCP at /mcp, REST at /v1), data in ${dir}, policy '${app.deps.policy.version}'`);

  const client = new Client({ name: 'demo-agent', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler('elicitation/create', async (request) => {
    out(`   [confirmation form shown to the human] ${(request.params as { message: string }).message}`);
    out('   [the human approves]');
    return { action: 'accept', content: { approve: true, reason: 'demo: approved by the person watching npm run demo' } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  out(`connected over streamable HTTP, protocol ${client.getNegotiatedProtocolVersion?.() ?? 'negotiated'}`);
  try {
    const r = await runAgentLoop({ client, log: out, traffic: (e) => httpTraffic(fetch, url, e, 4000) });
    out('\n── summary');
    out(`   first validation errors: ${r.firstFindings.join(', ')}`);
    out(`   patch applied: ${JSON.stringify(r.patched)}`);
    out(`   deployed: ${r.deployed.status} at ${r.deployed.allocationPercent}%, confirmed via ${r.deployed.confirmedVia}`);
    out(
      `   exposures: ${r.metrics.exposures.map((e: { variant: string; units: number }) => `${e.variant}=${e.units}`).join(', ')}; SRM ${r.metrics.srm.mismatch ? 'MISMATCH' : 'ok'}`,
    );
  } finally {
    await client.close();
    await server.close();
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
