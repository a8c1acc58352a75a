import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createContainer, type SqliteContainer } from '../../../src/container.js';
import { AppError } from '../../../src/errors.js';
import { inRanges, rangesSize } from '../../../src/domain/assignment.js';
import type { WriteContext } from '../../../src/app/context.js';
import type { Ranges } from '../../../src/domain/schemas.js';
import { permissivePolicy } from '../../helpers/app.js';

const ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };

type Config = Record<string, any>;

function config(key: string, slotId = 'shelf-2', contentId = 'sh-focus', allocationPercent = 10): Config {
  return {
    key,
    name: `Experiment ${key}`,
    hypothesis: 'A focus shelf raises stream rate because people work to music.',
    owner: 'home-team',
    surfaceId: 'home',
    variants: [
      { key: 'control', isControl: true, weight: 50, overrides: [] },
      { key: 'treatment', weight: 50, overrides: [{ slotId, contentId }] },
    ],
    allocationPercent,
    successMetrics: ['stream-rate'],
    guardrails: [{ metricId: 'crash-rate', margin: 0.02 }],
    analysisPlan: { durationDays: 14 },
  };
}

async function errorOf(fn: () => unknown): Promise<AppError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError, got none');
}

const overlap = (a: Ranges, b: Ranges) => a.some(([s1, e1]) => b.some(([s2, e2]) => s1 < e2 && s2 < e1));
const isSuperset = (big: Ranges, small: Ranges) => small.every(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i).every((b) => inRanges(big, b)));

