import { describe, expect, it } from 'vitest';
import { ToolCallLog } from '../../src/ops/tool-calls.js';
import { percentile } from '../../src/ops/diagnosis.js';

describe('ToolCallLog', () => {
  it('keeps the last N calls, oldest first, and filters by time', () => {
    const log = new ToolCallLog(3);
    for (let i = 1; i <= 5; i++) log.record(`t${i}`, i === 4 ? 'NOT_FOUND' : 'ok', i * 10, 1000 + i);
    expect(log.since(0).map((c) => [c.tool, c.outcome, c.durationMs])).toEqual([
      ['t3', 'ok', 30],
      ['t4', 'NOT_FOUND', 40],
      ['t5', 'ok', 50],
    ]);
    expect(log.since(1004).map((c) => c.tool)).toEqual(['t4', 't5']);
  });
});

describe('percentile (nearest rank)', () => {
  it('matches the nearest-rank definition on 1..20', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    // Nearest rank: the ceil(p·n)-th smallest value.
    expect(percentile(xs, 0.5)).toBe(10);
    expect(percentile(xs, 0.95)).toBe(19);
    expect(percentile(xs, 1)).toBe(20);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });
});
