/**
 * The mixed load bench/soak.ts drives against a running `sealab serve`: serving and ingest workers
 * over plain HTTP, and one MCP worker over streamable HTTP whose clients come and go.
 */
import { randomUUID } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface Counts {
  requests: number;
  failures: number;
  events: number;
  mcp: number;
  sessions: number;
  abandoned: number;
  byKind: Record<string, number>;
}

interface Experiment {
  id: string;
  key: string;
  surfaceId: string;
  control: string;
}

const count = (c: Counts, kind: string, ok: boolean) => {
  c.requests++;
  c.byKind[kind] = (c.byKind[kind] ?? 0) + 1;
  if (!ok) {
    c.failures++;
    c.byKind[`${kind}_failed`] = (c.byKind[`${kind}_failed`] ?? 0) + 1;
  }
};

/**
 * One serving/ingest worker: every step a fresh random unit (as real traffic brings new units all the
 * time) asks for its assignment, its layout, an OFREP flag or the bulk OFREP answer; every 10th step
 * posts a batch of exposures and metric events for 20 random units.
 */
export async function servingWorker(url: string, e: Experiment, pool: () => string[], c: Counts, running: () => boolean, seed: number): Promise<void> {
  let units = pool();
  let next = 0;
  const unit = () => {
    if (next === units.length) {
      units = pool();
      next = 0;
    }
    return units[next++];
  };
  for (let step = seed; running(); step++) {
    const u = unit();
    const kind = KINDS[step % 10];
    const ok = await request(url, e, kind, u, unit, c).catch(() => false); // a reset connection counts as a failure
    count(c, kind, ok);
  }
}

const KINDS = ['assignment', 'assignment', 'assignment', 'layout', 'layout', 'ofrep', 'ofrep', 'ofrep', 'ofrep_bulk', 'ingest'] as const;
const json = { 'content-type': 'application/json' };

async function request(url: string, e: Experiment, kind: (typeof KINDS)[number], u: string, unit: () => string, c: Counts): Promise<boolean> {
  const q = `unit=${encodeURIComponent(u)}`;
  const ofrep = (path: string) =>
    fetch(`${url}/ofrep/v1/evaluate/flags${path}`, { method: 'POST', headers: json, body: JSON.stringify({ context: { targetingKey: u } }) });
  let res: Response;
  if (kind === 'assignment' || kind === 'layout') res = await fetch(`${url}/v1/surfaces/${e.surfaceId}/${kind}?${q}`);
  else if (kind === 'ofrep') res = await ofrep(`/${e.key}`);
  else if (kind === 'ofrep_bulk') res = await ofrep('');
  else {
    const events = ingestBatch(e, Array.from({ length: 20 }, unit));
    res = await fetch(`${url}/v1/events`, { method: 'POST', headers: json, body: JSON.stringify({ events }) });
    if (res.ok) c.events += events.length;
  }
  await res.arrayBuffer();
  return res.ok;
}

/** Each unit's exposure to a random arm and three metric values, with fresh event ids. */
function ingestBatch(e: Experiment, units: string[]): unknown[] {
  const ts = new Date().toISOString();
  return units.flatMap((unitId) => [
    { id: randomUUID(), type: 'exposure', unitId, experimentId: e.id, variant: Math.random() < 0.5 ? e.control : 'focus', ts },
    { id: randomUUID(), type: 'metric', unitId, metricId: 'stream-rate', value: Math.random() < 0.3 ? 1 : 0, ts },
    { id: randomUUID(), type: 'metric', unitId, metricId: 'latency-ms', value: 250 + 100 * Math.random(), ts },
    { id: randomUUID(), type: 'metric', unitId, metricId: 'crash-rate', value: Math.random() < 0.01 ? 1 : 0, ts },
  ]);
}

type Agent = { client: Client | V1Client; transport: { terminateSession(): Promise<void> }; legacy: boolean };

/** A new agent; a failed connect (a keep-alive socket the server closed just then) counts as a failed MCP call and is retried. */
async function connect(url: string, legacy: boolean, c: Counts): Promise<Agent> {
  for (;;) {
    try {
      const agent = await connectOnce(url, legacy);
      c.sessions++;
      return agent;
    } catch {
      count(c, 'mcp', false);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function connectOnce(url: string, legacy: boolean): Promise<Agent> {
  if (legacy) {
    const client = new V1Client({ name: 'soak-legacy-agent', version: '1.0.0' });
    const transport = new V1HttpTransport(new URL(`${url}/mcp`));
    await client.connect(transport);
    return { client, transport, legacy };
  }
  const client = new Client({ name: 'soak-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  return { client, transport, legacy };
}

/**
 * A crashed agent: its connections drop (the GET stream and any request in flight are aborted, as the kernel closes
 * the sockets of a dead process) and no DELETE is sent, so the server is left holding its session.
 */
async function crash(a: Agent): Promise<void> {
  await a.client.close().catch(() => undefined);
}

/** A well-behaved agent ends its session (DELETE, when it has one) and closes. */
async function leave(a: Agent): Promise<void> {
  await a.transport.terminateSession().catch(() => undefined);
  await a.client.close().catch(() => undefined);
}

/**
 * One MCP worker, as agents poll: a current SDK client and a 2025-era one (a server session each)
 * list tools, read resources and call get_metrics and list_experiments in turn; every 25 calls a
 * client is replaced by a new one (a new session): three in four end their session (DELETE) and close,
 * the fourth crashes: its connections drop without a DELETE (every such one is a 2025-era client with a session).
 */
export async function mcpWorker(url: string, e: Experiment, c: Counts, running: () => boolean): Promise<void> {
  const agents = [await connect(url, false, c), await connect(url, true, c)];
  let replaced = 0;
  const calls: ((a: Agent) => Promise<unknown>)[] = [
    (a) => a.client.listTools(),
    (a) => a.client.readResource({ uri: 'sealab://surfaces' }),
    (a) => a.client.readResource({ uri: `sealab://experiment/${e.id}` }),
    (a) => a.client.callTool({ name: 'get_metrics', arguments: { experimentId: e.id } }),
    (a) => a.client.callTool({ name: 'list_experiments', arguments: {} }),
  ];
  for (let i = 0; running(); i++) {
    const slot = i % agents.length;
    let ok = true;
    try {
      const r = (await calls[i % calls.length](agents[slot])) as { isError?: boolean };
      ok = !r?.isError;
    } catch {
      ok = false;
    }
    c.mcp++;
    count(c, 'mcp', ok);
    if (i % 25 === 24) {
      const old = agents[slot];
      if (++replaced % 4 === 0) {
        c.abandoned++;
        await crash(old);
      } else await leave(old);
      agents[slot] = await connect(url, old.legacy, c);
    }
  }
  for (const a of agents) await leave(a);
}
