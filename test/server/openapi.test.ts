import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { OPERATIONS, openApiDocument } from '../../src/server/openapi.js';
import { appFetch, testContainer, testHttp } from '../helpers/app.js';

let app: Container;
let http: HttpApp;
beforeAll(() => {
  app = testContainer();
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
        .filter((r) => r.method !== 'ALL' && !r.path.startsWith('/mcp'))
        // The OFREP router accepts a slot flag's key as two segments too (surface/slot); it is the same operation.
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)\/:(\w+)$/, '{key}').replace(/:(\w+)/g, '{$1}')}`),
    ),
  ].sort();

describe('OpenAPI document', () => {
  it('lists exactly the routes the hono app serves (besides /mcp)', () => {
    expect(servedRoutes(http)).toEqual(OPERATIONS.map((o) => `${o.method} ${o.path}`).sort());
  });

  it.each(['backend', 'content'] as const)('the %s role serves exactly its document: its contract, serving and OFREP', async (role) => {
    const h = testHttp(app, { role });
    const doc = openApiDocument(role);
    expect(servedRoutes(h)).toEqual(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort());
    expect(servedRoutes(h)).toEqual(expect.arrayContaining(['get /v1/surfaces/{id}/layout', 'post /ofrep/v1/evaluate/flags/{key}']));
    expect(servedRoutes(h).some((r) => r.includes('/v1/experiments'))).toBe(false);
    await h.close();
  });

  it('is served at /v1/openapi.json with request bodies generated from the zod schemas', async () => {
    const res = await appFetch(http)('http://127.0.0.1/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    const deploy = doc.paths['/v1/experiments/{id}/deploy'].post.requestBody!.content['application/json'].schema;
    expect(Object.keys(deploy.properties!)).toEqual(expect.arrayContaining(['version', 'planHash', 'dryRun', 'confirmation']));
    const create = doc.paths['/v1/experiments'].post.requestBody!.content['application/json'].schema as { properties: { config: { properties: Record<string, unknown> } } };
    expect(Object.keys(create.properties.config.properties)).toEqual(expect.arrayContaining(['key', 'surfaceId', 'variants', 'guardrails', 'analysisPlan']));
  });
});