let app: SqliteContainer;
const count = (table: string) => (app.deps.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

// Bucket mechanics at 50% first stages: the guardrail policy is tested in policy-guardrails.test.ts.
beforeEach(async () => {
  app = await createContainer({ dbFile: ':memory:', policy: permissivePolicy() });
});

/** Validates (recording the verdict) and returns the plan hash deploy must cite. */
const planOf = async (id: string) => (await app.experiments.validate({ experimentId: id })).planHash!;
afterEach(() => app.close());

/** Creates, validates and deploys; returns the running experiment. */
async function running(cfg: Config) {
  const { experiment } = await app.experiments.create({ config: cfg }, ctx);
  const v = await app.experiments.validate({ experimentId: experiment.id });
  expect(v.valid).toBe(true);
  return (await app.deploys.deploy({ experimentId: experiment.id, version: experiment.version, planHash: v.planHash! }, ctx)).experiment;
}

describe('create', () => {
  it('stores a draft at version 1 and audits it', async () => {
    const { experiment, replayed } = await app.experiments.create({ config: config('a') }, ctx);
    expect(replayed).toBe(false);
    expect(experiment).toMatchObject({ key: 'a', status: 'draft', version: 1, buckets: [], outcome: null, startedAt: null, endedAt: null });
    expect(experiment.analysisPlan.alpha).toBe(0.05);
    expect(await app.experiments.get(experiment.id)).toEqual(experiment);
    expect((await app.experiments.get('a')).id).toBe(experiment.id);
    const audit = await app.deps.store.audit.forEntity('experiment', experiment.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1', before: null });
    expect(audit[0].after).toMatchObject({ id: experiment.id, status: 'draft', version: 1 });
  });

  it('replays the same experiment for a repeated idempotency key', async () => {
    const first = await app.experiments.create({ config: config('a'), idempotencyKey: 'k1' }, ctx);
    const again = await app.experiments.create({ config: config('a'), idempotencyKey: 'k1' }, ctx);
    expect(again.replayed).toBe(true);
    expect(again.experiment.id).toBe(first.experiment.id);
    expect(count('experiments')).toBe(1);
    expect(await app.deps.store.audit.forEntity('experiment', first.experiment.id)).toHaveLength(1);
  });

  it('treats defaults and key order as the same request for idempotency', async () => {
    const first = await app.experiments.create({ config: config('a'), idempotencyKey: 'k1' }, ctx);
    const explicit = { ...config('a'), analysisPlan: { sequential: true, durationDays: 14, mde: 0.02, power: 0.8, alpha: 0.05 }, targeting: {} };
    const again = await app.experiments.create({ config: explicit, idempotencyKey: 'k1' }, ctx);
    expect(again).toMatchObject({ replayed: true, experiment: { id: first.experiment.id } });
  });

  it('refuses the same idempotency key with a different config, writing nothing', async () => {
    await app.experiments.create({ config: config('a'), idempotencyKey: 'k1' }, ctx);
    const audits = await app.deps.store.audit.count();
    const e = await errorOf(async () => await app.experiments.create({ config: config('b'), idempotencyKey: 'k1' }, ctx));
    expect(e.code).toBe('CONFLICT');
    expect(count('experiments')).toBe(1);
    expect(await app.deps.store.audit.count()).toBe(audits);
    expect(await app.deps.store.experiments.byKey('b')).toBeUndefined();
  });

  it('refuses a duplicate experiment key', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    const e = await errorOf(async () => await app.experiments.create({ config: { ...config('a'), name: 'other' } }, ctx));
    expect(e.code).toBe('CONFLICT');
    expect(e.details).toEqual({ existingId: experiment.id });
    expect(count('experiments')).toBe(1);
  });

  it('refuses an invalid config with INVALID_CONFIG and leaves the database unchanged', async () => {
    const tables = ['experiments', 'audit_log', 'idempotency', 'validations'];
    const before = tables.map(count);
    const e = await errorOf(async () => await app.experiments.create({ config: { ...config('a'), variants: [] }, idempotencyKey: 'k1' }, ctx));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toContain('variants');
    expect(tables.map(count)).toEqual(before);
  });

  it('refuses an unknown surface with NOT_FOUND', async () => {
    expect((await errorOf(async () => await app.experiments.create({ config: { ...config('a'), surfaceId: 'checkout' } }, ctx))).code).toBe('NOT_FOUND');
    expect(count('experiments')).toBe(0);
  });
});

describe('deploy', () => {
  it('refuses an experiment that was never validated', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    const e = await errorOf(async () => await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: 'f'.repeat(64) }, ctx));
    expect(e.code).toBe('PRECONDITION_FAILED');
    expect(e.message).toContain('has not been validated');
    expect(e.hint).toContain('validate_config');
    expect(await app.experiments.get(experiment.id)).toMatchObject({ status: 'draft', version: 1 });
  });

  it('refuses a stale version', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    const e = await errorOf(async () => await app.deploys.deploy({ experimentId: experiment.id, version: 2, planHash: await planOf(experiment.id) }, ctx));
    expect(e.code).toBe('CONFLICT');
    expect(e.details).toEqual({ currentVersion: 1 });
  });

  it('refuses after a failing validation', async () => {
    const { experiment } = await app.experiments.create({ config: { ...config('a'), guardrails: [] } }, ctx);
    const v = await app.experiments.validate({ experimentId: experiment.id });
    expect(v.valid).toBe(false);
    expect(v.recorded).toBe(true);
    expect(v.findings.map((f) => f.code)).toContain('REQUIRED_GUARDRAIL');
    const e = await errorOf(async () => await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash! }, ctx));
    expect(e.code).toBe('PRECONDITION_FAILED');
    expect(e.details).toMatchObject({ reason: 'failed_validation' });
    expect((await app.experiments.get(experiment.id)).status).toBe('draft');
  });

  it('starts a validated experiment with allocation% of the 10,000 buckets', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    const { planHash } = await app.experiments.validate({ experimentId: experiment.id }, { ...ctx, operation: 'validate', requestId: 'r-validate' });
    const r = await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash: planHash! }, ctx);
    expect(r.applied).toBe(true);
    expect(r.plan).toMatchObject({ action: 'start', fromPercent: 0, toPercent: 10, bucketsBefore: 0, bucketsAfter: 1000 });
    expect(r.experiment).toMatchObject({ status: 'running', version: 2 });
    expect(r.experiment.startedAt).not.toBeNull();
    expect(rangesSize(r.experiment.buckets)).toBe(1000);
    expect(await app.experiments.get(experiment.id)).toEqual(r.experiment);
    const audit = await app.deps.store.audit.forEntity('experiment', experiment.id);
    // Newest first: deploy, validate, create.
    expect(audit.map((a) => a.operation)).toEqual(['test', 'validate', 'test']);
    expect(audit[1]).toMatchObject({ requestId: 'r-validate', after: { validation: { version: 1, valid: true } } });
    expect(audit[0].before).toMatchObject({ status: 'draft', version: 1 });
    expect(audit[0].after).toMatchObject({ status: 'running', version: 2 });
  });

  it('a dry run plans but changes nothing', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    const planHash = await planOf(experiment.id);
    const audits = await app.deps.store.audit.count();
    const r = await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash, dryRun: true }, ctx);
    expect(r.applied).toBe(false);
    expect(r.plan).toMatchObject({ action: 'start', bucketsAfter: 1000 });
    expect(await app.experiments.get(experiment.id)).toEqual(experiment);
    expect(await app.deps.store.audit.count()).toBe(audits);
  });

  it('deploying again is a noop with no version bump', async () => {
    const exp = await running(config('a'));
    const r = await app.deploys.deploy({ experimentId: exp.id, version: exp.version, planHash: await planOf(exp.id) }, ctx);
    expect(r.applied).toBe(false);
    expect(r.plan.action).toBe('noop');
    expect(await app.experiments.get(exp.id)).toEqual(exp);
  });

  it('a ramp to a higher allocation keeps every bucket already owned', async () => {
    const exp = await running({ ...config('a'), rampPlan: { stages: [30, 40] } });
    const r = await app.deploys.deploy({ experimentId: exp.id, version: exp.version, planHash: await planOf(exp.id), allocationPercent: 30 }, ctx);
    expect(r.plan).toMatchObject({ action: 'resize', fromPercent: 10, toPercent: 30, bucketsBefore: 1000, bucketsAfter: 3000 });
    expect(r.experiment.version).toBe(exp.version + 1);
    expect(r.experiment.allocationPercent).toBe(30);
    expect(rangesSize(r.experiment.buckets)).toBe(3000);
    expect(isSuperset(r.experiment.buckets, exp.buckets)).toBe(true);
    // The ramped version carries a passing verdict: the plan hash the ramp returned is enough for the next stage.
    const r2 = await app.deploys.deploy({ experimentId: exp.id, version: r.experiment.version, planHash: r.planHash, allocationPercent: 40 }, ctx);
    expect(isSuperset(r2.experiment.buckets, r.experiment.buckets)).toBe(true);
    expect(rangesSize(r2.experiment.buckets)).toBe(4000);
  });

  it('a ramp above the policy maximum is refused', async () => {
    const exp = await running({ ...config('a'), rampPlan: { stages: [30] } });
    const e = await errorOf(
      async () => await app.deploys.deploy({ experimentId: exp.id, version: exp.version, planHash: await planOf(exp.id), allocationPercent: 80 }, ctx),
    );
    expect(e.code).toBe('PRECONDITION_FAILED');
    expect(e.message).toContain('ALLOCATION_ABOVE_POLICY');
    expect(await app.experiments.get(exp.id)).toEqual(exp);
  });

  it('the same idempotency key returns the first outcome without acting again', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    const planHash = await planOf(experiment.id);
    const first = await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash, idempotencyKey: 'd1' }, ctx);
    const audits = await app.deps.store.audit.count();
    const again = await app.deploys.deploy({ experimentId: experiment.id, version: 1, planHash, idempotencyKey: 'd1' }, ctx);
    expect(again.replayed).toBe(true);
    expect(again.applied).toBe(first.applied);
    expect(again.plan).toEqual(first.plan);
    expect(again.experiment).toEqual(first.experiment);
    expect(await app.deps.store.audit.count()).toBe(audits);
    const e = await errorOf(
      async () => await app.deploys.deploy({ experimentId: experiment.id, version: 2, planHash, allocationPercent: 20, idempotencyKey: 'd1' }, ctx),
    );
    expect(e.code).toBe('CONFLICT');
    expect((await app.experiments.get(experiment.id)).version).toBe(2);
  });
});

