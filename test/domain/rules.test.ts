import { describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import { combinedPatch, RULES, ruleCatalog, validateExperimentConfig, type ValidationContext } from '../../src/domain/rules/index.js';
import { DEFAULT_SURFACE_POLICY, type SurfacePolicy } from '../../src/domain/policy.js';
import type { Experiment, ExperimentConfig } from '../../src/domain/schemas.js';
import { DEMO_CONTENT, DEMO_METRICS, DEMO_SURFACES } from '../../src/store/demo-seed.js';

const NOW = new Date('2026-11-02T12:00:00Z');
const home = DEMO_SURFACES.find((s) => s.id === 'home')!;

function ctx(extra: Partial<ValidationContext> = {}): ValidationContext {
  return {
    surface: home,
    content: new Map(DEMO_CONTENT.map((c) => [c.id, c])),
    metrics: new Map(DEMO_METRICS.map((m) => [m.id, m])),
    active: [],
    ownedBuckets: 0,
    policy: DEFAULT_SURFACE_POLICY,
    now: NOW,
    ...extra,
  };
}

type Config = Record<string, any>;
const base = (): Config => ({
  key: 'home-focus-shelf',
  name: 'Focus shelf on Home',
  hypothesis: 'A focus shelf in the second slot raises stream rate because people work to music.',
  owner: 'home-team',
  surfaceId: 'home',
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
  ],
  allocationPercent: 10,
  rampPlan: { stages: [25, 50] },
  successMetrics: ['stream-rate'],
  guardrails: [{ metricId: 'crash-rate', margin: 0.02 }],
  analysisPlan: { durationDays: 14 },
});
const change = (fn: (c: Config) => void) => {
  const c = base();
  fn(c);
  return c;
};
const codes = (config: unknown, extra: Partial<ValidationContext> = {}) => validateExperimentConfig(config, ctx(extra)).findings.map((f) => f.code);
const only = (config: unknown, code: string, extra: Partial<ValidationContext> = {}) =>
  validateExperimentConfig(config, ctx(extra)).findings.filter((f) => f.code === code);
const policy = (p: Partial<SurfacePolicy>): SurfacePolicy => ({ ...DEFAULT_SURFACE_POLICY, ...p });

function running(key: string, cfg: Partial<ExperimentConfig>, buckets: [number, number][], startedAt = '2026-10-20T00:00:00.000Z'): Experiment {
  return {
    ...base(),
    key,
    targeting: {},
    analysisPlan: { alpha: 0.05, power: 0.8, mde: 0.02, durationDays: 28, sequential: true, correction: 'holm', cuped: true, bayesian: false },
    ...cfg,
    id: `exp_${key}`,
    status: 'running',
    outcome: null,
    version: 2,
    buckets,
    createdAt: startedAt,
    updatedAt: startedAt,
    startedAt,
    endedAt: null,
  } as Experiment;
}

