/**
 * npm run demo: a whole experiment rehearsed in well under a minute. Starts sealab on a free
 * loopback port with a throwaway database and a simulated clock, under the shipped default policy.
 * A scripted agent (an MCP client that can show confirmation forms; a scripted human approves them)
 * plans a new order of Home's shelves from structured hints, makes a mistake the validator catches
 * and patches, validates clean and launches the first ramp stage. Then simulated days of traffic
 * (a true +12% on stream-rate, nothing else) let the ramp scheduler walk the stages hour by hour,
 * until get_metrics says ship; the agent ships, and Home serves the new order to everyone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { runSimulatedDays, type SimulatedDaysLog } from '../src/cli/simulate-days.js';
import { createContainer, dbFileIn } from '../src/container.js';
import { listenHttp } from '../src/server/http-listen.js';
import { SimulatedClock } from '../src/systems/clock.js';
import { runAgentLoop } from './agent-loop.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const TRUE_EFFECT = 0.12;
/** The rehearsal stops at the first decision other than keep_running; this bounds it (twice the week the plan asks for). */
const MAX_DAYS = 14;

type Result = { isError?: boolean; content?: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-demo-'));
  const start = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
  const app = await createContainer({ dbFile: dbFileIn(dir), clock: new SimulatedClock(start) });
  const server = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, tools: { toolsets: ['core', 'operator'] } });
  const url = `http://127.0.0.1:${server.port}`;
  out(
    `sealab is listening on ${url} (MCP at /mcp, REST at /v1), data in ${dir}, policy '${app.deps.policy.version}', simulated clock at ${start.toISOString()}`,
  );

  const client = new Client({ name: 'demo-agent', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler('elicitation/create', async (request) => {
    out(`   [confirmation form shown to the human] ${(request.params as { message: string }).message}`);
    out('   [the human approves]');
    return { action: 'accept', content: { approve: true, reason: 'demo: approved by the person watching npm run demo' } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  out(`connected over streamable HTTP, protocol ${client.getNegotiatedProtocolVersion?.() ?? 'negotiated'}`);
  const tool = async (name: string, args: Record<string, unknown>) => {
    out(`\n── ${name} ${JSON.stringify(args).slice(0, 200)}`);
    const r = (await client.callTool({ name, arguments: args })) as Result;
    const text = (r.content ?? []).map((c) => c.text ?? '').join('\n');
    out(text.replace(/^/gm, '   '));
    if (r.isError) throw new Error(`${name} failed`);
    return r.structuredContent ?? {};
  };

  let rehearsal: SimulatedDaysLog | undefined;
  try {
    const r = await runAgentLoop({
      client,
      log: out,
      goal: 'A new order of the first three Home shelves makes more people start listening',
      change: { operation: 'reorder', slots: ['shelf-1', 'shelf-2', 'shelf-3'] },
      planArgs: { mde: 0.05 },
      traffic: async (e) => {
        out(
          `   rehearsing up to ${MAX_DAYS} simulated days: a true +${TRUE_EFFECT * 100}% on stream-rate, no harm; the ramp scheduler ticks every simulated hour`,
        );
        rehearsal = await runSimulatedDays({
          url,
          days: MAX_DAYS,
          experiment: e.id,
          effect: TRUE_EFFECT,
          untilDecision: true,
          seed: 2027,
          out: (l) => out(`   ${l}`),
        });
        const days = rehearsal.days;
        return { units: days.reduce((s, d) => s + d.units, 0), exposed: days.reduce((s, d) => s + d.exposed, 0) };
      },
    });
    const ramp = await tool('get_ramp_status', { experimentId: r.experimentId });
    const decision = r.metrics.decision as { decision: string; pending: unknown[] };
    if (decision.decision !== 'ship') throw new Error(`the rehearsal ended with '${decision.decision}', not ship`);
    const shipped = await tool('stop_experiment', {
      experimentId: r.experimentId,
      outcome: 'shipped',
      reason: 'ship: the new shelf order wins and every guardrail holds',
    });
    const visitor = await tool('get_assignment', { surfaceId: 'home', unitId: 'a-visitor-after-the-ship' });

    const shipDay = rehearsal?.days.length ?? 0;
    const sizing = r.plan.sample as { requiredTotal: number; totalDays: number; stages: { percent: number; days: number }[] };
    out('\n── summary');
    out(`   first validation errors: ${r.firstFindings.join(', ')}; the agent applied the server's patch ${JSON.stringify(r.patched)}`);
    out(
      `   the generator's plan: ${sizing.requiredTotal} units (${r.plan.config.successMetrics.join(', ')} at mde ${r.plan.config.analysisPlan.mde}, guardrails ${r.plan.config.guardrails.map((g: { metricId: string; test: string }) => `${g.metricId} (${g.test})`).join(', ')}), ramp ${[r.plan.config.allocationPercent, ...r.plan.config.rampPlan.stages].join('→')}%, about ${sizing.totalDays} days, planned as ${r.plan.config.analysisPlan.durationDays}`,
    );
    out(`   ramp: at ${ramp.allocationPercent}% (stage ${ramp.stage}/${ramp.stageCount}), walked by the scheduler alone`);
    out(`   decision: ship on simulated day ${shipDay} of ${r.plan.config.analysisPlan.durationDays} (${r.metrics.sample.observedTotal} units)`);
    out(
      `   shipped: ${shipped.experiment.outcome}; a new visitor now sees ${visitor.layout.map((l: { slotId: string; contentId: string | null }) => `${l.slotId}=${l.contentId ?? '(empty)'}`).join(', ')}`,
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
