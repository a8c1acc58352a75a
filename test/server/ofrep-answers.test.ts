import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Container } from '../../src/container.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { answerSingle, parseContext } from '../../src/server/ofrep-evaluate.js';
import { appFetch, demoConfig, permissivePolicy, startRunning, testHttp } from '../helpers/app.js';
import { type EngineApp, engineContainer } from '../helpers/engine-container.js';
import { ENGINES, engineTitle } from '../helpers/sql-engines.js';

let app: Container;
let built: EngineApp | undefined;
const ctx = { actor: 'test', interface: 'cli' as const, operation: 'test', requestId: 'r' };
afterEach(async () => {
  await built?.close();
  built = undefined;
});

const body = (unit: string, platform?: string) => JSON.stringify({ context: { targetingKey: unit, ...(platform ? { platform } : {}) } });

/**
 * The answer as the unit's whole view of the surface gives it, serialised: what evaluations answered
 * before the one-flag lookup and the pre-serialised fragments, written out independently of both.
 */
function fromView(experimentId: string, key: string, unit: string, platform?: string): string {
  const e = app.assignments.experiment(experimentId)!;
  const view = app.assignments.view(e.surfaceId, unit, platform)!;
  const hit = view.assignments.find((a) => a.experimentId === e.id);
  const outByTargeting = e.platforms !== null && (!platform || !e.platforms.has(platform));
  return JSON.stringify({
    key,
    value: hit?.variant ?? e.control,
    variant: hit?.variant ?? e.control,
    reason: hit ? 'SPLIT' : outByTargeting ? 'TARGETING_MATCH' : 'SPLIT',
    metadata: { experimentId: e.id, surfaceId: e.surfaceId, status: 'running', inExperiment: Boolean(hit), bucket: view.bucket },
    cacheable: false,
  });
}

/** What the unit gets on `platform`, as the view says: a variant, or out by split or by targeting. */
function armOf(experimentId: string, unit: string, platform?: string): string {
  const e = app.assignments.experiment(experimentId)!;
  const hit = app.assignments.view(e.surfaceId, unit, platform)!.assignments.find((a) => a.experimentId === e.id);
  if (hit) return hit.variant;
  return e.platforms !== null && (!platform || !e.platforms.has(platform)) ? 'out-by-targeting' : 'out-by-split';
}

/** Three units in each arm on each platform asked for (found by arm, not left to chance). */
function unitsByArm(experimentId: string, wanted: [platform: string | undefined, arm: string][]): string[] {
  const candidates = Array.from({ length: 5000 }, (_, i) => `u${i}`);
  return wanted.flatMap(([platform, arm]) => {
    const found = candidates.filter((u) => armOf(experimentId, u, platform) === arm).slice(0, 3);
    expect(found, `${arm} on ${platform}`).toHaveLength(3);
    return found;
  });
}