describe('the rules catalog', () => {
  it('gives every rule a unique stable code, a family, a rationale and a documented fix', () => {
    const all = ruleCatalog();
    expect(new Set(all.map((r) => r.code)).size).toBe(all.length);
    for (const r of all) {
      expect(r.code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(r.rationale.length).toBeGreaterThan(30);
      expect(r.fix.length).toBeGreaterThan(15);
    }
    expect(all.map((r) => r.code)).toEqual(
      expect.arrayContaining([
        'SCHEMA',
        'KEY_NAMING',
        'CONTROL_COUNT',
        'WEIGHTS_SUM',
        'SLOT_CONTENT_MISMATCH',
        'PLATFORM_COVERAGE',
        'COLLISION',
        'SLOT_CONCURRENCY',
        'DUPLICATE_OF_RUNNING',
        'REQUIRED_GUARDRAIL',
        'GUARDRAIL_MARGIN_ABOVE_POLICY',
        'METRIC_DIRECTION',
        'UNDERPOWERED',
        'RAMP_FIRST_STAGE_ABOVE_CAP',
        'RAMP_OFF_PLAN',
        'FREEZE_WINDOW',
      ]),
    );
  });

  it('accepts the reference config with no findings', () => {
    expect(validateExperimentConfig(base(), ctx()).findings).toEqual([]);
  });

  it('every code a rule emits is in the catalog under the severity it documents (or a stricter one)', () => {
    const known = new Map(RULES.map((r) => [r.code, r]));
    const broken = change((c) => {
      c.key = 'focus';
      c.variants.push({ key: 'treatment', weight: 10, overrides: [{ slotId: 'hero', contentId: 'al-live' }] });
      c.guardrails = [
        { metricId: 'crash-rate', margin: 0.5 },
        { metricId: 'stream-rate', margin: 0.02 },
      ];
      c.allocationPercent = 70;
      c.rampPlan = { stages: [90, 60] };
      c.analysisPlan = { durationDays: 3, mde: 0.0001 };
    });
    const r = validateExperimentConfig(broken, ctx({ active: [running('other', {}, [[0, 9990]])] }));
    expect(r.findings.length).toBeGreaterThan(8);
    for (const f of r.findings) expect(known.has(f.code), f.code).toBe(true);
  });
});

describe('mechanical fixes are JSON Patches that resolve their findings', () => {
  const cases: [string, Config, Partial<ValidationContext>?][] = [
    ['KEY_NAMING', change((c) => (c.key = 'focus-shelf'))],
    ['CONTROL_COUNT', change((c) => (c.variants[0].isControl = false))],
    ['DUPLICATE_VARIANT', change((c) => (c.variants[1].key = 'control'))],
    ['WEIGHTS_SUM', change((c) => (c.variants[1].weight = 150))],
    ['PLATFORM_COVERAGE', change((c) => (c.variants[1].overrides = [{ slotId: 'shelf-4', contentId: 'al-live' }]))],
    ['PLATFORM_NOT_ON_SURFACE', change((c) => (c.targeting = { platforms: ['ios', 'web'] })), { surface: { ...home, platforms: ['ios', 'android'] } }],
    ['REQUIRED_GUARDRAIL', change((c) => (c.guardrails = []))],
    ['GUARDRAIL_MARGIN_ABOVE_POLICY', change((c) => (c.guardrails[0].margin = 0.3))],
    ['DUPLICATE_METRIC', change((c) => (c.successMetrics = ['stream-rate', 'stream-rate']))],
    ['METRIC_ROLE_CONFLICT', change((c) => c.guardrails.push({ metricId: 'stream-rate', margin: 0.02 }))],
    ['ALLOCATION_ABOVE_POLICY', change((c) => ((c.allocationPercent = 80), (c.rampPlan = { stages: [] })))],
    ['RAMP_FIRST_STAGE_ABOVE_CAP', change((c) => ((c.allocationPercent = 30), (c.rampPlan = { stages: [] })))],
    ['RAMP_STAGES_INVALID', change((c) => (c.rampPlan = { stages: [50, 25] }))],
    ['RAMP_ABOVE_POLICY', change((c) => (c.rampPlan = { stages: [25, 80] }))],
    [
      'COLLISION',
      base(),
      {
        active: [
          running(
            'busy',
            {
              variants: [
                { key: 'control', isControl: true, weight: 50, overrides: [] },
                { key: 't', isControl: false, weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'pl-chill' }] },
              ],
            },
            [[0, 9500]],
          ),
        ],
      },
    ],
    ['DURATION_OUT_OF_RANGE', change((c) => (c.analysisPlan.durationDays = 3))],
    ['MDE_OUT_OF_RANGE', change((c) => (c.analysisPlan.mde = 0.9))],
    ['UNDERPOWERED', change((c) => ((c.allocationPercent = 1), (c.rampPlan = { stages: [] }), (c.analysisPlan.durationDays = 7)))],
  ];

  it.each(cases)('%s', (code, config, extra = {}) => {
    const first = validateExperimentConfig(config, ctx(extra));
    const hits = first.findings.filter((f) => f.code === code);
    expect(hits.length, JSON.stringify(first.findings)).toBeGreaterThan(0);
    expect(hits.every((f) => f.patch && f.patch.length > 0)).toBe(true);
    const fixed = jsonpatch.applyPatch(structuredClone(first.config!), combinedPatch(first.findings) as jsonpatch.Operation[], true, false).newDocument;
    const again = validateExperimentConfig(fixed, ctx(extra));
    expect(again.findings.filter((f) => f.code === code)).toEqual([]);
    expect(again.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});

describe('collisions', () => {
  const treatment = (slotId: string, contentId = 'pl-chill') => [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 't', isControl: false, weight: 50, overrides: [{ slotId, contentId }] },
  ];

  it('an exclusivity group collides across different slots', () => {
    const other = running('ranker', { variants: treatment('shelf-4') as never, exclusivityGroup: 'home-ranking' }, [[0, 9500]]);
    expect(only(base(), 'COLLISION', { active: [other] })).toEqual([]);
    expect(only({ ...base(), exclusivityGroup: 'home-ranking' }, 'COLLISION', { active: [other] })).toHaveLength(1);
  });

  it('holdback buckets are never free', () => {
    const held = { ...home, holdbacks: [{ id: 'global', name: 'Long-term holdback', buckets: [[0, 9500]] as [number, number][] }] };
    const [f] = only(base(), 'COLLISION', { surface: held });
    expect(f.message).toContain('held back');
  });

  it('says when colliding experiments are planned to end (the surface timeline)', () => {
    const other = running('busy', { variants: treatment('shelf-2') as never }, [[0, 10_000]], '2026-10-20T00:00:00.000Z');
    const [f] = only(base(), 'COLLISION', { active: [other] });
    expect(f.message).toContain('planned to end 2026-11-17');
    expect(f.fix).toContain('start after 2026-11-17');
  });

  it('SLOT_CONCURRENCY caps experiments per slot, DUPLICATE_OF_RUNNING refuses a copy', () => {
    const a = running('a', { variants: treatment('shelf-2', 'pl-chill') as never }, [[0, 100]]);
    const b = running('b', { variants: treatment('shelf-2', 'pl-sleep') as never }, [[100, 200]]);
    expect(only(base(), 'SLOT_CONCURRENCY', { active: [a] })).toEqual([]);
    expect(only(base(), 'SLOT_CONCURRENCY', { active: [a, b] })[0]).toMatchObject({ severity: 'error', path: '$.variants[1].overrides[0].slotId' });
    const copy = running('copy', { variants: treatment('shelf-2', 'sh-focus') as never }, [[200, 300]]);
    expect(only(base(), 'DUPLICATE_OF_RUNNING', { active: [copy] })[0].message).toContain('copy');
  });
});

describe('ramp, freeze windows, direction', () => {
  it('RAMP_OFF_PLAN: a running experiment ramps only to its next stage', () => {
    const deployed = { status: 'running' as const, allocationPercent: 10 };
    expect(only({ ...base(), allocationPercent: 25 }, 'RAMP_OFF_PLAN', { deployed })).toEqual([]);
    const [skip] = only({ ...base(), allocationPercent: 50 }, 'RAMP_OFF_PLAN', { deployed });
    expect(skip).toMatchObject({ severity: 'error', patch: [{ op: 'replace', path: '/allocationPercent', value: 25 }] });
    expect(skip.message).toContain('skips the next planned stage, 25%');
    // Shrinking is always allowed; a running experiment is past its first stage.
    expect(codes({ ...base(), allocationPercent: 5 }, { deployed })).not.toContain('RAMP_OFF_PLAN');
    expect(codes({ ...base(), allocationPercent: 25 }, { deployed: { status: 'running', allocationPercent: 25 } })).not.toContain('RAMP_FIRST_STAGE_ABOVE_CAP');
  });

  it('FREEZE_WINDOW blocks starts and ramps inside a window; FREEZE_WINDOW_AHEAD warns about one in the plan', () => {
    const freeze = policy({ freezeWindows: [{ start: '2026-11-01T00:00:00Z', end: '2026-11-05T00:00:00Z', reason: 'release freeze' }] });
    expect(only(base(), 'FREEZE_WINDOW', { policy: freeze })[0].message).toContain('release freeze');
    expect(only(base(), 'FREEZE_WINDOW', { policy: freeze, now: new Date('2026-11-05T00:00:00Z') })).toEqual([]);
    // A running experiment that does not ramp is not blocked (pausing and stopping never are).
    expect(only(base(), 'FREEZE_WINDOW', { policy: freeze, deployed: { status: 'running', allocationPercent: 10 } })).toEqual([]);
    const ahead = only(base(), 'FREEZE_WINDOW_AHEAD', { policy: freeze, now: new Date('2026-10-25T00:00:00Z') });
    expect(ahead[0]).toMatchObject({ severity: 'warning' });
  });

  it('METRIC_DIRECTION warns when the hypothesis expects the undesirable direction', () => {
    expect(
      only(
        change((c) => (c.hypothesis = 'The shelf lowers the stream rate.')),
        'METRIC_DIRECTION',
      )[0].message,
    ).toContain('higher is better');
    expect(only(base(), 'METRIC_DIRECTION')).toEqual([]);
  });

  it('UNDERPOWERED puts the computed duration in the message', () => {
    const [f] = only(
      change((c) => ((c.allocationPercent = 1), (c.rampPlan = { stages: [] }), (c.analysisPlan.durationDays = 7))),
      'UNDERPOWERED',
    );
    expect(f.message).toMatch(/about \d+ days at 1%/);
  });
});