describe('collisions on a slot', () => {
  it('gives two experiments on the same slot disjoint buckets and refuses a third', async () => {
    const a = await running(config('a', 'shelf-2', 'sh-focus', 50));
    const b = await running(config('b', 'shelf-2', 'pl-deep-focus', 50));
    expect(rangesSize(a.buckets)).toBe(5000);
    expect(rangesSize(b.buckets)).toBe(5000);
    expect(overlap(a.buckets, b.buckets)).toBe(false);

    const { experiment: c } = await app.experiments.create({ config: config('c', 'shelf-2', 'sh-made-for-you', 10) }, ctx);
    const v = await app.experiments.validate({ experimentId: c.id });
    expect(v.valid).toBe(false);
    expect(v.findings.filter((f) => f.code === 'COLLISION')).toHaveLength(1);
    const e = await errorOf(async () => await app.deploys.deploy({ experimentId: c.id, version: c.version, planHash: v.planHash! }, ctx));
    expect(['CONFLICT', 'PRECONDITION_FAILED']).toContain(e.code);
    expect(await app.experiments.get(c.id)).toMatchObject({ status: 'draft', buckets: [] });
  });

  it('refuses a deploy whose earlier passing validation went stale because another experiment took the buckets', async () => {
    const a = await running(config('a', 'shelf-2', 'sh-focus', 50));
    const { experiment: c } = await app.experiments.create({ config: config('c', 'shelf-2', 'sh-made-for-you', 10) }, ctx);
    const v = await app.experiments.validate({ experimentId: c.id });
    expect(v.valid).toBe(true);
    await running(config('b', 'shelf-2', 'pl-deep-focus', 50));
    const e = await errorOf(async () => await app.deploys.deploy({ experimentId: c.id, version: c.version, planHash: v.planHash! }, ctx));
    expect(e.code).toBe('CONFLICT');
    expect((e.details as { findings: { code: string }[] }).findings.map((f) => f.code)).toContain('COLLISION');
    expect((await app.experiments.get(c.id)).status).toBe('draft');
    expect((await app.experiments.get(a.id)).buckets).toEqual(a.buckets);
  });

  it('lets an experiment on another slot reuse buckets, and no unit lands in two colliding experiments', async () => {
    const a = await running(config('a', 'shelf-2', 'sh-focus', 50));
    const b = await running(config('b', 'shelf-2', 'pl-deep-focus', 50));
    const d = await running(config('d', 'shelf-3', 'pd-tech-talk', 50));
    expect(overlap(d.buckets, a.buckets) || overlap(d.buckets, b.buckets)).toBe(true);

    let inA = 0;
    let inB = 0;
    let inAandD = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = app.events.assign('home', `unit-${i}`);
      const ids = new Set(r.assignments.map((x) => x.experimentId));
      expect(ids.has(a.id) && ids.has(b.id)).toBe(false);
      // A and B together cover the whole surface.
      expect(ids.has(a.id) || ids.has(b.id)).toBe(true);
      if (ids.has(a.id)) inA++;
      if (ids.has(b.id)) inB++;
      if (ids.has(a.id) && ids.has(d.id)) inAandD++;
      const shelf2 = r.layout.find((l) => l.slotId === 'shelf-2')!;
      const owner = r.assignments.find((x) => x.experimentId === shelf2.experimentId);
      if (shelf2.experimentId) expect(owner?.variant).toBe('treatment');
    }
    // Each half of the surface gets about half of the units.
    expect(Math.abs(inA / 20_000 - 0.5)).toBeLessThan(4.5 * Math.sqrt(0.25 / 20_000));
    expect(inA + inB).toBe(20_000);
    expect(inAandD).toBeGreaterThan(0);
  });
});

