/**
 * The planner–generator–validator loop, scripted: an MCP client program (no language model) that
 * plans, makes a deliberate mistake, reads the findings, applies their patches, validates clean,
 * deploys the first ramp stage with a confirmation, sends traffic and reads the results.
 * `npm run demo` runs it against a real server; the test suite runs it over HTTP and stdio.
 */
import { prng } from '../src/cli/simulate.js';

/** What the loop needs of a client: the v2 Client and the 2025-era SDK client both fit. */
export interface ToolCaller {
  callTool(request: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
}

type Result = { isError?: boolean; content?: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

export interface LoopOptions {
  client: ToolCaller;
  /** Sends simulated traffic for the running experiment; returns how many units were exposed. */
  traffic: (experiment: { id: string; surfaceId: string }) => Promise<{ units: number; exposed: number }>;
  log: (line: string) => void;
  /** Passed as the explicit confirmation argument (clients without elicitation). */
  confirmationReason?: string;
  goal?: string;
  surfaceId?: string;
  /** plan_experiment's change hints (default: sh-focus in shelf-2 of home). */
  change?: { operation: string; slots: string[]; content?: string[] };
  /** Other plan_experiment arguments, e.g. { mde: 0.05 }. */
  planArgs?: Record<string, unknown>;
}

export interface LoopResult {
  experimentId: string;
  /** plan_experiment's answer: the generated config and its sample per ramp stage. */
  plan: { config: Record<string, any>; sample: Record<string, any> };
  firstFindings: string[];
  patched: unknown[];
  planHash: string;
  deployed: { status: string; allocationPercent: number; confirmedVia: string | null };
  metrics: Record<string, any>;
}

export class LoopError extends Error {}

const textOf = (r: Result) => (r.content ?? []).map((c) => c.text ?? '').join('\n');

export async function runAgentLoop(o: LoopOptions): Promise<LoopResult> {
  let n = 0;
  const call = async (name: string, args: Record<string, unknown>, expectError = false) => {
    n++;
    o.log(`\n── step ${n}: ${name} ${JSON.stringify(args).slice(0, 240)}`);
    const r = (await o.client.callTool({ name, arguments: args })) as Result;
    if (Boolean(r.isError) !== expectError) throw new LoopError(`${name} ${r.isError ? 'failed' : 'unexpectedly succeeded'}: ${textOf(r)}`);
    o.log(indent(textOf(r)));
    return r.structuredContent ?? {};
  };

  const goal = o.goal ?? 'More people start listening from Home when they see a focus shelf';
  const surfaceId = o.surfaceId ?? 'home';
  // Structured hints say what to test; the goal is only the hypothesis.
  const change = o.change ?? { operation: 'replace', slots: ['shelf-2'], content: ['sh-focus'] };
  const plan = await call('plan_experiment', { goal, surfaceId, change, owner: 'demo-agent', ...o.planArgs });

  // The deliberate mistake: drop the guardrails and start far above the first-stage cap.
  const mistaken = { ...plan.config, guardrails: [], allocationPercent: 30 };
  o.log('   (the agent now drops every guardrail and asks to start at 30%, above the first-stage cap)');
  const { experiment } = await call('create_experiment', { config: mistaken, idempotencyKey: `demo-${plan.config.key}` });

  const first = await call('validate_config', { experimentId: experiment.id });
  if (first.valid) throw new LoopError('the mistaken config passed validation');
  const firstFindings = (first.findings as { code: string; severity: string }[]).filter((f) => f.severity === 'error').map((f) => f.code);

  // Applying the server's patches is all the agent does to fix the plan.
  const updated = await call('update_experiment', { experimentId: experiment.id, version: first.version, patch: first.fixPatch });
  const clean = await call('validate_config', { experimentId: experiment.id });
  if (!clean.valid) throw new LoopError(`still invalid after the patches: ${textOf({ content: [{ type: 'text', text: JSON.stringify(clean.findings) }] })}`);

  const version = updated.experiment.version;
  const dry = await call('deploy_to_surface', { experimentId: experiment.id, version, planHash: clean.planHash, dryRun: true });
  const confirmation = o.confirmationReason ? { confirmation: { reason: o.confirmationReason } } : {};
  const dep = await call('deploy_to_surface', {
    experimentId: experiment.id,
    version,
    planHash: clean.planHash,
    idempotencyKey: `deploy-${experiment.id}`,
    ...confirmation,
  });
  if (!dep.applied || dep.experiment.status !== 'running') throw new LoopError(`the deploy did not start the experiment (dry run said ${dry.plan.action})`);

  n++;
  o.log(`\n── step ${n}: simulated traffic on ${surfaceId}`);
  const t = await o.traffic({ id: experiment.id, surfaceId });
  o.log(indent(`${t.units} units asked for their layout, ${t.exposed} of them were in the experiment; their metric events went to POST /v1/events`));

  const metrics = await call('get_metrics', { experimentId: experiment.id });
  return {
    experimentId: experiment.id,
    plan: plan as LoopResult['plan'],
    firstFindings,
    patched: first.fixPatch,
    planHash: clean.planHash,
    deployed: { status: dep.experiment.status, allocationPercent: dep.experiment.allocationPercent, confirmedVia: dep.confirmation.given?.via ?? null },
    metrics,
  };
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n');

/**
 * Traffic as a surface service and an event producer send it over HTTP: each unit asks the
 * assignment endpoint for its layout (which records the exposure), then its metric events are
 * posted in batches. Treatment units stream 12% more often; nothing else differs.
 */
export async function httpTraffic(
  fetchFn: typeof fetch,
  baseUrl: string,
  experiment: { id: string; surfaceId: string },
  units = 3000,
  seed = 11,
): Promise<{ units: number; exposed: number }> {
  const rand = prng(seed);
  const base = baseUrl.replace(/\/$/, '');
  let exposed = 0;
  let batch: unknown[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const res = await fetchFn(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: batch }),
    });
    if (!res.ok) throw new LoopError(`POST /v1/events: ${res.status} ${await res.text()}`);
    batch = [];
  };
  const later = new Date(Date.now() + 1000).toISOString();
  for (let i = 0; i < units; i++) {
    const unit = `demo-unit-${seed}-${i}`;
    const res = await fetchFn(`${base}/v1/surfaces/${experiment.surfaceId}/assignment?unit=${unit}`);
    if (!res.ok) throw new LoopError(`GET assignment: ${res.status} ${await res.text()}`);
    const a = (await res.json()) as { assignments: { experimentId: string; variant: string; isControl?: boolean }[] };
    const mine = a.assignments.find((x) => x.experimentId === experiment.id);
    if (!mine) continue;
    exposed++;
    const lift = mine.variant === 'control' ? 1 : 1.12;
    if (rand() < 0.32 * lift) batch.push({ id: `${unit}-stream`, type: 'metric', unitId: unit, metricId: 'stream-rate', value: 1, timestamp: later });
    if (rand() < 0.004) batch.push({ id: `${unit}-crash`, type: 'metric', unitId: unit, metricId: 'crash-rate', value: 1, timestamp: later });
    if (batch.length >= 500) await flush();
  }
  await flush();
  return { units, exposed };
}
