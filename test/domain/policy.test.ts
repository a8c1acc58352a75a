import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { DEFAULT_POLICY_FILE } from '../../src/config.js';
import {
  approvalRules,
  confirmationMode,
  confirmationReason,
  DEFAULT_SURFACE_POLICY,
  missingApproval,
  resolveSurfacePolicy,
  surfacePolicyHash,
} from '../../src/domain/policy.js';
import { loadPolicyFile, parsePolicy } from '../../src/store/policy-file.js';

const shipped = () => JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'));

describe('policy as data', () => {
  it('ships policy/default.json, whose defaults are the built-in baseline', () => {
    const p = loadPolicyFile(DEFAULT_POLICY_FILE);
    expect(p.defaults).toEqual(DEFAULT_SURFACE_POLICY);
    expect(resolveSurfacePolicy(p, 'now-playing')).toMatchObject({
      maxAllocationPercent: 30,
      firstStageCapPercent: 5,
      requiredGuardrails: [{ metricId: 'crash-rate' }, { metricId: 'error-rate' }],
    });
    expect(resolveSurfacePolicy(p, 'home')).toEqual(p.defaults);
  });

  it('refuses an invalid document with one line per bad key', () => {
    const doc = shipped();
    doc.defaults.maxDurationDays = 3; // below minDurationDays
    doc.defaults.typo = true;
    doc.surfaces.home = { firstStageCapPercent: 80 }; // above the default max allocation once resolved
    expect(() => parsePolicy(doc, 'test policy')).toThrow(/^test policy is invalid:/);
    try {
      parsePolicy(doc, 'test policy');
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toMatch(/defaults: Unrecognized key: "typo"/);
      expect(msg).toMatch(/defaults\.minDurationDays: must not exceed maxDurationDays/);
      expect(msg).toMatch(/surfaces\.home\.firstStageCapPercent: must not exceed maxAllocationPercent \(with the defaults applied\)/);
    }
    expect(() =>
      parsePolicy({
        ...shipped(),
        defaults: { ...shipped().defaults, freezeWindows: [{ start: '2026-12-02T00:00:00Z', end: '2026-12-01T00:00:00Z', reason: 'x' }] },
      }),
    ).toThrow(/start must be before end/);
  });

  it('a surface policy hash changes with any rule of that surface, and only that surface', () => {
    const p = parsePolicy(shipped());
    const changed = parsePolicy({ ...shipped(), surfaces: { ...shipped().surfaces, search: { maxAllocationPercent: 40 } } });
    expect(surfacePolicyHash(changed, 'search')).not.toBe(surfacePolicyHash(p, 'search'));
    expect(surfacePolicyHash(changed, 'home')).toBe(surfacePolicyHash(p, 'home'));
  });

  it('who may deploy above which allocation, and which steps need a confirmation', () => {
    const p = DEFAULT_SURFACE_POLICY;
    expect(missingApproval(p, 'agent:claude', 25)).toBeUndefined();
    expect(missingApproval(p, 'agent:claude', 30)).toMatchObject({ abovePercent: 25 });
    expect(missingApproval(p, 'client:bearer', 30)).toBeUndefined();
    expect(missingApproval(p, 'rest:oncall', 50)).toBeUndefined();
    expect(confirmationReason(p, { kind: 'start', fromPercent: 0, toPercent: 10 })).toMatch(/start/);
    expect(confirmationReason(p, { kind: 'resize', fromPercent: 5, toPercent: 10 })).toBeNull();
    expect(confirmationReason(p, { kind: 'resize', fromPercent: 10, toPercent: 25 })).toMatch(/passes the 10% confirmation threshold/);
    expect(confirmationReason(p, { kind: 'resize', fromPercent: 25, toPercent: 10 })).toBeNull();
    expect(confirmationReason(p, { kind: 'noop', fromPercent: 10, toPercent: 10 })).toBeNull();
    expect(confirmationReason(p, { kind: 'stop' })).toMatch(/stop/);
    expect(confirmationReason({ ...p, confirmation: { ...p.confirmation, ship: false } }, { kind: 'ship' })).toBeNull();
  });

  it('confirmation modes: booleans keep their meaning, strings name the mode, the ramp has its own; bad modes are refused', () => {
    const p = DEFAULT_SURFACE_POLICY;
    const start = { kind: 'start', fromPercent: 0, toPercent: 10 } as const;
    const ramp = { kind: 'resize', fromPercent: 10, toPercent: 25 } as const;
    expect(confirmationMode(p, start)).toBe('confirm');
    expect(confirmationMode({ ...p, confirmation: { ...p.confirmation, deploy: false } }, start)).toBe('none');
    expect(confirmationMode(p, ramp)).toBe('confirm');
    expect(confirmationMode({ ...p, confirmation: { ...p.confirmation, ramp: 'approval' } }, ramp)).toBe('approval');
    expect(confirmationMode({ ...p, confirmation: { ...p.confirmation, ramp: 'approval' } }, { kind: 'resize', fromPercent: 5, toPercent: 10 })).toBe('none');
    expect(confirmationMode({ ...p, confirmation: { ...p.confirmation, stop: 'elicit' } }, { kind: 'stop' })).toBe('elicit');
    expect(confirmationReason({ ...p, confirmation: { ...p.confirmation, ship: 'approval' } }, { kind: 'ship' })).toBe(
      "the policy asks for a person's approval to ship",
    );
    expect(approvalRules(p)).toEqual({ allowSelfApproval: false, ttlHours: 24 });
    const doc = shipped();
    const withModes = parsePolicy({
      ...doc,
      defaults: { ...doc.defaults, confirmation: { ...doc.defaults.confirmation, deploy: 'approval', approvalTtlHours: 4 } },
    });
    expect(approvalRules(withModes.defaults)).toEqual({ allowSelfApproval: false, ttlHours: 4 });
    expect(() => parsePolicy({ ...doc, defaults: { ...doc.defaults, confirmation: { ...doc.defaults.confirmation, deploy: 'maybe' } } })).toThrow(
      /defaults\.confirmation\.deploy/,
    );
  });
});
