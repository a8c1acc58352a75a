import { describe, expect, it } from 'vitest';
import { AssignmentIndex } from '../../../src/app/serving/assignment-index.js';
import { mirrorOf } from '../../../src/app/serving/serving-sync.js';
import { assignUnit, bucketOf, LOADED_MAX } from '../../../src/domain/assignment.js';
import type { Experiment } from '../../../src/domain/schemas.js';
import { DEMO_SURFACES } from '../../helpers/demo-catalog.js';

// The serving path (compiled bucket table) must agree with the pure domain definition (assignUnit)
// for every unit: buckets owned, platform targeting, and the variant chosen by weight.
const home = DEMO_SURFACES.find((s) => s.id === 'home')!;
const exp = (
  id: string,
  slot: string,
  buckets: [number, number][],
  platforms?: ('ios' | 'android' | 'web' | 'desktop')[],
  status: Experiment['status'] = 'running',
) =>
  ({
    id,
    key: id,
    surfaceId: 'home',
    status,
    variants: [
      { key: 'control', isControl: true, weight: 30, overrides: [] },
      { key: 'b', isControl: false, weight: 70, overrides: [{ slotId: slot, contentId: 'sh-focus' }] },
    ],
    targeting: platforms ? { platforms } : {},
    buckets,
  }) as unknown as Experiment;

describe('AssignmentIndex agrees with assignUnit', () => {
  it('for 20,000 units across overlapping, disjoint, targeted and stopped experiments', () => {
    const experiments = [
      exp('e1', 'shelf-1', [[0, 2500]]),
      exp('e2', 'shelf-1', [
        [2500, 4000],
        [9000, 10_000],
      ]),
      exp('e3', 'hero', [[0, 5000]], ['ios', 'android']),
      exp('e4', 'shelf-3', [[1000, 6000]], undefined, 'paused'),
    ];
    const index = new AssignmentIndex();
    index.compile([home], mirrorOf(experiments));
    const running = experiments.filter((e) => e.status === 'running');
    let inSome = 0;
    for (let i = 0; i < 20_000; i++) {
      for (const platform of [undefined, 'ios', 'web']) {
        const unit = `unit-${i}`;
        const expected = assignUnit(home, running, unit, platform).map(({ experimentId, variant }) => ({ experimentId, variant }));
        const got = index.view('home', unit, platform)!.assignments.map(({ experimentId, variant }) => ({ experimentId, variant }));
        expect(got).toEqual(expected);
        if (got.length) inSome++;
      }
    }
    expect(inSome).toBeGreaterThan(20_000); // the comparison covered many assigned units, not only empty ones
  });
});

// Reference view built from the pure definitions only (assignUnit for the variants, slot order and overrides
// looked up by key), to check that the precomputed serving path changes no answer.
function referenceView(surface: typeof home, running: Experiment[], unit: string, platform?: string) {
  const layout = [...surface.slots]
    .sort((a, b) => a.position - b.position)
    .map((s) => ({ slotId: s.id, contentId: s.defaultContentId ?? null, experimentId: null as string | null, variant: null as string | null }));
  const assignments = assignUnit(surface, running, unit, platform);
  for (const a of assignments) {
    const e = running.find((x) => x.id === a.experimentId)!;
    for (const o of e.variants.find((v) => v.key === a.variant)!.overrides) {
      const slot = layout.find((l) => l.slotId === o.slotId);
      if (slot) Object.assign(slot, { contentId: o.contentId, experimentId: e.id, variant: a.variant });
    }
  }
  return { bucket: assignments[0]?.bucket, assignments: assignments.map(({ experimentId, variant }) => ({ experimentId, variant })), layout };
}

describe('AssignmentIndex.view on random configurations', () => {
  it('returns the variants and layout of the reference definition for random experiments, weights, slots and units', async () => {
    const fc = (await import('fast-check')).default;
    const slots = home.slots.map((s) => s.id);
    const experiment = fc.record({
      weights: fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 2, maxLength: 4 }),
      slot: fc.constantFrom(...slots, 'no-such-slot'),
      start: fc.integer({ min: 0, max: home.bucketCount - 1 }),
      size: fc.integer({ min: 1, max: home.bucketCount }),
      platforms: fc.option(fc.subarray(['ios', 'android', 'web', 'desktop'] as const, { minLength: 1 }), { nil: undefined }),
    });
    const unit = fc.oneof(
      fc.uuid(),
      fc.string({ maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: 'binary', minLength: 200, maxLength: 400 }),
      fc.string({ minLength: LOADED_MAX - 4, maxLength: LOADED_MAX + 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(experiment, { minLength: 1, maxLength: 6 }),
        fc.array(unit, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(undefined, 'ios', 'web'),
        (specs, units, platform) => {
          const running = specs.map((x, i) => {
            const e = exp(`e${i}`, x.slot, [[x.start, Math.min(home.bucketCount, x.start + x.size)]], x.platforms ? [...x.platforms] : undefined);
            e.variants = x.weights.map((w, j) => ({
              key: `v${j}`,
              isControl: j === 0,
              weight: w,
              overrides: j === 0 ? [] : [{ slotId: x.slot, contentId: `c${i}-${j}` }],
            })) as Experiment['variants'];
            return e;
          });
          const index = new AssignmentIndex();
          index.compile([home], mirrorOf(running));
          for (const u of units) {
            const want = referenceView(home, running, u, platform);
            const got = index.view('home', u, platform)!;
            expect(got.assignments.map(({ experimentId, variant }) => ({ experimentId, variant }))).toEqual(want.assignments);
            for (const a of got.assignments) expect(a.isControl).toBe(a.variant === 'v0');
            expect(got.layout).toEqual(want.layout);
            expect(got.bucket).toBe(bucketOf(home.salt, u, home.bucketCount));
          }
        },
      ),
      { numRuns: 300, seed: 16 },
    );
  });
});

describe('AssignmentIndex.view answers shared between units', () => {
  it('are frozen: writing one throws, and neither that unit nor another in the same variant sees a change', () => {
    const index = new AssignmentIndex();
    index.compile([home], mirrorOf([exp('e1', 'shelf-1', [[0, home.bucketCount]])]));
    const units = Array.from({ length: 200 }, (_, i) => `unit-${i}`);
    const treated = units.filter((u) => index.view('home', u)!.assignments[0].variant === 'b'); // picked by arm
    expect(treated.length).toBeGreaterThan(1);
    const [a, b] = treated.map((u) => index.view('home', u)!);
    expect(() => {
      a.assignments[0].variant = 'control';
    }).toThrow(TypeError);
    expect(() => a.layout.push({ slotId: 'x', contentId: null, experimentId: null, variant: null })).toThrow(TypeError);
    expect(() => {
      a.layout[0].contentId = 'changed';
    }).toThrow(TypeError);
    const shelf = (v: typeof a) => v.layout.find((l) => l.slotId === 'shelf-1');
    for (const v of [a, b, index.view('home', treated[0])!]) {
      expect(v.assignments).toEqual([{ experimentId: 'e1', experimentKey: 'e1', variant: 'b', isControl: false }]);
      expect(shelf(v)).toEqual({ slotId: 'shelf-1', contentId: 'sh-focus', experimentId: 'e1', variant: 'b' });
    }
    expect(b.unitId).not.toBe(a.unitId);
  });
});
