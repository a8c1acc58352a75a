import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../src/ops/hot-series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
/** Values on, between, below and above the bounds (2 is past the last one: +Inf only). */
const VALUES = [0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 1, 2, 0.001];

/** The same observations through prom-client's own Histogram and through HotHistogram children give the same exposition. */
async function both(build: (r: Registry, hot: boolean) => (labels: { route: string }, v: number) => void) {
  const plain = new Registry();
  const hot = new Registry();
  const observePlain = build(plain, false);
  const observeHot = build(hot, true);
  for (const [i, v] of VALUES.entries()) {
    const labels = { route: i % 3 ? '/a' : '/b' };
    observePlain(labels, v);
    observeHot(labels, v);
  }
  return { plain: await plain.metrics(), hot: await hot.metrics() };
}

describe('hot series (counted in plain numbers, added to prom-client when read)', () => {
  it('a HotHistogram child exposes exactly what prom-client observe() would, buckets, +Inf, sum and count', async () => {
    const { plain, hot } = await both((registers, isHot) => {
      const config = { name: 'h_seconds', help: 'h', labelNames: ['route'] as const, buckets: BUCKETS, registers: [registers] };
      if (!isHot) {
        const h = new Histogram(config);
        return (l, v) => h.observe(l, v);
      }
      const h = new HotHistogram(config);
      return (l, v) => h.child(l).observe(v);
    });
    expect(hot).toBe(plain);
    expect(hot).toContain('h_seconds_bucket{le="+Inf",route="/a"} 6');
    expect(hot).toContain('h_seconds_bucket{le="0.001",route="/a"} 2');
    expect(hot).toContain('h_seconds_bucket{le="0.001",route="/b"} 1');
  });

  it('folds children into series that direct observe() calls also fed, and keeps counting across scrapes', async () => {
    const registry = new Registry();
    const h = new HotHistogram({ name: 'h_seconds', help: 'h', labelNames: ['route'], buckets: BUCKETS, registers: [registry] });
    const child = h.child({ route: '/a' });
    h.observe({ route: '/a' }, 0.05);
    child.observe(0.005);
    expect(await registry.metrics()).toContain('h_seconds_count{route="/a"} 2');
    child.observe(5);
    const second = await registry.metrics();
    expect(second).toContain('h_seconds_count{route="/a"} 3');
    expect(second).toContain('h_seconds_bucket{le="0.01",route="/a"} 1');
    expect(second).toContain('h_seconds_bucket{le="0.1",route="/a"} 2');
    expect(second).toContain('h_seconds_sum{route="/a"} 5.055');
  });

  it('a HotCounter child adds to the series prom-client inc() writes, labels in declared order, read through get() too', async () => {
    const registry = new Registry();
    const c = new HotCounter({ name: 'c_total', help: 'c', labelNames: ['route', 'code'], registers: [registry] });
    const plain = new Counter({ name: 'p_total', help: 'p', labelNames: ['route', 'code'], registers: [registry] });
    const child = c.child({ route: '/a', code: '200' });
    expect(c.child({ code: '200', route: '/a' })).toBe(child); // one child per label set, whatever the key order
    child.inc();
    child.inc(2);
    c.inc({ route: '/a', code: '200' });
    plain.inc({ route: '/a', code: '200' });
    const text = await registry.metrics();
    expect(text).toContain('c_total{route="/a",code="200"} 4');
    expect(text).toContain('p_total{route="/a",code="200"} 1');
    child.inc();
    expect((await c.get()).values).toEqual([{ labels: { route: '/a', code: '200' }, value: 5 }]);
  });

  it('an unlabelled HotCounter child is the metric itself', async () => {
    const registry = new Registry();
    const c = new HotCounter({ name: 'q_total', help: 'q', registers: [registry] });
    c.child().inc();
    c.inc();
    expect(await registry.metrics()).toContain('q_total 2');
  });
});