describe('stop', () => {
  it('concludes a running experiment, frees its buckets and audits the rationale', async () => {
    const a = await running(config('a', 'shelf-2', 'sh-focus', 50));
    const stopped = await app.stops.stop({ experimentId: a.id, version: a.version, reason: 'crash rate spiked' }, ctx);
    expect(stopped).toMatchObject({ status: 'concluded', outcome: 'stopped', buckets: [], version: a.version + 1 });
    expect(stopped.endedAt).not.toBeNull();
    const [last] = await app.deps.store.audit.forEntity('experiment', a.id);
    expect(last.rationale).toBe('crash rate spiked');
    expect(last.after).toMatchObject({ status: 'concluded' });
    expect((await app.catalog.surface('home')).freeBuckets).toBe(10_000);
    // The freed buckets are available to a new experiment on the same slot.
    const b = await running(config('b', 'shelf-2', 'pl-deep-focus', 50));
    expect(overlap(b.buckets, a.buckets)).toBe(true);
    // Units are no longer assigned to the stopped experiment.
    for (let i = 0; i < 200; i++) expect(app.events.assign('home', `u${i}`).assignments.map((x) => x.experimentId)).not.toContain(a.id);
  });

  it('records a rolled_back outcome when asked', async () => {
    const a = await running(config('a'));
    expect((await app.stops.stop({ experimentId: a.id, reason: 'bad', outcome: 'rolled_back' }, ctx)).outcome).toBe('rolled_back');
  });

  it('refuses to stop a draft or a concluded experiment', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    expect((await errorOf(async () => await app.stops.stop({ experimentId: experiment.id, reason: 'x' }, ctx))).code).toBe('PRECONDITION_FAILED');
    const b = await running(config('b', 'shelf-3', 'pd-tech-talk'));
    const stopped = await app.stops.stop({ experimentId: b.id, reason: 'x' }, ctx);
    expect((await errorOf(async () => await app.stops.stop({ experimentId: b.id, reason: 'again' }, ctx))).code).toBe('PRECONDITION_FAILED');
    expect(await app.experiments.get(b.id)).toEqual(stopped);
  });

  it('refuses a stale version', async () => {
    const a = await running(config('a'));
    expect((await errorOf(async () => await app.stops.stop({ experimentId: a.id, version: 1, reason: 'x' }, ctx))).code).toBe('CONFLICT');
    expect((await app.experiments.get(a.id)).status).toBe('running');
  });

  it('a concluded experiment cannot be deployed again', async () => {
    const a = await running(config('a'));
    const stopped = await app.stops.stop({ experimentId: a.id, reason: 'x' }, ctx);
    expect(
      (await errorOf(async () => await app.deploys.deploy({ experimentId: a.id, version: stopped.version, planHash: await planOf(a.id) }, ctx))).code,
    ).toBe('PRECONDITION_FAILED');
  });
});

