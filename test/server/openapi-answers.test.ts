import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Container } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { OPERATIONS } from '../../src/server/openapi.js';
import { routeScope } from '../../src/domain/scopes.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import { APPROVED, demoConfig, permissivePolicy, testHttp } from '../helpers/app.js';
import { type EngineApp, engineContainer } from '../helpers/engine-container.js';
import { type Engine, ENGINES, engineTitle } from '../helpers/sql-engines.js';

type Schema = Record<string, unknown>;
type Doc = {
  security: unknown;
  paths: Record<
    string,
    Record<string, { security: unknown[]; 'x-required-scope'?: string; responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
  >;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, { type: string; scheme: string }> };
};

let app: Container;
let http: HttpApp | undefined;
let built: EngineApp | undefined;
let doc: Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

/** The app on `engine`, on a simulated clock, and the document it serves. */
async function open(engine: Engine) {
  built = await engineContainer(engine, { policy: permissivePolicy(), clock: new SimulatedClock(new Date('2026-03-02T09:00:00Z')) });
  app = built.app;
  http = testHttp(app);
  doc = (await (await call('GET', '/v1/openapi.json')).json()) as Doc;
  checked.clear();
}
afterEach(async () => {
  await http?.close();
  await built?.close();
  http = built = undefined;
});

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return Promise.resolve(
    http!.app.request(path, {
      method,
      headers: { host: '127.0.0.1', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

/** The documented operation a concrete path answers for (`{x}` matches one segment; an OFREP key may hold a slash). */
function operationOf(method: string, path: string) {
  const bare = path.split('?')[0];
  const op = OPERATIONS.find(
    (o) => o.method === method.toLowerCase() && new RegExp(`^${o.path.replace(/\{key\}/, '.+').replace(/\{\w+\}/g, '[^/]+')}$`).test(bare),
  );
  expect(op, `${method} ${bare} is documented`).toBeDefined();
  return op!;
}

const checked = new Set<string>();

/** Calls the route and validates the answer against the document's schema for its status and media type. */
async function answerMatches(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await call(method, path, body, headers);
  const op = operationOf(method, path);
  const declared = doc.paths[op.path][op.method].responses[String(res.status)] ?? doc.paths[op.path][op.method].responses.default;
  const media = (res.headers.get('content-type') ?? '').split(';')[0];
  const text = await res.text();
  expect(declared.content, `${method} ${path} ${res.status} declares a body: ${text.slice(0, 200)}`).toBeDefined();
  const entry = declared.content![media];
  expect(entry, `${method} ${path} ${res.status} declares ${media} (declared: ${Object.keys(declared.content!)})`).toBeDefined();
  const schema = entry.schema.$ref === '#/components/schemas/Problem' ? doc.components.schemas.Problem : entry.schema;
  const validate = ajv.compile(schema);
  const json = (media === 'text/plain' ? text : JSON.parse(text)) as unknown;
  expect(validate(json), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)?.slice(0, 800)}`).toBe(true);
  checked.add(`${op.method} ${op.path} ${res.status}`);
  return { status: res.status, json: json as Record<string, any> };
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'real answers match the OpenAPI document'), () => {
    beforeEach(() => open(engine));

    it('every route answers as its response schema says, through a whole experiment lifecycle', async () => {
      await answerMatches('GET', '/healthz');
      await answerMatches('GET', '/readyz');
      await answerMatches('GET', '/metrics');
      await answerMatches('GET', '/v1/openapi.json');
      await answerMatches('GET', '/v1/surfaces');
      await answerMatches('GET', '/v1/surfaces/home');
      await answerMatches('GET', '/v1/metrics');
      await answerMatches('GET', '/v1/content');
      await answerMatches('GET', '/v1/content-delivery/content');
      await answerMatches('GET', '/v1/policy');
      await answerMatches('GET', '/v1/rules');
      await answerMatches('POST', '/v1/plans', {
        goal: 'focus shelf raises streams',
        surfaceId: 'home',
        change: { operation: 'swap', slots: ['shelf-1', 'shelf-2'] },
      });
      await answerMatches('POST', '/v1/experiments/validate', { config: demoConfig() });

      const created = await answerMatches('POST', '/v1/experiments', { config: demoConfig({ allocationPercent: 50 }) });
      expect(created.status).toBe(201);
      const id = created.json.experiment.id as string;
      await answerMatches('GET', '/v1/experiments');
      await answerMatches('PATCH', `/v1/experiments/${id}`, {
        version: 1,
        patch: [{ op: 'replace', path: '/hypothesis', value: 'A focus shelf raises streams' }],
      });
      const validated = await answerMatches('POST', `/v1/experiments/${id}/validate`);
      const deployed = await answerMatches('POST', `/v1/experiments/${id}/deploy`, { version: 2, planHash: validated.json.planHash, confirmation: APPROVED });
      expect(deployed.json.experiment.status).toBe('running');
      await answerMatches('GET', `/v1/experiments/${id}`);
      // The systems' contracts (the embedded backend and content delivery this process serves in the 'all' role).
      expect((await answerMatches('GET', '/v1/backend/experiments')).json.experiments).toContainEqual(expect.objectContaining({ experimentId: id }));
      expect((await answerMatches('GET', `/v1/backend/experiments/${id}`)).json).toMatchObject({ experimentId: id, status: 'running' });
      expect((await answerMatches('GET', '/v1/content-delivery/experiments?surface=home')).json.experiments).toContainEqual(
        expect.objectContaining({ experimentId: id, serving: true }),
      );
      expect((await answerMatches('GET', `/v1/content-delivery/experiments/${id}`)).json).toMatchObject({ experimentId: id, serving: true });
      expect((await answerMatches('GET', '/v1/backend/experiments/exp_nope')).status).toBe(404);
      const step = { opId: 'op_openapi', key: 'openapi-released', variants: demoConfig().variants, surfaceId: 'home' };
      const released = { ...step, step: 'backend.release', status: 'released', buckets: [], allocationPercent: 0 };
      expect((await answerMatches('PUT', '/v1/backend/experiments/exp_openapi', released)).json).toMatchObject({
        replayed: false,
        state: { status: 'released' },
      });
      expect((await answerMatches('PUT', '/v1/backend/experiments/exp_openapi', released)).json.replayed).toBe(true);
      const dark = { ...step, step: 'content.release', serving: false };
      expect((await answerMatches('PUT', '/v1/content-delivery/experiments/exp_openapi', dark)).json).toMatchObject({ state: { serving: false } });

      await answerMatches('GET', '/v1/surfaces/home/assignment?unit=user-1');
      await answerMatches('GET', '/v1/surfaces/home/layout?unit=user-1&slots=shelf-2');
      const events = Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, type: 'metric', unitId: `user-${i}`, metricId: 'stream-rate', value: i % 2 }));
      expect((await answerMatches('POST', '/v1/events', { events })).status).toBe(200);
      expect((await answerMatches('POST', '/v1/events', { events: [{ id: 'bad', type: 'metric' }] })).status).toBe(422);
      await answerMatches('GET', `/v1/experiments/${id}/metrics`);
      expect((await answerMatches('GET', `/v1/experiments/${id}/ramp`)).json).toMatchObject({ experimentId: id, status: 'running', stage: 1 });
      await answerMatches('GET', `/v1/experiments/${id}/metrics/history`);
      await answerMatches('GET', '/v1/ops/operations');
      expect((await answerMatches('GET', '/v1/ops/operations?windowMinutes=0')).status).toBe(400);
      await answerMatches('GET', '/v1/clock');
      await answerMatches('POST', '/v1/clock/advance', { hours: 2 });
      await app.slo.sample();
      await answerMatches('GET', '/v1/ops/slo');
      expect((await answerMatches('GET', '/v1/ops/slo?slo=nope')).status).toBe(404);

      await answerMatches('POST', '/ofrep/v1/evaluate/flags/home-focus-shelf', { context: { targetingKey: 'user-1' } });
      expect((await answerMatches('POST', '/ofrep/v1/evaluate/flags/nope', { context: { targetingKey: 'user-1' } })).status).toBe(404);
      expect((await answerMatches('POST', '/ofrep/v1/evaluate/flags/home-focus-shelf', { context: {} })).status).toBe(400);
      await answerMatches('POST', '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'user-1' } });
      expect((await answerMatches('POST', '/ofrep/v1/evaluate/flags', { context: {} })).status).toBe(400);
      await answerMatches('GET', '/ofrep/v1/configuration');

      const current = (await (await call('GET', `/v1/experiments/${id}`)).json()) as { experiment: { version: number } };
      await answerMatches('POST', `/v1/experiments/${id}/pause`, { version: current.experiment.version, reason: 'pausing for the test' });
      await answerMatches('POST', `/v1/experiments/${id}/stop`, { reason: 'ending the test', confirmation: APPROVED });
      const stopped = (await (await call('GET', `/v1/experiments/${id}`)).json()) as { experiment: { version: number } };
      await answerMatches('POST', `/v1/experiments/${id}/archive`, { version: stopped.experiment.version, reason: 'done with the test' });
      await answerMatches('GET', `/v1/experiments/${id}/audit`);
      // Errors are problem JSON as declared.
      expect((await answerMatches('GET', '/v1/experiments/exp_nope')).status).toBe(404);
      expect((await answerMatches('POST', '/v1/experiments', { config: { key: 1 } })).status).toBe(422);

      // Approvals: a deploy held for a person (202), listed, read, rejected, held again and approved.
      app.setPolicy(permissivePolicy({ confirmation: { deploy: 'approval', rampAbovePercent: 100, stop: false, ship: false, allowSelfApproval: true } }));
      const second = await answerMatches('POST', '/v1/experiments', { config: demoConfig({ key: 'home-focus-shelf-2', allocationPercent: 20 }) });
      const id2 = second.json.experiment.id as string;
      const hash2 = (await answerMatches('POST', `/v1/experiments/${id2}/validate`)).json.planHash as string;
      const held = await answerMatches('POST', `/v1/experiments/${id2}/deploy`, { version: 1, planHash: hash2 });
      expect(held.status).toBe(202);
      await answerMatches('GET', '/v1/approvals?status=pending');
      await answerMatches('GET', `/v1/approvals/${held.json.approvalId}`);
      expect((await answerMatches('POST', `/v1/approvals/${held.json.approvalId}/reject`, { reason: 'not this week' })).json.approval.status).toBe('rejected');
      const again = await answerMatches('POST', `/v1/experiments/${id2}/deploy`, { version: 1, planHash: hash2 });
      const approved = await answerMatches('POST', `/v1/approvals/${again.json.approvalId}/approve`, { reason: 'looks safe' });
      expect(approved.json.experiment.status).toBe('running');

      // Catalog changes: a plan, a dry run, an apply, an invalid document (422) and an unsafe change (409).
      const metric = { ...(await app.catalog.metrics())[0], id: 'openapi-metric', name: 'OpenAPI metric' };
      expect((await answerMatches('POST', '/v1/catalog/plan', { mode: 'merge', catalog: { metrics: [metric] } })).json.counts.added).toBe(1);
      expect((await answerMatches('POST', '/v1/catalog/apply', { mode: 'merge', catalog: { metrics: [metric] } })).json.dryRun).toBe(true);
      expect((await answerMatches('POST', '/v1/catalog/apply', { mode: 'merge', catalog: { metrics: [metric] }, dryRun: false })).json.applied).toBe(true);
      expect((await answerMatches('POST', '/v1/catalog/plan', { mode: 'merge', catalog: { metrics: [{ id: 'x' }] } })).status).toBe(422);
      const home = (await app.catalog.surfaces()).find((s) => s.id === 'home');
      const resalted = {
        mode: 'merge',
        catalog: { surfaces: [{ ...home, runningExperiments: undefined, freeBuckets: undefined, freePercent: undefined, salt: 'home-new' }] },
        dryRun: false,
      };
      expect((await answerMatches('POST', '/v1/catalog/apply', resalted)).status).toBe(409);

      // Every operation of the document was exercised except the revert of a ship (test/app/deploy/ship.test.ts reaches one).
      const untested = OPERATIONS.filter((o) => ![...checked].some((c) => c.startsWith(`${o.method} ${o.path} 2`))).map((o) => `${o.method} ${o.path}`);
      expect(untested).toEqual(['post /v1/experiments/{id}/revert-ship']);
    });
  });
}

// The document is built from the zod schemas and the route table, whichever engine stores: read once, on SQLite.
describe('the OpenAPI document', () => {
  beforeEach(() => open(ENGINES[0]));

  it('declares OFREP errors in the OFREP shape (application/json), not problem JSON', () => {
    const single = doc.paths['/ofrep/v1/evaluate/flags/{key}'].post.responses;
    expect(Object.keys(single['400'].content!)).toEqual(['application/json']);
    expect(Object.keys(single['404'].content!)).toEqual(['application/json']);
    expect(single['200'].content!['application/json'].schema).toMatchObject({
      properties: { reason: { enum: ['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'UNKNOWN'] } },
    });
    expect(Object.keys(doc.paths['/ofrep/v1/evaluate/flags'].post.responses['400'].content!)).toEqual(['application/json']);
  });

  it('the response schemas are not vacuous: a wrong shape fails them', () => {
    const schemaOf = (p: string, m: string) => doc.paths[p][m].responses['200'].content!['application/json'].schema;
    expect(ajv.compile(schemaOf('/v1/surfaces', 'get'))({ surfaces: [{ id: 7 }] })).toBe(false);
    expect(ajv.compile(schemaOf('/v1/experiments/{id}', 'get'))({ experiment: {} })).toBe(false);
    expect(ajv.compile(schemaOf('/v1/events', 'post'))({ accepted: '3' })).toBe(false);
    expect(ajv.compile(schemaOf('/ofrep/v1/evaluate/flags/{key}', 'post'))({ key: 'k', value: 'v', variant: 'v', reason: 'DEFAULT', metadata: {} })).toBe(
      false,
    );
  });
});

describe('security in the OpenAPI document', () => {
  beforeEach(() => open(ENGINES[0]));

  it('declares the bearer scheme and, per operation, the scope the server enforces', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const op of OPERATIONS) {
      const documented = doc.paths[op.path][op.method];
      if (op.path === '/healthz' || op.path === '/readyz') {
        expect(documented.security, op.path).toEqual([]);
        continue;
      }
      expect(documented.security, `${op.method} ${op.path}`).toEqual([{ bearer: [] }]);
      expect(documented['x-required-scope'], `${op.method} ${op.path}`).toBe(routeScope(op.method, op.path.replace(/\{\w+\}/g, 'x')));
    }
    expect(doc.paths['/v1/experiments/{id}/deploy'].post['x-required-scope']).toBe('deploy');
    expect(doc.paths['/v1/backend/experiments/{id}'].put['x-required-scope']).toBe('admin');
    expect(doc.paths['/ofrep/v1/evaluate/flags/{key}'].post['x-required-scope']).toBe('read');
  });
});
