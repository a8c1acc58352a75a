import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createContainer, type Container, type ContainerOptions, type SqliteContainer } from '../../src/container.js';
import { DEFAULT_POLICY, DEFAULT_SURFACE_POLICY, type Policy } from '../../src/domain/policy.js';
import type { Experiment } from '../../src/domain/schemas.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { configRepos } from '../../src/store/sql/config-repos.js';
import { createMcpServerFactory } from '../../src/server/mcp-server.js';
import { createHttpApp, type HttpApp, type HttpOptions } from '../../src/server/http-app.js';
import type { ToolSelection } from '../../src/mcp/toolsets.js';

/** Every tool listed: the tests below the budget test drive them all. */
export const ALL_TOOLSETS: ToolSelection = { toolsets: ['all'] };

export async function testContainer(opts: Partial<ContainerOptions> & { databaseUrl?: undefined } = {}): Promise<SqliteContainer> {
  return await createContainer({ dbFile: ':memory:', seedDemo: true, ...opts });
}

/** A v2 client connected in memory to a fresh server instance over the container. */
export async function memoryClient(
  app: Container,
  opts: {
    name?: string;
    elicit?: (message: string) => { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, string | number | boolean> };
    /** Default: every toolset, since tests drive every tool; test/mcp/tool-budget.test.ts checks the real default. */
    tools?: ToolSelection;
  } = {},
): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = await createMcpServerFactory(app, 'mcp-stdio', { tools: opts.tools ?? ALL_TOOLSETS })({ era: 'legacy' });
  await server.connect(serverSide);
  const client = new Client({ name: opts.name ?? 'test-agent', version: '1.0.0' }, opts.elicit ? { capabilities: { elicitation: { form: {} } } } : {});
  if (opts.elicit) {
    const answer = opts.elicit;
    client.setRequestHandler('elicitation/create', async (request) => answer((request.params as { message: string }).message));
  }
  await client.connect(clientSide);
  return client;
}

export function testHttp(app: Container, opts: Partial<HttpOptions> = {}): HttpApp {
  return createHttpApp(app, { host: '127.0.0.1', maxBodyBytes: 1_048_576, tools: ALL_TOOLSETS, ...opts });
}

/** A fetch that calls the hono app in process (no port), with the Host header a real client sends. */
export function appFetch(http: HttpApp, headers: Record<string, string> = {}): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    const h = new Headers(req.headers);
    h.set('host', '127.0.0.1');
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    return http.app.request(new Request(req, { headers: h }));
  }) as typeof fetch;
}

const MCP_URL = new URL('http://127.0.0.1/mcp');

/** A client of the 2026-07-28 revision (SDK v2, pinned). */
export async function modernHttpClient(http: HttpApp, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'modern-agent', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(MCP_URL, { fetch: appFetch(http, headers) }));
  return client;
}

/** A client of the 2025-11-25 era (SDK 1.32). */
export async function legacyHttpClient(http: HttpApp, headers: Record<string, string> = {}): Promise<V1Client> {
  const client = new V1Client({ name: 'legacy-agent', version: '1.0.0' });
  await client.connect(new V1HttpTransport(MCP_URL, { fetch: appFetch(http, headers) }));
  return client;
}

/** A draft config that passes validation on the demo catalog. */
export function demoConfig(overrides: Record<string, unknown> = {}) {
  return {
    key: 'home-focus-shelf',
    name: 'Focus shelf on Home',
    hypothesis: 'A focus shelf in shelf-2 raises stream rate',
    owner: 'home-team',
    surfaceId: 'home',
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'focus', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
    ],
    allocationPercent: 10,
    successMetrics: ['stream-rate'],
    guardrails: [{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' }],
    analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.05, durationDays: 14, sequential: true },
    ...overrides,
  };
}

/** Row counts of every table, to prove a refused request changed nothing. */
export function tableCounts(app: SqliteContainer): Record<string, number> {
  const tables = app.deps.db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  return Object.fromEntries(tables.map((t) => [t.name, (app.deps.db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }).n]));
}

export type ToolCallResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, unknown> };

export const textOf = (r: ToolCallResult) => r.content.map((c) => c.text ?? '').join('\n');

/**
 * A policy for tests about bucket mechanics, not guardrails: 50% first stages, many experiments
 * per slot, no approvals or confirmations. The shipped policy/default.json is the one the guardrail tests use.
 */
export function permissivePolicy(overrides: Record<string, unknown> = {}): Policy {
  return {
    ...DEFAULT_POLICY,
    version: 'test-permissive',
    defaults: {
      ...DEFAULT_SURFACE_POLICY,
      firstStageCapPercent: 50,
      maxConcurrentPerSlot: 10,
      allocationApprovals: [],
      confirmation: { deploy: false, rampAbovePercent: 100, stop: false, ship: false },
      ...overrides,
    },
  };
}

/** The explicit confirmation a caller without elicitation passes once a human approved. */
export const APPROVED = { via: 'argument' as const, reason: 'approved in the test' };

/**
 * Writes a concluded ship the way the stop's commit step does (test/app/deploy/ship.test.ts reaches a real ship
 * decision): in one store transaction, announced once committed.
 */
export async function commitShip(
  app: Container,
  experimentId: string,
  ship: { variant: string; at: string; decision: Record<string, unknown> },
  reason: string,
  ctx: WriteContext,
): Promise<Experiment> {
  const exp = await app.experiments.get(experimentId);
  const input = { experimentId, reason, outcome: 'shipped' as const };
  const next = await app.deps.sql.tx((tx) => app.stops.commitStop(configRepos(tx), { exp, given: null, ship } as never, input, ctx));
  return app.stops.emitted(next);
}

/** Creates, validates and deploys through the service (plan hash and confirmation included); returns the running experiment, served. */
export async function startRunning(
  app: Container,
  config: Record<string, unknown>,
  ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' },
): Promise<Experiment> {
  const { experiment } = await app.experiments.create({ config }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id }, ctx);
  if (!v.valid) throw new Error(`not valid: ${JSON.stringify(v.findings)}`);
  const { experiment: running } = await app.deploys.deploy(
    { experimentId: experiment.id, version: experiment.version, planHash: v.planHash!, confirmation: APPROVED },
    ctx,
  );
  // A PostgreSQL replica reloads serving asynchronously after a write (as REST and MCP do, wait for it); at once on SQLite.
  await app.serving.settled();
  return running;
}