describe('pause and resume', () => {
  it('a paused experiment keeps its buckets, serves nothing, still blocks its slot, and resumes on the same buckets', async () => {
    const a = await running(config('a', 'shelf-2', 'sh-focus', 50));
    const paused = await app.experiments.pause({ experimentId: a.id, version: a.version, reason: 'investigating' }, ctx);
    expect(paused).toMatchObject({ status: 'paused', buckets: a.buckets, version: a.version + 1 });
    for (let i = 0; i < 300; i++) expect(app.events.assign('home', `u${i}`).assignments).toEqual([]);

    const b = await running(config('b', 'shelf-2', 'pl-deep-focus', 50));
    expect(overlap(a.buckets, b.buckets)).toBe(false);
    const { experiment: c } = await app.experiments.create({ config: config('c', 'shelf-2', 'sh-made-for-you', 10) }, ctx);
    expect((await app.experiments.validate({ experimentId: c.id })).findings.map((f) => f.code)).toContain('COLLISION');

    const resumed = await app.deploys.deploy({ experimentId: a.id, version: paused.version, planHash: await planOf(a.id) }, ctx);
    expect(resumed.plan.action).toBe('resume');
    expect(resumed.experiment).toMatchObject({ status: 'running', buckets: a.buckets, startedAt: a.startedAt });
  });

  it('only a running experiment can be paused', async () => {
    const { experiment } = await app.experiments.create({ config: config('a') }, ctx);
    expect((await errorOf(async () => await app.experiments.pause({ experimentId: experiment.id, version: 1, reason: 'x' }, ctx))).code).toBe(
      'PRECONDITION_FAILED',
    );
  });
});
