import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { OPERATIONS, openApiDocument } from '../../src/server/openapi.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { appFetch, testContainer, testHttp } from '../helpers/app.js';

let app: SqliteContainer;
let http: HttpApp;
beforeAll(async () => {
  app = await testContainer();
  http = testHttp(app);
});
afterAll(async () => {
  await http.close();
  app.close();
});

const servedRoutes = (h: HttpApp) =>
  [
    ...new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL' && !r.path.startsWith('/mcp') && !r.path.startsWith('/ui'))
        // The OFREP router accepts a slot flag's key as two segments too (surface/slot); it is the same operation.
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)\/:(\w+)$/, '{key}').replace(/:(\w+)/g, '{$1}')}`),
    ),
  ].sort();

describe('OpenAPI document', () => {
  it('lists exactly the routes the hono app serves (besides /mcp and the console pages at /ui)', () => {
    expect(servedRoutes(http)).toEqual(OPERATIONS.map((o) => `${o.method} ${o.path}`).sort());
  });

  it.each(['backend', 'content'] as const)('the %s role serves exactly its document: its contract, serving and OFREP', async (role) => {
    const h = testHttp(app, { role });
    const doc = openApiDocument(role);
    expect(servedRoutes(h)).toEqual(
      Object.entries(doc.paths)
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
        .sort(),
    );
    expect(servedRoutes(h)).toEqual(expect.arrayContaining(['get /v1/surfaces/{id}/layout', 'post /ofrep/v1/evaluate/flags/{key}']));
    expect(servedRoutes(h).some((r) => r.includes('/v1/experiments'))).toBe(false);
    await h.close();
  });

  it('is served at /v1/openapi.json with request bodies generated from the zod schemas', async () => {
    const res = await appFetch(http)('http://127.0.0.1/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const deploy = doc.paths['/v1/experiments/{id}/deploy'].post.requestBody!.content['application/json'].schema;
    expect(Object.keys(deploy.properties!)).toEqual(expect.arrayContaining(['version', 'planHash', 'dryRun', 'confirmation']));
    const create = doc.paths['/v1/experiments'].post.requestBody!.content['application/json'].schema as {
      properties: { config: { properties: Record<string, unknown> } };
    };
    expect(Object.keys(create.properties.config.properties)).toEqual(expect.arrayContaining(['key', 'surfaceId', 'variants', 'guardrails', 'analysisPlan']));
  });

  it("documents the system contracts' answers, and the answers match the documented schemas", async () => {
    const h = testHttp(app, { role: 'backend' });
    const f = appFetch(h);
    const doc = openApiDocument('backend') as unknown as {
      paths: Record<string, Record<string, { responses: { '200': { content?: { 'application/json': { schema: object } } } } }>>;
    };
    const schemaOf = (p: string, m: string) => doc.paths[p][m].responses['200'].content!['application/json'].schema;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const write = {
      opId: 'op_doc',
      step: 'backend.allocate',
      surfaceId: 'home',
      key: 'doc-exp',
      status: 'allocated',
      buckets: [[0, 10]],
      allocationPercent: 10,
      variants: [
        { key: 'control', isControl: true, weight: 50, overrides: [] },
        { key: 't', weight: 50, overrides: [] },
      ],
      targeting: { platforms: ['ios'] },
    };
    const answers: [string, string, unknown][] = [
      [
        '/v1/backend/experiments/{id}',
        'put',
        await (
          await f('http://127.0.0.1/v1/backend/experiments/exp_doc', {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(write),
          })
        ).json(),
      ],
      ['/v1/backend/experiments/{id}', 'get', await (await f('http://127.0.0.1/v1/backend/experiments/exp_doc')).json()],
      ['/v1/backend/experiments', 'get', await (await f('http://127.0.0.1/v1/backend/experiments')).json()],
    ];
    for (const [p, m, body] of answers) {
      const validate = ajv.compile(schemaOf(p, m));
      expect(validate(body), `${m} ${p}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(answers[1][2]).toMatchObject({ status: 'allocated', targeting: { platforms: ['ios'] } });
    // A wrong shape does not pass: the schemas are not vacuous.
    expect(ajv.compile(schemaOf('/v1/backend/experiments/{id}', 'get'))({ experimentId: 1 })).toBe(false);
    await h.close();
  });
});
