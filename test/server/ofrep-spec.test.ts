import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Container } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { appFetch, demoConfig, permissivePolicy, startRunning, testHttp } from '../helpers/app.js';
import { type EngineApp, engineContainer } from '../helpers/engine-container.js';
import { ENGINES, engineTitle } from '../helpers/sql-engines.js';

/** The public OFREP 0.3.0 document (test/fixtures/README.md says where it comes from). */
const OFREP_ID = 'https://open-feature.dev/ofrep-0.3.0.json';
type Doc = { paths: Record<string, { post: { responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> } }>; components: any };
const ofrep = JSON.parse(readFileSync(new URL('../fixtures/ofrep-openapi-0.3.0.json', import.meta.url), 'utf8')) as Doc;
// Upstream defect (fixture README): `codeDefaultFlag` is `{type: object, properties: {}}`, which every
// evaluation matches, so the flag-type oneOf always matches twice. Read it as its description says: no value.
ofrep.components.schemas.codeDefaultFlag = { type: 'object', not: { required: ['value'] } };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addFormat('float', true);
ajv.addSchema({ ...ofrep, $id: OFREP_ID });

const SINGLE = '/ofrep/v1/evaluate/flags/{key}';
const BULK = '/ofrep/v1/evaluate/flags';
/** The OFREP document's schema for an answer of `status` from `path`. */
const validator = (path: string, status: number) => {
  const ref = ofrep.paths[path].post.responses[String(status)].content!['application/json'].schema.$ref;
  return ajv.compile({ $ref: `${OFREP_ID}${ref}` });
};
const expectValid = (path: string, status: number, body: unknown) => {
  const validate = validator(path, status);
  expect(validate(body), `${status} ${path}: ${JSON.stringify(body)} ${JSON.stringify(validate.errors)}`).toBe(true);
};

let app: Container;
let http: HttpApp | undefined;
let built: EngineApp | undefined;
const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
afterEach(async () => {
  await http?.close();
  await built?.close();
  http = built = undefined;
});

/** Created, validated and deployed through the services, and served (a PostgreSQL replica reloads asynchronously). */
const running = async (key: string, overrides: Record<string, unknown> = {}) => await startRunning(app, demoConfig({ key, ...overrides }));

