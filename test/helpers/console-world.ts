import type { SqliteContainer } from '../../src/container.js';
import type { Experiment } from '../../src/domain/schemas.js';
import { listenHttp } from '../../src/server/http-listen.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { ALL_TOOLSETS, demoConfig, permissivePolicy, startRunning, testContainer } from './app.js';
import { servedArms } from './traffic.js';

const SETUP: WriteContext = { actor: 'token:platform-admin', interface: 'cli', operation: 'catalog apply', requestId: 'console-setup' };
/** How the running experiments were started: by an agent over HTTP MCP, as the audit trail shows. */
const AGENT: WriteContext = { actor: 'client:planner-agent', interface: 'mcp-http', operation: 'deploy_to_surface', requestId: 'console-agent' };

/** A long-term holdback on Home, so the bucket map has one to draw. */
export const HOLDBACK: [number, number] = [9500, 10000];

export interface ConsoleWorld {
  app: SqliteContainer;
  base: string;
  /** Running on Home at 50% with events ingested for every exposed unit. */
  focus: Experiment;
  /** Running on Home at 20% on another slot (shares buckets with focus). */
  albums: Experiment;
  /** fetch against the server, with the given bearer token when the server has tokens. */
  api(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The real HTTP server in process (listenHttp on a free port) over a container with a Home holdback,
 * two running experiments and traffic: layouts served to 600 units, and per exposed unit a
 * stream-rate and a crash-rate event whose values depend on its arm and index (never on chance).
 */
export async function consoleWorld(opts: { tokensFile?: string; bearer?: string } = {}): Promise<ConsoleWorld> {
  const app = await testContainer({ policy: permissivePolicy() });
  const home = structuredClone((await app.deps.store.catalog.surface('home'))!);
  await app.catalogChanges.applyInput(
    { mode: 'merge', catalog: { surfaces: [{ ...home, holdbacks: [{ id: 'long-term', name: 'Long-term holdback', buckets: [HOLDBACK] }] }] } },
    SETUP,
    false,
  );
  const focus = await startRunning(app, demoConfig({ allocationPercent: 50 }), AGENT);
  const albums = await startRunning(
    app,
    demoConfig({
      key: 'home-albums-shelf',
      name: 'New albums higher on Home',
      hypothesis: 'New albums in shelf-4 raise streams',
      variants: [
        { key: 'control', isControl: true, weight: 50, overrides: [] },
        { key: 'albums', weight: 50, overrides: [{ slotId: 'shelf-4', contentId: 'al-fresh-finds' }] },
      ],
      allocationPercent: 20,
    }),
    AGENT,
  );
  const server = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, tools: ALL_TOOLSETS, tokensFile: opts.tokensFile });
  const base = `http://127.0.0.1:${server.port}`;
  const api = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (opts.bearer) headers.set('authorization', `Bearer ${opts.bearer}`);
    return fetch(`${base}${path}`, { ...init, headers });
  };
  const units = Array.from({ length: 600 }, (_, i) => `console-unit-${i}`);
  const arms = await servedArms(((p: string) => api(new URL(p).pathname + new URL(p).search)) as typeof fetch, 'home', focus.id, units);
  const events = [...arms].flatMap(([unit, arm], i) => [
    { id: `sr-${unit}`, type: 'metric', unitId: unit, metricId: 'stream-rate', value: i % 10 < (arm === 'focus' ? 6 : 4) ? 1 : 0 },
    { id: `cr-${unit}`, type: 'metric', unitId: unit, metricId: 'crash-rate', value: i % 50 === 0 ? 1 : 0 },
  ]);
  for (let i = 0; i < events.length; i += 500) {
    const res = await api('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(i, i + 500) }),
    });
    if (!res.ok) throw new Error(`ingest: ${res.status} ${await res.text()}`);
  }
  return {
    app,
    base,
    focus,
    albums,
    api,
    close: async () => {
      await server.close();
      app.close();
    },
  };
}

/** Switches the policy so deploys wait for a person, then asks for one: returns the pending approval's id. */
export async function pendingDeploy(w: ConsoleWorld, key: string): Promise<{ approvalId: string; experimentId: string }> {
  w.app.setPolicy(permissivePolicy({ confirmation: { deploy: 'approval', rampAbovePercent: 100, stop: false, ship: false } }));
  const json = async (res: Promise<Response>) => {
    const r = await res;
    const body = (await r.json()) as any;
    if (!r.ok) throw new Error(`${r.status} ${JSON.stringify(body)}`);
    return body;
  };
  const post = (path: string, body: unknown) => w.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const config = demoConfig({
    key,
    name: `Held deploy ${key}`,
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'workout', weight: 50, overrides: [{ slotId: 'shelf-3', contentId: 'pl-workout' }] },
    ],
    allocationPercent: 10,
  });
  const created = await json(post('/v1/experiments', { config }));
  const id = created.experiment.id as string;
  const validated = await json(post(`/v1/experiments/${id}/validate`, {}));
  const held = await json(post(`/v1/experiments/${id}/deploy`, { version: created.experiment.version, planHash: validated.planHash }));
  if (held.status !== 'pending_approval') throw new Error(`expected a held deploy, got ${JSON.stringify(held)}`);
  return { approvalId: held.approvalId as string, experimentId: id };
}
