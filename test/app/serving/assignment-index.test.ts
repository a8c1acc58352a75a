import { describe, expect, it } from 'vitest';
import { AssignmentIndex } from '../../../src/app/serving/assignment-index.js';
import { mirrorOf } from '../../../src/app/serving/serving-sync.js';
import { assignUnit } from '../../../src/domain/assignment.js';
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