async function evaluate(key: string, body: unknown) {
  const res = await appFetch(http!)(`http://127.0.0.1/ofrep/v1/evaluate/flags${key ? `/${key}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A unit the experiment's buckets hold on `platform`, and one they do not. */
function unitsOf(experimentId: string, surface: string, platform?: string) {
  const units = Array.from({ length: 400 }, (_, i) => `user-${i}`);
  const arm = (u: string) => app.assignments.view(surface, u, platform)!.assignments.find((a) => a.experimentId === experimentId)?.variant;
  // `treated`: in a variant that is not control, so the experiment decides the slots that variant overrides.
  return {
    inside: units.find((u) => arm(u))!,
    outside: units.find((u) => !arm(u))!,
    treated: units.find((u) => arm(u) && arm(u) !== 'control')!,
    control: units.find((u) => arm(u) === 'control')!,
  };
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'OFREP answers against the OFREP 0.3.0 document'), () => {
    beforeEach(async () => {
      built = await engineContainer(engine, { policy: permissivePolicy() });
      app = built.app;
      http = testHttp(app);
    });

    it('single evaluations: every reason sealab gives is in the protocol set, and each answer matches its schema', async () => {
      const shelf = await running('home-focus-shelf', { allocationPercent: 50 });
      const ios = await running('home-hero', {
        allocationPercent: 50,
        targeting: { platforms: ['ios'] },
        variants: [
          { key: 'control', isControl: true, weight: 50 },
          { key: 'wrapped', weight: 50, overrides: [{ slotId: 'hero', contentId: 'bn-wrapped' }] },
        ],
      });
      const s = unitsOf(shelf.id, 'home');
      const onIos = unitsOf(ios.id, 'home', 'ios');

      const answers = {
        inExperiment: await evaluate('home-focus-shelf', { context: { targetingKey: s.inside } }),
        outsideAllocation: await evaluate('home-focus-shelf', { context: { targetingKey: s.outside } }),
        notTargeted: await evaluate('home-hero', { context: { targetingKey: onIos.inside, platform: 'web' } }),
        staticSlot: await evaluate('home%2Fshelf-1', { context: { targetingKey: s.inside } }),
        decidedSlot: await evaluate('home/shelf-2', { context: { targetingKey: s.treated } }),
        controlSlot: await evaluate('home/shelf-2', { context: { targetingKey: s.control } }),
      };
      await app.stops.stop({ experimentId: shelf.id, reason: 'test' }, ctx);
      await app.serving.settled();
      const stopped = await evaluate('home-focus-shelf', { context: { targetingKey: s.inside } });

      expect(answers.inExperiment.body).toMatchObject({ reason: 'SPLIT', metadata: { inExperiment: true } });
      expect(answers.outsideAllocation.body).toMatchObject({ reason: 'SPLIT', value: 'control', metadata: { inExperiment: false } });
      expect(answers.notTargeted.body).toMatchObject({ reason: 'TARGETING_MATCH', value: 'control', metadata: { inExperiment: false } });
      expect(answers.staticSlot.body).toMatchObject({ reason: 'STATIC', variant: 'default' });
      expect(answers.decidedSlot.body).toMatchObject({ reason: 'SPLIT', variant: 'focus', value: 'sh-focus', metadata: { experimentId: shelf.id } });
      // A control unit sees the default content, but the experiment's split decided that: SPLIT, variant control.
      expect(answers.controlSlot.body).toMatchObject({ reason: 'SPLIT', variant: 'control', metadata: { experimentId: shelf.id } });
      expect(answers.controlSlot.body.value).not.toBe('sh-focus');
      expect(stopped.body).toMatchObject({ reason: 'DISABLED', value: 'control' });
      for (const a of [...Object.values(answers), stopped]) {
        expect(a.status).toBe(200);
        expectValid(SINGLE, 200, a.body);
      }
    });

    it('single evaluation failures: 400 and 404 match evaluationFailure and flagNotFound', async () => {
      const notFound = await evaluate('no-such-flag', { context: { targetingKey: 'u1' } });
      const failures = [
        await evaluate('home-focus-shelf', '{nope'),
        await evaluate('home-focus-shelf', { context: {} }),
        await evaluate('home-focus-shelf', { context: { targetingKey: 7 } }),
      ];

      expect(notFound.status).toBe(404);
      expectValid(SINGLE, 404, notFound.body);
      expect(failures.map((f) => [f.status, f.body.errorCode])).toEqual([
        [400, 'PARSE_ERROR'],
        [400, 'TARGETING_KEY_MISSING'],
        [400, 'INVALID_CONTEXT'],
      ]);
      for (const f of failures) expectValid(SINGLE, 400, f.body);
    });

    it('bulk evaluation: 200 matches bulkEvaluationSuccess, 400 bulkEvaluationFailure', async () => {
      await running('home-focus-shelf', { allocationPercent: 50 });
      const ok = await evaluate('', { context: { targetingKey: 'user-7' } });
      const bad = await evaluate('', { context: {} });

      expect(ok.status).toBe(200);
      expect(ok.body.flags.length).toBeGreaterThan(3);
      expectValid(BULK, 200, ok.body);
      expect(bad.status).toBe(400);
      expectValid(BULK, 400, bad.body);
    });
  });
}

describe('the OFREP 0.3.0 schemas', () => {
  it('the schemas are not vacuous: OpenFeature DEFAULT, which OFREP 0.3.0 lacks, fails them', () => {
    const answer = { key: 'k', value: 'control', variant: 'control', reason: 'DEFAULT', metadata: {} };
    expect(validator(SINGLE, 200)(answer)).toBe(false);
    expect(validator(SINGLE, 200)({ ...answer, reason: 'SPLIT' })).toBe(true);
    expect(validator(SINGLE, 404)({ key: 'k', errorCode: 'GENERAL' })).toBe(false);
  });
});