describe('parseContext on the compact body every provider sends', () => {
  const OPEN = '{"context":{"targetingKey":"';
  const CLOSE = '"}}';

  it('reads the key without JSON.parse exactly as the full parse would, and leaves the rest to it', () => {
    // A leading space keeps a body off the compact reading without changing what JSON makes of it.
    const full = (text: string) => parseContext(` ${text}`, 'k');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (key) => {
        const text = `${OPEN}${key}${CLOSE}`;
        expect(parseContext(text, 'k')).toEqual(full(text));
      }),
      { numRuns: 2000 },
    );
    const cases = [
      `${OPEN}user-1${CLOSE}`,
      `${OPEN}${'x'.repeat(256)}${CLOSE}`,
      `${OPEN}${'x'.repeat(257)}${CLOSE}`,
      `${OPEN}${CLOSE}`,
      `${OPEN}a\\"b${CLOSE}`,
      `${OPEN}a\\u0041${CLOSE}`,
      `${OPEN}a\u0001b${CLOSE}`,
      `${OPEN}a"b${CLOSE}`,
      `${OPEN}}}`,
      `${OPEN}ü—🙂${CLOSE}`,
      `${OPEN}user-1"},"platform":"ios"}`,
    ];
    for (const text of cases) expect(parseContext(text, 'k'), text).toEqual(full(text));
    expect(parseContext(`${OPEN}user-1${CLOSE}`, 'k')).toEqual({ targetingKey: 'user-1', platform: undefined });
    expect(parseContext(`${OPEN}${'x'.repeat(257)}${CLOSE}`, 'k')).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    expect(parseContext(`${OPEN}${CLOSE}`, 'k')).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    expect(parseContext(`${OPEN}a\u0001b${CLOSE}`, 'k')).toMatchObject({ errorCode: 'PARSE_ERROR' });
    expect(parseContext(`${OPEN}a\\u0041${CLOSE}`, 'k')).toEqual({ targetingKey: 'aA', platform: undefined });
  });
});

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(engineTitle(engine, 'OFREP over one engine'), () => {
    beforeEach(async () => {
      built = await engineContainer(engine, { policy: permissivePolicy() });
      app = built.app;
    });

    describe('single-flag OFREP answers (pre-serialised fragments, one-flag lookup)', () => {
      it('are byte for byte the serialised answer of the unit’s view, by key and by id, on every platform and arm', async () => {
        const e = await startRunning(
          app,
          demoConfig({
            allocationPercent: 50,
            targeting: { platforms: ['ios', 'android'] },
            variants: [
              { key: 'control', isControl: true, weight: 40 },
              { key: 'focus', weight: 30, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
              { key: 'wide', weight: 30, overrides: [{ slotId: 'shelf-2', contentId: 'mx-daily-2' }] },
            ],
          }),
        );
        const platforms = [undefined, 'ios', 'web'];
        const arms = ['control', 'focus', 'wide', 'out-by-split'].map((arm): [string, string] => ['ios', arm]);
        const units = unitsByArm(e.id, [...arms, [undefined, 'out-by-targeting'], ['web', 'out-by-targeting']]);
        let compared = 0;
        for (const key of [e.key, e.id])
          for (const unit of units)
            for (const platform of platforms) {
              // Twice: the second answer comes from the kept fragment.
              for (let n = 0; n < 2; n++)
                expect(answerSingle(app, key, body(unit, platform))).toEqual({ status: 200, text: fromView(e.id, key, unit, platform) });
              compared++;
            }
        expect(compared).toBeGreaterThan(100);
        const answered = new Set(units.flatMap((u) => platforms.map((p) => JSON.parse(answerSingle(app, e.key, body(u, p)).text).reason)));
        expect(answered).toEqual(new Set(['SPLIT', 'TARGETING_MATCH']));
      });

      it('records exactly the units in an arm, with their variant, once each', async () => {
        const e = await startRunning(app, demoConfig({ allocationPercent: 50 }));
        const [inside, outside] = [
          unitsByArm(e.id, [
            [undefined, 'control'],
            [undefined, 'focus'],
          ]),
          unitsByArm(e.id, [[undefined, 'out-by-split']]),
        ];
        const before = app.exposures.size;
        for (const unit of [...inside, ...outside, ...inside]) answerSingle(app, e.key, body(unit));
        expect(app.exposures.size - before).toBe(inside.length);
        for (const unit of inside) expect(app.exposures.pendingVariant(e.id, unit)).toBe(armOf(e.id, unit));
        for (const unit of outside) expect(app.exposures.pendingVariant(e.id, unit)).toBeUndefined();
      });

      it('never serve a fragment of an earlier configuration: stopped, the flag answers DISABLED', async () => {
        const e = await startRunning(app, demoConfig({ allocationPercent: 50 }));
        const [unit] = unitsByArm(e.id, [[undefined, 'focus']]);
        expect(JSON.parse(answerSingle(app, e.key, body(unit)).text)).toMatchObject({ variant: 'focus', reason: 'SPLIT' });
        await app.stops.stop({ experimentId: e.id, reason: 'test' }, ctx);
        await app.serving.settled();
        const stopped = app.assignments.experiment(e.id)!;
        const expected = JSON.stringify({
          key: e.key,
          value: 'control',
          variant: 'control',
          reason: 'DISABLED',
          metadata: { experimentId: e.id, surfaceId: 'home', status: stopped.status, inExperiment: false },
          cacheable: false,
        });
        for (let n = 0; n < 2; n++) expect(answerSingle(app, e.key, body(unit))).toEqual({ status: 200, text: expected });
      });

      it('answer unknown flags and bad bodies with the OFREP failure, as JSON text', async () => {
        await startRunning(app, demoConfig({ allocationPercent: 50 }));
        expect(answerSingle(app, 'nope', body('u1'))).toEqual({
          status: 404,
          text: JSON.stringify({ key: 'nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: "no experiment or surface slot 'nope'" }),
        });
        expect(answerSingle(app, 'home-focus-shelf', '{nope')).toEqual({
          status: 400,
          text: JSON.stringify({ key: 'home-focus-shelf', errorCode: 'PARSE_ERROR', errorDetails: 'the request body is not valid JSON' }),
        });
        expect(JSON.parse(answerSingle(app, 'home-focus-shelf', '  ').text)).toMatchObject({ errorCode: 'TARGETING_KEY_MISSING' });
      });
    });

    describe('bulk OFREP evaluation', () => {
      let http: HttpApp;
      beforeEach(() => {
        http = testHttp(app);
      });
      afterEach(() => http.close());

      it('answers every experiment, then every slot of every surface, as single evaluations do', async () => {
        const e = await startRunning(app, demoConfig({ allocationPercent: 50 }));
        const [unit] = unitsByArm(e.id, [[undefined, 'focus']]);
        const before = app.exposures.size;
        const res = await appFetch(http)('http://127.0.0.1/ofrep/v1/evaluate/flags', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(unit),
        });
        const { flags } = (await res.json()) as { flags: { key: string }[] };
        const slotKeys = app.assignments.surfaceIds().flatMap((s) => app.assignments.surface(s)!.slots.map((slot) => `${s}/${slot.id}`));
        expect(flags.map((f) => f.key)).toEqual([...app.assignments.experiments().map((x) => x.key), ...slotKeys]);
        expect(app.exposures.size).toBe(before); // a prefetch records no exposure
        for (const flag of flags) {
          const single = JSON.parse(answerSingle(app, flag.key, body(unit)).text) as Record<string, unknown>;
          expect({ ...flag, cacheable: false }).toEqual(single);
        }
        expect(flags).toContainEqual(expect.objectContaining({ key: 'home/shelf-2', value: 'sh-focus', reason: 'SPLIT' }));
        expect(app.exposures.size).toBe(before + 1); // the single evaluations did: the unit in the experiment
      });
    });
  });
}
