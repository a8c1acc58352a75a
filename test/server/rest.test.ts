import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Container } from '../../src/container.js';
import { DEFAULT_POLICY, DEFAULT_SURFACE_POLICY, type Policy } from '../../src/domain/policy.js';
import type { HttpApp, HttpOptions } from '../../src/server/http-app.js';
import { demoConfig, testHttp } from '../helpers/app.js';
import { type EngineApp, engineContainer, tableCountsOf } from '../helpers/engine-container.js';
import { type Engine, ENGINES, engineTitle } from '../helpers/sql-engines.js';

/**
 * REST over the hono app, on SQLite and on a PostgreSQL replica (issue 17 item 3): every case runs on both engines;
 * "nothing written" is the row counts of every table (tableCountsOf, through the engine-free store).
 */
let engine: Engine;
let app: Container;
let http: HttpApp | undefined;
let built: EngineApp | undefined;

/** The suite's app on the engine of the enclosing describe, under the shipped policy. */
async function open() {
  built = await engineContainer(engine);
  app = built.app;
  http = testHttp(app);
}
async function close() {
  await http?.close();
  await built?.close();
  http = built = undefined;
}
afterEach(close);

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One REST call through the hono app, as a client on the loopback address sends it. */
async function rest(
  method: string,
  path: string,
  body?: unknown,
  init: { raw?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { host: '127.0.0.1', ...init.headers };
  const payload = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const res = await http!.app.request(path, { method, headers, body: payload });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** RFC 9457 problem JSON with a code and a hint, and nothing that looks like a stack trace. */
function expectProblem(r: Reply, status: number, code: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json).toMatchObject({ status, code, title: code, detail: expect.any(String), hint: expect.any(String) });
  expect(r.json.hint.length).toBeGreaterThan(10);
  expect(r.json.requestId).toBe(r.headers.get('x-request-id'));
  expect(r.json).not.toHaveProperty('stack');
  expect(r.text).not.toMatch(/\bat .*\.[cm]?[jt]s:\d+/);
  expect(r.text).not.toMatch(/node_modules|\/src\//);
}

/** Table counts without the audit log: ingest audits every batch that stores or dedupes an event. */
async function dataCounts(c: Container) {
  const { audit_log: _audit, ...rest } = await tableCountsOf(c);
  return rest;
}

const APPROVAL = { reason: 'approved by the test operator' };

async function createAndDeploy(config = demoConfig()) {
  const created = await rest('POST', '/v1/experiments', { config });
  expect(created.status, created.text).toBe(201);
  const id: string = created.json.experiment.id;
  const v = await rest('POST', `/v1/experiments/${id}/validate`);
  expect(v.json.valid).toBe(true);
  const deployed = await rest('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: v.json.planHash, confirmation: APPROVAL });
  expect(deployed.status, deployed.text).toBe(200);
  return id;
}

for (const e of ENGINES) {
  describe.skipIf(e.skip)(engineTitle(e, 'REST'), () => {
    beforeEach(async () => {
      engine = e;
      await open();
    });

    describe('REST experiment lifecycle', () => {
      it('creates a draft, and replays the same key to the same experiment with 200', async () => {
        const first = await rest('POST', '/v1/experiments', { config: demoConfig(), idempotencyKey: 'rest-key-0001' });
        expect(first.status).toBe(201);
        expect(first.json).toMatchObject({ replayed: false, experiment: { status: 'draft', version: 1, key: 'home-focus-shelf', surfaceId: 'home' } });
        expect(first.json.experiment.id).toMatch(/^exp_[0-9a-f]{16}$/);
        const counts = await tableCountsOf(app);

        const replay = await rest('POST', '/v1/experiments', { config: demoConfig(), idempotencyKey: 'rest-key-0001' });

        expect(replay.status).toBe(200);
        expect(replay.json).toMatchObject({ replayed: true, experiment: { id: first.json.experiment.id, version: 1 } });
        expect(await tableCountsOf(app)).toEqual(counts);
        const listed = await rest('GET', '/v1/experiments?surface=home');
        expect(listed.json.experiments.map((e: { id: string }) => e.id)).toEqual([first.json.experiment.id]);
      });

      it('validates, deploys with the version read, and refuses a stale version with 409', async () => {
        const created = await rest('POST', '/v1/experiments', { config: demoConfig() });
        const id = created.json.experiment.id;

        const unvalidated = await rest('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: 'f'.repeat(64), confirmation: APPROVAL });
        expectProblem(unvalidated, 412, 'PRECONDITION_FAILED');
        expect(unvalidated.json.hint).toMatch(/validate_config/);

        const v = await rest('POST', `/v1/experiments/${id}/validate`);
        expect(v.status).toBe(200);
        expect(v.json).toMatchObject({ valid: true, recorded: true, version: 1, experimentId: id });

        const unconfirmed = await rest('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: v.json.planHash });
        expectProblem(unconfirmed, 412, 'PRECONDITION_FAILED');
        expect(unconfirmed.json.detail).toMatch(/^confirmation required/);
        expect(unconfirmed.json.hint).toMatch(/confirmation: \{"reason"/);

        const dep = await rest('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: v.json.planHash, confirmation: APPROVAL });
        expect(dep.status).toBe(200);
        expect(dep.json.confirmation).toMatchObject({ required: true, given: { via: 'argument', reason: APPROVAL.reason } });
        expect(dep.json).toMatchObject({ applied: true, plan: { action: 'start', toPercent: 10 }, experiment: { status: 'running', version: 2 } });

        const counts = await tableCountsOf(app);
        const stale = await rest('POST', `/v1/experiments/${id}/deploy`, { version: 1, planHash: v.json.planHash });
        expectProblem(stale, 409, 'CONFLICT');
        expect(stale.json.detail).toMatch(/version 2, not 1/);
        expect(stale.json.hint).toMatch(/get_experiment/);
        expect(stale.json.details).toEqual({ currentVersion: 2 });
        expect(await tableCountsOf(app)).toEqual(counts);
      });

      it('serves a stable assignment whose layout carries the treatment override', async () => {
        const id = await createAndDeploy();
        const seen = new Map<string, any>();
        for (let i = 0; i < 400 && !(seen.has('focus') && seen.has('control') && seen.has('none')); i++) {
          const r = await rest('GET', `/v1/surfaces/home/assignment?unit=u${i}`);
          expect(r.status).toBe(200);
          const mine = r.json.assignments.find((a: { experimentId: string }) => a.experimentId === id);
          const kind = mine ? mine.variant : 'none';
          if (!seen.has(kind)) seen.set(kind, r.json);
        }
        expect([...seen.keys()].sort()).toEqual(['control', 'focus', 'none']);

        const treated = seen.get('focus');
        expect(treated.bucket).toEqual(expect.any(Number));
        expect(treated.layout.find((l: { slotId: string }) => l.slotId === 'shelf-2')).toEqual({
          slotId: 'shelf-2',
          contentId: 'sh-focus',
          experimentId: id,
          variant: 'focus',
        });
        expect(treated.layout.find((l: { slotId: string }) => l.slotId === 'hero')).toMatchObject({ contentId: 'bn-new-releases', experimentId: null });
        for (const kind of ['control', 'none']) {
          expect(seen.get(kind).layout.find((l: { slotId: string }) => l.slotId === 'shelf-2')).toMatchObject({
            contentId: 'mx-daily-1',
            experimentId: null,
            variant: null,
          });
        }

        for (const first of seen.values()) {
          const again = await rest('GET', `/v1/surfaces/home/assignment?unit=${encodeURIComponent(first.unitId)}`);
          expect(again.json).toEqual(first);
        }
      });

      it('refuses an assignment without a unit, or on an unknown surface', async () => {
        expectProblem(await rest('GET', '/v1/surfaces/home/assignment'), 400, 'INVALID_INPUT');
        const moon = await rest('GET', '/v1/surfaces/moon/assignment?unit=u1');
        expectProblem(moon, 404, 'NOT_FOUND');
        expect(moon.json.hint).toMatch(/\/v1\/surfaces/);
      });

      it('reports metrics, then stops the experiment with a reason and frees its buckets', async () => {
        const id = await createAndDeploy();
        const exposed: string[] = [];
        for (let i = 0; exposed.length < 20 && i < 2000; i++) {
          const r = await rest('GET', `/v1/surfaces/home/assignment?unit=m${i}`);
          if (r.json.assignments.some((a: { experimentId: string }) => a.experimentId === id)) exposed.push(`m${i}`);
        }
        expect(exposed).toHaveLength(20);
        const later = new Date(Date.now() + 60_000).toISOString();
        const events = exposed.map((unitId, i) => ({ id: `conv-${i}`, type: 'metric', unitId, metricId: 'stream-rate', value: 1, timestamp: later }));
        expect((await rest('POST', '/v1/events', { events })).json).toEqual({ accepted: 20, duplicates: 0, unmatched: 0, rejected: [] });

        const m = await rest('GET', `/v1/experiments/${id}/metrics`);
        expect(m.status).toBe(200);
        expect(m.json).toMatchObject({ experimentId: id, status: 'running', version: 2 });
        expect(m.json.exposures.reduce((s: number, e: { units: number }) => s + e.units, 0)).toBe(20);
        expect(m.json.metrics.map((x: { metricId: string; role: string }) => `${x.metricId}:${x.role}`)).toEqual([
          'stream-rate:success',
          'crash-rate:guardrail',
        ]);

        const stop = await rest('POST', `/v1/experiments/${id}/stop`, { reason: 'enough data for a first read', confirmation: APPROVAL });
        expect(stop.status).toBe(200);
        expect(stop.json.experiment).toMatchObject({ id, status: 'concluded', outcome: 'stopped', buckets: [] });
        const audit = await rest('GET', `/v1/experiments/${id}/audit`);
        expect(audit.json.audit[0]).toMatchObject({
          operation: 'POST /v1/experiments/:id/stop',
          interface: 'rest',
          actor: 'rest:local:anonymous',
          rationale: 'enough data for a first read',
          confirmation: { via: 'argument', reason: APPROVAL.reason },
        });

        const again = await rest('POST', `/v1/experiments/${id}/stop`, { reason: 'twice', confirmation: APPROVAL });
        expectProblem(again, 412, 'PRECONDITION_FAILED');
      });

      it('answers an unknown experiment with 404 and a hint on every route', async () => {
        const counts = await tableCountsOf(app);
        const replies = [
          await rest('GET', '/v1/experiments/exp_nope'),
          await rest('POST', '/v1/experiments/exp_nope/validate'),
          await rest('POST', '/v1/experiments/exp_nope/deploy', { version: 1, planHash: 'f'.repeat(64) }),
          await rest('GET', '/v1/experiments/exp_nope/metrics'),
          await rest('POST', '/v1/experiments/exp_nope/stop', { reason: 'not there' }),
        ];
        for (const r of replies) {
          expectProblem(r, 404, 'NOT_FOUND');
          expect(r.json.detail).toBe("experiment 'exp_nope' does not exist");
          expect(r.json.hint).toMatch(/list_experiments/);
        }
        expect(await tableCountsOf(app)).toEqual(counts);
      });

      it('refuses malformed bodies with 400 and an invalid config with 422, changing nothing', async () => {
        const counts = await tableCountsOf(app);
        const badDeploy = await rest('POST', '/v1/experiments/home-focus-shelf/deploy', { version: 'one' });
        expectProblem(badDeploy, 400, 'INVALID_INPUT');
        expect(badDeploy.json.detail).toMatch(/^version: /);
        expectProblem(await rest('POST', '/v1/experiments/x/stop', { reason: '' }), 400, 'INVALID_INPUT');
        const badConfig = await rest('POST', '/v1/experiments', { config: { key: 'Bad Key!' } });
        expectProblem(badConfig, 422, 'INVALID_CONFIG');
        expect(badConfig.json.details.issues.length).toBeGreaterThan(0);
        expect(await tableCountsOf(app)).toEqual(counts);
      });
    });

    /** Puts the suite's app under `policy` (nothing was written under the shipped one yet) and serves it with `opts` (e.g. a token). */
    async function reopen(policy: Policy, opts: Partial<HttpOptions> = {}) {
      app.setPolicy(policy);
      await http?.close();
      http = testHttp(app, opts);
    }

    /** Only `client:*` may deploy above 5%: the shape of the policy issue 11 reports. */
    const clientsOnlyAbove5 = (actors = ['client:*']): Policy => ({
      ...DEFAULT_POLICY,
      version: 'clients-only-above-5',
      defaults: { ...DEFAULT_SURFACE_POLICY, allocationApprovals: [{ abovePercent: 5, actors }] },
    });

    describe('REST principal: the audit actor is who authenticated, never a header', () => {
      const TOKEN = 'a-test-token-of-some-length';
      const bearer = { authorization: `Bearer ${TOKEN}` };

      /** A validated draft at 10%, and the deploy body that cites its plan. */
      async function validatedDraft(headers: Record<string, string> = {}) {
        const created = await rest('POST', '/v1/experiments', { config: demoConfig() }, { headers });
        expect(created.status, created.text).toBe(201);
        const id: string = created.json.experiment.id;
        const v = await rest('POST', `/v1/experiments/${id}/validate`, undefined, { headers });
        expect(v.json.valid, v.text).toBe(true);
        return { id, deploy: { version: 1, planHash: v.json.planHash, confirmation: APPROVAL } };
      }

      it.each(['client:bearer', 'system:ramp-scheduler', 'client:*'])(
        'refuses a deploy of 10 percent claiming x-actor %s with 403 and writes nothing',
        async (claimed) => {
          await reopen(clientsOnlyAbove5());
          const { id, deploy } = await validatedDraft();
          const counts = await tableCountsOf(app);

          const r = await rest('POST', `/v1/experiments/${id}/deploy`, deploy, { headers: { 'x-actor': claimed } });

          expectProblem(r, 403, 'FORBIDDEN');
          expect(r.json.detail).toContain("'rest:local:anonymous' may not deploy above 5%");
          expect(await tableCountsOf(app)).toEqual(counts);
          expect((await app.experiments.get(id)).status).toBe('draft');
        },
      );

      it('refuses it with the token too: a bearer REST caller is rest:client:bearer, which client:* does not match', async () => {
        await reopen(clientsOnlyAbove5(), { token: TOKEN });
        const { id, deploy } = await validatedDraft(bearer);
        const counts = await tableCountsOf(app);

        const r = await rest('POST', `/v1/experiments/${id}/deploy`, deploy, { headers: { ...bearer, 'x-actor': 'client:bearer' } });

        expect(r.status, r.text).toBe(403);
        expect(await tableCountsOf(app)).toEqual(counts);
      });

      it('audits an allowed write as the principal, with x-actor beside it as on-behalf-of', async () => {
        await reopen(clientsOnlyAbove5(['rest:local:*']));
        const { id, deploy } = await validatedDraft({ 'x-actor': 'dana' });

        const r = await rest('POST', `/v1/experiments/${id}/deploy`, deploy, { headers: { 'x-actor': 'client:bearer' } });

        expect(r.status, r.text).toBe(200);
        const audit = (await rest('GET', `/v1/experiments/${id}/audit`)).json.audit;
        expect(audit[0]).toMatchObject({
          operation: 'POST /v1/experiments/:id/deploy',
          actor: 'rest:local:anonymous',
          onBehalfOf: 'client:bearer',
          confirmation: { via: 'argument', reason: APPROVAL.reason },
        });
        expect(audit.at(-1)).toMatchObject({ operation: 'POST /v1/experiments', actor: 'rest:local:anonymous', onBehalfOf: 'dana' });
        expect(audit.every((a: { actor: string }) => a.actor === 'rest:local:anonymous')).toBe(true);
      });

      it('audits a bearer REST caller as rest:client:bearer, which the default rest:* approval still admits', async () => {
        await reopen(DEFAULT_POLICY, { token: TOKEN });
        const created = await rest('POST', '/v1/experiments', { config: demoConfig() }, { headers: bearer });
        expect(created.status, created.text).toBe(201);

        const [row] = (await rest('GET', `/v1/experiments/${created.json.experiment.id}/audit`, undefined, { headers: bearer })).json.audit;

        expect(row).toMatchObject({ actor: 'rest:client:bearer', onBehalfOf: null, confirmation: null });
      });
    });

    describe('REST event ingest', () => {
      it('stores the valid events of a mixed batch and reports the others by index', async () => {
        const id = await createAndDeploy();
        const counts = await tableCountsOf(app);
        const events = [
          { id: 'ev-1', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 },
          { id: 'ev-2', type: 'metric', unitId: 'u1' },
          { id: 'ev-1', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 },
          { id: 'ev-3', type: 'exposure', unitId: 'u2', experimentId: 'exp_nope', variant: 'control' },
          { id: 'ev-4', type: 'exposure', unitId: 'u2', experimentId: id, variant: 'purple' },
          { id: 'ev-5', type: 'metric', unitId: 'u2', metricId: 'no-such-metric', value: 1 },
          'not an event',
          { id: 'ev-6', type: 'exposure', unitId: 'u3', experimentId: id, variant: 'focus', timestamp: '2026-11-26T10:00:00Z' },
        ];

        const r = await rest('POST', '/v1/events', { events });

        expect(r.status).toBe(200);
        expect(r.json.accepted).toBe(2);
        expect(r.json.duplicates).toBe(1);
        expect(r.json.rejected.map((x: { index: number; id: string | null; code: string }) => [x.index, x.id, x.code])).toEqual([
          [1, 'ev-2', 'INVALID_EVENT'],
          [3, 'ev-3', 'UNKNOWN_EXPERIMENT'],
          [4, 'ev-4', 'UNKNOWN_VARIANT'],
          [5, 'ev-5', 'UNKNOWN_METRIC'],
          [6, null, 'INVALID_EVENT'],
        ]);
        for (const x of r.json.rejected) expect(x.message).toEqual(expect.any(String));
        expect((await tableCountsOf(app)).event_log).toBe(counts.event_log + 2); // acknowledged = appended (ADR 0018)
        await app.fold.catchUpAsync();
        const after = await tableCountsOf(app);
        expect(after.metric_events).toBe(counts.metric_events + 1);
        expect(after.exposures).toBe(counts.exposures + 1);

        const replay = await rest('POST', '/v1/events', { events: [events[0], events[7]] });
        expect(replay.json).toEqual({ accepted: 0, duplicates: 2, unmatched: 0, rejected: [] });
        const { audit_log: _a, ...afterData } = after;
        expect(await dataCounts(app)).toEqual(afterData);
      });

      it('answers a batch where every event is rejected with 422 and writes nothing, not even an audit row', async () => {
        const counts = await tableCountsOf(app);
        const r = await rest('POST', '/v1/events', { events: [{ id: 'x', type: 'click' }] });
        expect(r.status).toBe(422);
        expect(r.json.rejected).toEqual([{ index: 0, id: 'x', code: 'INVALID_EVENT', message: expect.any(String) }]);
        expect(await tableCountsOf(app)).toEqual(counts);
        const stored = await rest('POST', '/v1/events', { events: [{ id: 'ok', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1 }] });
        expect(stored.status).toBe(200);
        expect((await tableCountsOf(app)).audit_log).toBe(counts.audit_log + 1);
      });

      it('takes an exposure by experiment key as by id, and stores it under the id', async () => {
        const id = await createAndDeploy();
        const r = await rest('POST', '/v1/events', {
          events: [
            { id: 'by-key', type: 'exposure', unitId: 'k1', experimentId: 'home-focus-shelf', variant: 'focus' },
            { id: 'by-id', type: 'exposure', unitId: 'k2', experimentId: id, variant: 'control' },
            { id: 'sticky', type: 'exposure', unitId: 'k1', experimentId: id, variant: 'control' },
          ],
        });
        expect(r.json.accepted, r.text).toBe(2);
        expect(r.json.rejected).toEqual([expect.objectContaining({ index: 2, code: 'VARIANT_MISMATCH' })]);
        await app.fold.catchUpAsync();
        const rows = await app.deps.sql.all("SELECT experiment_id AS e, unit_id AS u FROM exposures WHERE unit_id IN ('k1', 'k2') ORDER BY unit_id");
        expect(rows).toEqual([
          { e: id, u: 'k1' },
          { e: id, u: 'k2' },
        ]);
      });

      it('refuses a binary metric value other than 0 or 1, per event, and suggests the nearest metric for an unknown one', async () => {
        const counts = await tableCountsOf(app);
        const r = await rest('POST', '/v1/events', {
          events: [
            { id: 'b0', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 0 },
            { id: 'b1', type: 'metric', unitId: 'u2', metricId: 'stream-rate', value: 1 },
            { id: 'b1000', type: 'metric', unitId: 'u3', metricId: 'stream-rate', value: 1000 },
            { id: 'bhalf', type: 'metric', unitId: 'u4', metricId: 'stream-rate', value: 0.5 },
            { id: 'mean', type: 'metric', unitId: 'u5', metricId: 'minutes-played', value: 1000 },
            { id: 'typo', type: 'metric', unitId: 'u6', metricId: 'streams', value: 3 },
          ],
        });
        expect(r.status).toBe(200);
        expect(r.json.accepted).toBe(3);
        expect(r.json.rejected.map((x: { id: string; code: string }) => [x.id, x.code])).toEqual([
          ['b1000', 'INVALID_VALUE'],
          ['bhalf', 'INVALID_VALUE'],
          ['typo', 'UNKNOWN_METRIC'],
        ]);
        expect(r.json.rejected[0].message).toBe("metric 'stream-rate' is binary: its value is 0 or 1 (got 1000)");
        expect(r.json.rejected[2].message).toContain("Did you mean 'streams-per-user'?");
        await app.fold.catchUpAsync();
        expect((await tableCountsOf(app)).metric_events).toBe(counts.metric_events + 3);
      });

      it.each([
        ['a body that is not JSON', { raw: 'not json', contentType: 'text/plain' }],
        ['an empty batch', { raw: JSON.stringify({ events: [] }) }],
        ['events that are not a list', { raw: JSON.stringify({ events: 'x' }) }],
        ['no events key', { raw: JSON.stringify({ event: [] }) }],
        ['a JSON array', { raw: JSON.stringify([{ id: 'a' }]) }],
      ])('refuses %s with 400 problem JSON and stores nothing', async (_label, init) => {
        const counts = await tableCountsOf(app);
        const r = await rest('POST', '/v1/events', undefined, init);
        expectProblem(r, 400, 'INVALID_INPUT');
        expect(await tableCountsOf(app)).toEqual(counts);
      });

      // createMcpHonoApp's JSON middleware is scoped to /mcp, so /v1 answers its own problem JSON.
      it('refuses a body labelled application/json that is not JSON with 400 problem JSON', async () => {
        const counts = await tableCountsOf(app);
        const r = await rest('POST', '/v1/events', undefined, { raw: 'not json' });
        expect(await tableCountsOf(app)).toEqual(counts);
        expectProblem(r, 400, 'INVALID_INPUT');
      });
    });

    describe('the systems contracts (backend, content delivery)', () => {
      it('refuse a write for a surface this system does not have with NOT_FOUND, and write nothing', async () => {
        const before = await tableCountsOf(app);
        const step = { opId: 'op_1', step: 'deploy.backend', key: 'k', variants: demoConfig().variants };
        const backend = await rest('PUT', '/v1/backend/experiments/exp_1', {
          ...step,
          surfaceId: 'hme',
          status: 'running',
          buckets: [[0, 10]],
          allocationPercent: 10,
        });
        expect(backend).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
        expect(backend.json.hint).toContain("Did you mean 'home'?");
        const content = await rest('PUT', '/v1/content-delivery/experiments/exp_1', { ...step, step: 'deploy.content', surfaceId: 'hme', serving: true });
        expect(content).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
        expect(await tableCountsOf(app)).toEqual(before);
      });
    });
  });
}
