import { describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import { compileLayout, renderLayout, slotDefaults } from '../../src/domain/layout.js';
import { changesFromHint } from '../../src/domain/plan-hints.js';
import { DEFAULT_SURFACE_POLICY } from '../../src/domain/policy.js';
import { validateExperimentConfig, type ValidationContext } from '../../src/domain/rules/index.js';
import type { LayoutChange } from '../../src/domain/schemas.js';
import { DEMO_CONTENT, DEMO_METRICS, DEMO_SURFACES } from '../helpers/demo-catalog.js';

const home = DEMO_SURFACES.find((s) => s.id === 'home')!;
const content = new Map(DEMO_CONTENT.map((c) => [c.id, c]));
const base = slotDefaults(home);
const compile = (...changes: LayoutChange[]) => compileLayout(changes, home, base, content);

describe('layout changes compile to overrides against the default layout', () => {
  it('swap, move (the slots between shift), reorder, replace, add and remove', () => {
    expect(compile({ op: 'swap', slotIds: ['shelf-1', 'shelf-3'] }).overrides).toEqual([
      { slotId: 'shelf-1', contentId: 'sh-popular-podcasts' },
      { slotId: 'shelf-3', contentId: 'sh-recently-played' },
    ]);
    // Up: shelf-3's content to shelf-1 would shift Daily Mix 1 into shelf-3, which takes no mix: refused, nothing applied.
    expect(compile({ op: 'move', slotId: 'shelf-3', toSlotId: 'shelf-1' })).toMatchObject({
      overrides: [],
      problems: [{ index: 0, code: 'LAYOUT_CHANGE_INVALID', message: "slot 'shelf-3' accepts shelf/playlist/podcast but would get 'mx-daily-1', a mix" }],
    });
    expect(compile({ op: 'move', slotId: 'shelf-4', toSlotId: 'shelf-3' }).rendered).toMatchObject({
      'shelf-2': 'mx-daily-1',
      'shelf-3': 'sh-new-albums',
      'shelf-4': 'sh-popular-podcasts',
    });
    expect(compile({ op: 'move', slotId: 'shelf-1', toSlotId: 'shelf-3' }).rendered).toMatchObject({
      'shelf-1': 'mx-daily-1',
      'shelf-2': 'sh-popular-podcasts',
      'shelf-3': 'sh-recently-played',
    });
    expect(compile({ op: 'reorder', order: ['shelf-2', 'shelf-3', 'shelf-1'] }).rendered).toMatchObject({
      'shelf-1': 'mx-daily-1',
      'shelf-2': 'sh-popular-podcasts',
      'shelf-3': 'sh-recently-played',
    });
    expect(compile({ op: 'replace', slotId: 'shelf-2', contentId: 'sh-focus' }).overrides).toEqual([{ slotId: 'shelf-2', contentId: 'sh-focus' }]);
    expect(compile({ op: 'add', slotId: 'shelf-5', contentId: 'sh-focus' }).overrides).toEqual([{ slotId: 'shelf-5', contentId: 'sh-focus' }]);
    const hidden = compile({ op: 'add', slotId: 'shelf-5', contentId: 'sh-focus' }, { op: 'remove', slotId: 'shelf-5' });
    expect(hidden).toMatchObject({ overrides: [], problems: [] });
    expect(renderLayout(base, [{ slotId: 'shelf-5', contentId: null }])['shelf-5']).toBeNull();
  });

  it('a bad change is a problem with a fix, skipped; the others still apply', () => {
    const r = compile(
      { op: 'move', slotId: 'shelf-2', toSlotId: 'shelf-2' },
      { op: 'replace', slotId: 'shelf-9', contentId: 'sh-focus' },
      { op: 'replace', slotId: 'hero', contentId: 'sh-focus' },
      { op: 'remove', slotId: 'shelf-1' },
      { op: 'reorder', order: ['shelf-1', 'shelf-2'] },
      { op: 'swap', slotIds: ['shelf-1', 'shelf-2'] },
    );
    expect(r.problems.map((p) => [p.index, p.code])).toEqual([
      [0, 'LAYOUT_CHANGE_INVALID'],
      [1, 'LAYOUT_CHANGE_INVALID'],
      [2, 'LAYOUT_CHANGE_INVALID'],
      [3, 'SLOT_NOT_OPTIONAL'],
      [4, 'LAYOUT_CHANGE_INVALID'],
    ]);
    expect(r.problems[0].message).toMatch(/same slot/);
    expect(r.problems[1].fix).toMatch(/shelf-1.*shelf-5/);
    expect(r.problems[2].message).toMatch(/hero' accepts banner but would get 'sh-focus', a shelf/);
    expect(r.overrides).toEqual([
      { slotId: 'shelf-1', contentId: 'mx-daily-1' },
      { slotId: 'shelf-2', contentId: 'sh-recently-played' },
    ]);
  });

  it('a reorder hint without an order rotates to the first order every slot accepts', () => {
    const r = changesFromHint({ operation: 'reorder', slots: ['shelf-1', 'shelf-2', 'shelf-3'] }, home, base, content);
    expect(r).toMatchObject({ changes: [{ op: 'reorder', order: ['shelf-2', 'shelf-3', 'shelf-1'] }] });
    // shelf-4 accepts no mix: rotating mx-daily-1 into it is skipped for an order that fits.
    const r2 = changesFromHint({ operation: 'reorder', slots: ['shelf-2', 'shelf-4'] }, home, base, content);
    expect(r2).toMatchObject({ changes: [{ op: 'reorder', order: ['shelf-4', 'shelf-2'] }] });
    expect(changesFromHint({ operation: 'replace', slots: ['shelf-2'] }, home, base, content)).toEqual({
      missing: 'replace needs content with one content id per slot (1 slot(s), 0 content id(s))',
    });
    expect(changesFromHint({ operation: 'swap', slots: ['shelf-2'] }, home, base, content)).toMatchObject({
      missing: expect.stringMatching(/exactly 2 slots/),
    });
  });
});

function ctx(extra: Partial<ValidationContext> = {}): ValidationContext {
  return {
    surface: home,
    content,
    metrics: new Map(DEMO_METRICS.map((m) => [m.id, m])),
    active: [],
    ownedBuckets: 0,
    policy: DEFAULT_SURFACE_POLICY,
    now: new Date('2026-11-02T12:00:00Z'),
    ...extra,
  };
}
const config = (treatment: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  key: 'home-layout',
  name: 'Layout on Home',
  hypothesis: 'A new shelf order raises stream rate.',
  owner: 'home-team',
  surfaceId: 'home',
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, ...treatment },
  ],
  allocationPercent: 10,
  rampPlan: { stages: [25, 50] },
  successMetrics: ['stream-rate'],
  guardrails: [{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' }],
  analysisPlan: { durationDays: 14, mde: 0.05 },
  ...extra,
});
const found = (c: unknown, code: string, extra: Partial<ValidationContext> = {}) =>
  validateExperimentConfig(c, ctx(extra)).findings.filter((f) => f.code === code);

describe('layout rules: each triggers on a config and its fix clears it', () => {
  it('DUPLICATE_CONTENT_IN_LAYOUT: Daily Mix 1 in two shelves at once (issue 9), cleared by a swap', () => {
    const dup = config({ overrides: [{ slotId: 'shelf-1', contentId: 'mx-daily-1' }] });
    const [f] = found(dup, 'DUPLICATE_CONTENT_IN_LAYOUT');
    expect(f).toMatchObject({
      severity: 'error',
      path: '$.variants[1].overrides',
      message: "variant 'treatment' shows 'mx-daily-1' in shelf-1 and shelf-2 at once",
    });
    expect(f.fix).toMatch(/"op":"swap","slotIds":\["shelf-2","shelf-1"\]/);
    const swapped = config({
      layout: [{ op: 'swap', slotIds: ['shelf-2', 'shelf-1'] }],
      overrides: compile({ op: 'swap', slotIds: ['shelf-2', 'shelf-1'] }).overrides,
    });
    expect(found(swapped, 'DUPLICATE_CONTENT_IN_LAYOUT')).toEqual([]);
  });

  it('TREATMENT_SAME_AS_CONTROL: overrides that render the default; real content clears it', () => {
    const same = config({ overrides: [{ slotId: 'shelf-2', contentId: 'mx-daily-1' }] });
    expect(found(same, 'TREATMENT_SAME_AS_CONTROL')).toMatchObject([
      { severity: 'error', message: "variant 'treatment' renders exactly like control 'control'" },
    ]);
    expect(found(config({ overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] }), 'TREATMENT_SAME_AS_CONTROL')).toEqual([]);
  });

  it('CONTENT_NOT_ON_PLATFORM: an item missing on a targeted platform is an error; its patch narrows targeting and clears it', () => {
    const c = config({ overrides: [{ slotId: 'shelf-4', contentId: 'al-live' }] });
    const [f] = found(c, 'CONTENT_NOT_ON_PLATFORM');
    expect(f).toMatchObject({ severity: 'error', message: "'al-live' is not available on ios, android, which surface home serves (no targeting)" });
    const fixed = jsonpatch.applyPatch(structuredClone(validateExperimentConfig(c, ctx()).config), f.patch as jsonpatch.Operation[]).newDocument;
    expect(fixed?.targeting).toEqual({ platforms: ['web', 'desktop'] });
    expect(found(fixed, 'CONTENT_NOT_ON_PLATFORM')).toEqual([]);
  });

  it('SLOT_NOT_OPTIONAL: hiding a required slot (override or layout); hiding the optional one is fine', () => {
    expect(found(config({ overrides: [{ slotId: 'shelf-1', contentId: null }] }), 'SLOT_NOT_OPTIONAL')).toMatchObject([
      { path: '$.variants[1].overrides[0].contentId', severity: 'error' },
    ]);
    expect(found(config({ layout: [{ op: 'remove', slotId: 'shelf-1' }] }), 'SLOT_NOT_OPTIONAL')).toMatchObject([{ path: '$.variants[1].layout[0]' }]);
    const added = compile({ op: 'add', slotId: 'shelf-5', contentId: 'sh-focus' }).overrides;
    expect(found(config({ layout: [{ op: 'add', slotId: 'shelf-5', contentId: 'sh-focus' }], overrides: added }), 'SLOT_NOT_OPTIONAL')).toEqual([]);
  });

  it('LAYOUT_CHANGE_INVALID names the change; LAYOUT_OUT_OF_DATE patches overrides compiled against a changed default', () => {
    expect(found(config({ layout: [{ op: 'move', slotId: 'shelf-2', toSlotId: 'shelf-2' }] }), 'LAYOUT_CHANGE_INVALID')).toMatchObject([
      { path: '$.variants[1].layout[0]', message: "move from 'shelf-2' to the same slot" },
    ]);
    const swap: LayoutChange = { op: 'swap', slotIds: ['shelf-1', 'shelf-2'] };
    const c = config({ layout: [swap], overrides: compile(swap).overrides });
    expect(found(c, 'LAYOUT_OUT_OF_DATE')).toEqual([]);
    const shipped = { ...base, 'shelf-1': 'mx-daily-2' };
    const [f] = found(c, 'LAYOUT_OUT_OF_DATE', { baseLayout: shipped });
    expect(f.patch).toEqual([
      {
        op: 'replace',
        path: '/variants/1/overrides',
        value: [
          { slotId: 'shelf-1', contentId: 'mx-daily-1' },
          { slotId: 'shelf-2', contentId: 'mx-daily-2' },
        ],
      },
    ]);
    const fixed = jsonpatch.applyPatch(structuredClone(validateExperimentConfig(c, ctx()).config), f.patch as jsonpatch.Operation[]).newDocument;
    expect(found(fixed, 'LAYOUT_OUT_OF_DATE', { baseLayout: shipped })).toEqual([]);
  });
});
