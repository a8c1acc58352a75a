import { describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import { combinedPatch, RULES, ruleCatalog, validateExperimentConfig, type ValidationContext } from '../../src/domain/rules/index.js';
import { DEFAULT_SURFACE_POLICY, type SurfacePolicy } from '../../src/domain/policy.js';
import type { Experiment, ExperimentConfig } from '../../src/domain/schemas.js';
import { DEMO_CONTENT, DEMO_METRICS, DEMO_SURFACES } from '../helpers/demo-catalog.js';

const NOW = new Date('2026-11-02T12:00:00Z');
const home = DEMO_SURFACES.find((s) => s.id === 'home')!;

/** The default policy, except that the ramp scheduler may ramp past 25% by itself (RAMP_BEYOND_SCHEDULER is tested against the default). */
const SCHEDULER_RAMPS: SurfacePolicy = {
  ...DEFAULT_SURFACE_POLICY,
  allocationApprovals: DEFAULT_SURFACE_POLICY.allocationApprovals.map((a) => ({ ...a, actors: [...a.actors, 'system:ramp-scheduler'] })),
};

function ctx(extra: Partial<ValidationContext> = {}): ValidationContext {
  return {
    surface: home,
    content: new Map(DEMO_CONTENT.map((c) => [c.id, c])),
    metrics: new Map(DEMO_METRICS.map((m) => [m.id, m])),
    active: [],
    ownedBuckets: 0,
    policy: SCHEDULER_RAMPS,
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
  guardrails: [{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' }],
  analysisPlan: { durationDays: 14, mde: 0.05 },
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
        'CONTENT_NOT_ON_PLATFORM',
        'DUPLICATE_CONTENT_IN_LAYOUT',
        'TREATMENT_SAME_AS_CONTROL',
        'SLOT_NOT_OPTIONAL',
        'LAYOUT_CHANGE_INVALID',
        'LAYOUT_OUT_OF_DATE',
        'COLLISION',
        'SLOT_CONCURRENCY',
        'DUPLICATE_OF_RUNNING',
        'UNPLANNABLE',
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
    ['CONTENT_NOT_ON_PLATFORM', change((c) => (c.variants[1].overrides = [{ slotId: 'shelf-4', contentId: 'al-live' }]))],
    ['PLATFORM_NOT_ON_SURFACE', change((c) => (c.targeting = { platforms: ['ios', 'web'] })), { surface: { ...home, platforms: ['ios', 'android'] } }],
    ['REQUIRED_GUARDRAIL', change((c) => (c.guardrails = []))],
    ['GUARDRAIL_MARGIN_ABOVE_POLICY', change((c) => (c.guardrails[0].margin = 0.3))],
    ['DUPLICATE_METRIC', change((c) => (c.successMetrics = ['stream-rate', 'stream-rate']))],
    ['METRIC_ROLE_CONFLICT', change((c) => c.guardrails.push({ metricId: 'stream-rate', margin: 0.02 }))],
    ['ALLOCATION_ABOVE_POLICY', change((c) => ((c.allocationPercent = 80), (c.rampPlan = { stages: [] })))],
    ['RAMP_FIRST_STAGE_ABOVE_CAP', change((c) => ((c.allocationPercent = 30), (c.rampPlan = { stages: [] })))],
    ['RAMP_STAGES_INVALID', change((c) => (c.rampPlan = { stages: [50, 25] }))],
    ['RAMP_ABOVE_POLICY', change((c) => (c.rampPlan = { stages: [25, 80] }))],
    // The default policy lets only client:* and rest:* deploy above 25%: the scheduler stops there.
    ['RAMP_BEYOND_SCHEDULER', change((c) => (c.rampPlan = { stages: [20, 40] })), { policy: DEFAULT_SURFACE_POLICY }],
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
    // 10% of 40 000/day without a ramp: 51 102 units need 13 days, so the patch plans 14.
    ['UNDERPOWERED', change((c) => ((c.rampPlan = { stages: [] }), (c.analysisPlan.durationDays = 7)))],
    // latency-ms at a 0.5% relative margin needs 82 445 per arm under the always-valid default (python3:
    // 2·6400·(2.7790942 + z_{0.9})²/1.6², the one-sided sequence's c₁, power 1 − 0.2/2 with one non-inferiority
    // guardrail): 164 890 units, 1 + 1 + 7.5 days through the ramp 10→25→50% of 40 000/day, beyond 7 days; the patch plans 14.
    [
      'GUARDRAIL_UNDERPOWERED',
      change((c) => {
        c.guardrails = [
          { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
          { metricId: 'latency-ms', margin: 0.005 },
        ];
        c.analysisPlan.durationDays = 7;
      }),
    ],
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
    expect(f.message).toMatch(/about \d+ days through the ramp 1% of 40000\/day/);
  });
});

describe('guardrails are planned, not hoped for', () => {
  const gp = (g: Config['guardrails']) => change((c) => ((c.guardrails = g), (c.analysisPlan.durationDays = 7)));

  it('GUARDRAIL_UNDERPOWERED: crash-rate shown non-inferior at 2% needs millions of units; the fix is the test the policy allows', () => {
    const [f] = only(gp([{ metricId: 'crash-rate', margin: 0.02 }]), 'GUARDRAIL_UNDERPOWERED');
    // python3, one-sided sequence (issue 10): 2·0.004·0.996·(c₁ + z_{0.9})²/(0.02·0.004)², c₁ = 2.7790942 (ρ tuned at 2α)
    // = 20 528 612 per arm, 41 057 224 in total (23 199 856 with the two-sided c = 3.03521).
    expect(f.message).toContain('20528612 per arm');
    expect(f.message).toContain('41057224 units');
    expect(f.patch).toEqual([{ op: 'replace', path: '/guardrails/0/test', value: 'no_deterioration' }]);
    const strict = policy({ requiredGuardrails: [{ metricId: 'crash-rate', maxMargin: 0.02, marginType: 'relative', test: 'non_inferiority' }] });
    const [g] = only(gp([{ metricId: 'crash-rate', margin: 0.02 }]), 'GUARDRAIL_UNDERPOWERED', { policy: strict });
    expect(g.patch).toBeUndefined();
    expect(g.fix).toContain('the policy allows neither');
  });

  it('GUARDRAIL_UNDERPOWERED offers the margin the plan can show when duration cannot fix it', () => {
    const tight = policy({ maxDurationDays: 7 });
    const [f] = only(gp([{ metricId: 'latency-ms', margin: 0.005 }]), 'GUARDRAIL_UNDERPOWERED', { policy: tight });
    // 7 days through the ramp give 4000 + 10 000 + 5·20 000 = 114 000 units, 57 000 per arm; δ scales with
    // 1/√n: 0.005·√(82 445/57 000) = 0.00601, rounded up to 2 significant digits (82 445 per arm: 2·6400·(c₁ + z_0.9)²/1.6²,
    // c₁ = 2.7790942, python3).
    expect(f.patch).toEqual([{ op: 'replace', path: '/guardrails/0/margin', value: 0.0061 }]);
    const fixed = gp([{ metricId: 'latency-ms', margin: 0.0061 }]);
    expect(only(fixed, 'GUARDRAIL_UNDERPOWERED', { policy: tight })).toEqual([]);
  });

  it('an absolute margin is sized in the metric unit', () => {
    // 1.6 ms absolute on latency-ms is the same 0.5% of 320 ms: the same need.
    const [f] = only(gp([{ metricId: 'latency-ms', margin: 1.6, marginType: 'absolute' }]), 'GUARDRAIL_UNDERPOWERED');
    expect(f.message).toContain('82445 per arm');
  });

  it('GUARDRAIL_MARGIN_ABOVE_POLICY converts margin types with the baseline and refuses a weaker test', () => {
    const abs = policy({ requiredGuardrails: [{ metricId: 'crash-rate', maxMargin: 0.0001, marginType: 'absolute', test: 'non_inferiority' }] });
    // 2% of the 0.004 baseline is 0.00008 absolute: within 0.0001.
    expect(only(gp([{ metricId: 'crash-rate', margin: 0.02 }]), 'GUARDRAIL_MARGIN_ABOVE_POLICY', { policy: abs })).toEqual([]);
    // 3% is 0.00012: above.
    const [f] = only(gp([{ metricId: 'crash-rate', margin: 0.03 }]), 'GUARDRAIL_MARGIN_ABOVE_POLICY', { policy: abs });
    expect(f.patch).toEqual([
      { op: 'replace', path: '/guardrails/0/margin', value: 0.0001 },
      { op: 'replace', path: '/guardrails/0/marginType', value: 'absolute' },
    ]);
    const [w] = only(gp([{ metricId: 'crash-rate', margin: 0.00005, marginType: 'absolute', test: 'no_deterioration' }]), 'GUARDRAIL_MARGIN_ABOVE_POLICY', {
      policy: abs,
    });
    expect(w).toMatchObject({ path: '$.guardrails[0].test', patch: [{ op: 'replace', path: '/guardrails/0/test', value: 'non_inferiority' }] });
    expect(only(gp([{ metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' }]), 'GUARDRAIL_MARGIN_ABOVE_POLICY')).toEqual([]);
  });

  it('refuses a relative margin above 1 on any guardrail', () => {
    const [f] = only(
      gp([
        { metricId: 'crash-rate', margin: 0.02, test: 'no_deterioration' },
        { metricId: 'latency-ms', margin: 1.5 },
      ]),
      'GUARDRAIL_MARGIN_ABOVE_POLICY',
    );
    expect(f).toMatchObject({ severity: 'error', path: '$.guardrails[1].margin' });
  });

  it('REQUIRED_GUARDRAIL adds the guardrail with the test and margin type the policy states', () => {
    const [f] = only(gp([]), 'REQUIRED_GUARDRAIL');
    expect(f.patch).toEqual([
      { op: 'add', path: '/guardrails/-', value: { metricId: 'crash-rate', margin: 0.02, marginType: 'relative', test: 'no_deterioration' } },
    ]);
  });
});
