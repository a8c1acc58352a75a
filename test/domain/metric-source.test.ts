import { describe, expect, it } from 'vitest';
import { aggregateValue, capped, eventMatches, matchesWhere, phaseOf, windowsOf } from '../../src/domain/metric-source.js';
import { MetricSchema } from '../../src/domain/schemas.js';

describe('metric sources: property filters', () => {
  it('needs every filter to hold: a scalar is equality, a list is one of', () => {
    const where = { platform: ['ios', 'android'], premium: true };
    expect(matchesWhere(where, { platform: 'ios', premium: true, extra: 3 })).toBe(true);
    expect(matchesWhere(where, { platform: 'web', premium: true })).toBe(false);
    expect(matchesWhere(where, { platform: 'android', premium: false })).toBe(false);
  });

  it('compares with the same type, and a missing property fails', () => {
    expect(matchesWhere({ tier: 1 }, { tier: 1 })).toBe(true);
    expect(matchesWhere({ tier: 1 }, { tier: '1' })).toBe(false);
    expect(matchesWhere({ tier: ['1', 2] }, { tier: 1 })).toBe(false);
    expect(matchesWhere({ tier: 1 }, {})).toBe(false);
    expect(matchesWhere({ tier: 1 }, null)).toBe(false);
    expect(matchesWhere({ flag: false }, { flag: false })).toBe(true);
  });

  it('no filter matches every event of the name, and only that name', () => {
    const source = { event: 'stream_start', aggregate: 'count' as const };
    expect(matchesWhere(undefined, null)).toBe(true);
    expect(eventMatches(source, 'stream_start', null)).toBe(true);
    expect(eventMatches(source, 'stream_end', null)).toBe(false);
    expect(eventMatches({ ...source, where: { a: 'x' } }, 'stream_start', { a: 'x' })).toBe(true);
    expect(eventMatches({ ...source, where: { a: 'x' } }, 'stream_start', { a: 'y' })).toBe(false);
  });
});

describe('metric sources: windows around the first exposure', () => {
  const at = '2026-03-10T12:00:00.000Z';

  it('post is [exposure, exposure + window) and pre the same length before it, edges included at the start only', () => {
    const w = windowsOf(at, 24);
    expect(w).toEqual({ preFrom: '2026-03-09T12:00:00.000Z', exposedAt: at, postTo: '2026-03-11T12:00:00.000Z' });
    expect(phaseOf(w, at)).toBe('post');
    expect(phaseOf(w, '2026-03-11T11:59:59.999Z')).toBe('post');
    expect(phaseOf(w, '2026-03-11T12:00:00.000Z')).toBeNull();
    expect(phaseOf(w, '2026-03-10T11:59:59.999Z')).toBe('pre');
    expect(phaseOf(w, '2026-03-09T12:00:00.000Z')).toBe('pre');
    expect(phaseOf(w, '2026-03-09T11:59:59.999Z')).toBeNull();
  });

  it('without a window, everything after counts and everything before is the covariate', () => {
    const w = windowsOf(at, undefined);
    expect(phaseOf(w, '2099-01-01T00:00:00.000Z')).toBe('post');
    expect(phaseOf(w, '1999-01-01T00:00:00.000Z')).toBe('pre');
  });

  it('rounds a fractional window to whole milliseconds', () => {
    expect(windowsOf(at, 1 / 3).postTo).toBe('2026-03-10T12:20:00.000Z');
    expect(windowsOf(at, 0.6 / 3_600_000).postTo).toBe('2026-03-10T12:00:00.001Z');
  });
});

describe('metric sources: aggregation and caps', () => {
  it('count, sum, any and mean from a sum and a count', () => {
    expect(aggregateValue('count', 7.5, 3)).toBe(3);
    expect(aggregateValue('sum', 7.5, 3)).toBe(7.5);
    expect(aggregateValue('any', 0, 2)).toBe(1);
    expect(aggregateValue('any', 0, 0)).toBe(0);
    expect(aggregateValue('mean', 7.5, 3)).toBe(2.5);
    expect(aggregateValue('mean', 0, 0)).toBe(0);
  });

  it('caps at capMax, and leaves a value without a cap alone', () => {
    expect(capped(900, 600)).toBe(600);
    expect(capped(12, 600)).toBe(12);
    expect(capped(-5, 600)).toBe(-5);
    expect(capped(1e9, undefined)).toBe(1e9);
  });
});

describe('metric definitions with a source', () => {
  const base = { id: 'm', name: 'M', description: 'd', direction: 'increase', isGuardrail: false, baselineMean: 1, baselineVariance: 1 } as const;

  it('accepts an aggregation that fits the kind, with filters, a window and a cap', () => {
    const ok = MetricSchema.safeParse({
      ...base,
      kind: 'mean',
      source: { event: 'stream_end', where: { platform: ['ios', 'android'], premium: true }, aggregate: 'sum', windowHours: 168 },
      capMax: 600,
    });
    expect(ok.success).toBe(true);
  });

  it('refuses an aggregation the kind cannot take, a cap on a binary metric, and unknown source fields', () => {
    const wrongAgg = MetricSchema.safeParse({ ...base, kind: 'binary', source: { event: 'e', aggregate: 'sum' } });
    expect(wrongAgg.error?.issues[0]).toMatchObject({ path: ['source', 'aggregate'] });
    const cap = MetricSchema.safeParse({ ...base, kind: 'binary', source: { event: 'e', aggregate: 'any' }, capMax: 1 });
    expect(cap.error?.issues[0]).toMatchObject({ path: ['capMax'] });
    const unknown = MetricSchema.safeParse({ ...base, kind: 'count', source: { event: 'e', aggregate: 'count', window: 24 } });
    expect(unknown.success).toBe(false);
  });
});
