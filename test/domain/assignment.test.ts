import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import murmur from 'murmurhash3js-revisited';
import {
  assignUnit,
  bucketOf,
  bucketsForPercent,
  chooseVariant,
  freeRanges,
  hash32,
  inRanges,
  normalizeRanges,
  rangesSize,
  resizeAllocation,
  variantCuts,
} from '../../src/domain/assignment.js';
import { chiSquareSf } from '../../src/domain/stats/index.js';
import type { Ranges } from '../../src/domain/schemas.js';
import { referenceMurmur3, utf8 } from '../helpers/murmur-reference.js';

// Published MurmurHash3_x86_32 vectors: [input, seed, expected].
const VECTORS: [string, number, number][] = [
  // Ian Boyd's vectors checked against the SMHasher reference, https://stackoverflow.com/a/31929528
  // (also the mmh3 test suite's "vectors devised by Ian Boyd").
  ['', 0, 0],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['\0\0\0\0', 0, 0x2362f9de],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['aaa', 0x9747b28c, 0x283e0130],
  ['aa', 0x9747b28c, 0x5d211726],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['abc', 0, 0xb3dd93fa],
  ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ['a'.repeat(256), 0x9747b28c, 0x37405bdc],
  // Wikipedia, "MurmurHash" article, test vectors with seed 0x9747b28c.
  ['test', 0x9747b28c, 0x704b81dc],
  ['Hello, world!', 0x9747b28c, 0x24884cba],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  // Seed-0 values quoted across implementations (mmh3: hash('hello') = 613153351; Git's t0095-bloom.sh for the fox).
  ['hello', 0, 0x248bfa47],
  ['test', 0, 0xba6bd213],
  ['Hello, world!', 0, 0xc0363e43],
  ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
];

describe('hash32', () => {
  it('the murmurhash3js-revisited package matches the published MurmurHash3_x86_32 vectors', () => {
    for (const [input, seed, expected] of VECTORS) expect(murmur.x86.hash32(utf8(input), seed) >>> 0, `${JSON.stringify(input)} seed ${seed}`).toBe(expected);
    expect(murmur.x86.hash32(utf8('hello'), 0) >>> 0).toBe(613153351);
  });

  it('the independent reference implementation matches the same vectors', () => {
    for (const [input, seed, expected] of VECTORS) expect(referenceMurmur3(utf8(input), seed), `${JSON.stringify(input)} seed ${seed}`).toBe(expected);
  });

  it('is MurmurHash3_x86_32, seed 0, of the UTF-8 bytes of `salt:unit`', () => {
    expect(hash32('hello', 'x')).toBe(murmur.x86.hash32(utf8('hello:x'), 0) >>> 0);
    // Every tail length (0–3 bytes), multi-byte UTF-8, and an empty unit.
    const units = ['', 'u', 'u1', 'u12', 'u123', 'user-42', 'ünïcødé', '這個有效', '🌈', 'x'.repeat(37)];
    for (const salt of ['home-2026-a', 's', '']) {
      for (const unit of units) expect(hash32(salt, unit)).toBe(referenceMurmur3(utf8(`${salt}:${unit}`), 0));
    }
  });

  it('is an unsigned 32-bit integer', () => {
    for (let i = 0; i < 1000; i++) {
      const h = hash32('home-2026-a', `u${i}`);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    }
  });
});

describe('determinism', () => {
  const ids = ['alice', 'bob', 'u-000001', 'ünïcødé', '42'];

  it('gives the same bucket on every call', () => {
    const first = ids.map((u) => bucketOf('home-2026-a', u, 10_000));
    for (let i = 0; i < 3; i++) expect(ids.map((u) => bucketOf('home-2026-a', u, 10_000))).toEqual(first);
  });

  it('gives the same buckets in a separate node process', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const script = `import { bucketOf } from './src/domain/assignment.ts'; console.log(JSON.stringify(${JSON.stringify(ids)}.map((u) => bucketOf('home-2026-a', u, 10000))));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual(ids.map((u) => bucketOf('home-2026-a', u, 10_000)));
  });
});

describe('bucketOf uniformity', () => {
  it('spreads 10^6 ids over 1000 buckets as a uniform distribution would (chi-square, df 999)', () => {
    const k = 1000;
    const n = 1_000_000;
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) counts[bucketOf('home-2026-a', `user-${i}`, k)]++;
    const expected = n / k;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    const p = chiSquareSf(chi2, k - 1);
    expect(p).toBeGreaterThan(0.001);
    // Suspiciously even counts (e.g. a counter modulo k) would be just as wrong as lumpy ones.
    expect(p).toBeLessThan(0.999);
  });
});

describe('chooseVariant', () => {
  const variants = [
    { key: 'a', weight: 20 },
    { key: 'b', weight: 30 },
    { key: 'c', weight: 50 },
  ];
  const share = (keys: string[], key: string) => keys.filter((k) => k === key).length / keys.length;
  const withinSe = (observed: number, p: number, n: number) => Math.abs(observed - p) <= 4.5 * Math.sqrt((p * (1 - p)) / n);

  it('honours weights 20/30/50 within 4.5 standard errors over 200,000 units', () => {
    const n = 200_000;
    const keys = Array.from({ length: n }, (_, i) => chooseVariant('exp_1', `unit-${i}`, variants));
    for (const v of variants) expect(withinSe(share(keys, v.key), v.weight / 100, n), `variant ${v.key}: ${share(keys, v.key)}`).toBe(true);
  });

  it('treats weights as relative (0.2/0.3/0.5 splits like 20/30/50)', () => {
    const scaled = variants.map((v) => ({ ...v, weight: v.weight / 100 }));
    for (let i = 0; i < 2000; i++) expect(chooseVariant('exp_1', `unit-${i}`, scaled)).toBe(chooseVariant('exp_1', `unit-${i}`, variants));
  });

  it('is independent of the surface bucket: the split holds inside half of the buckets and across bucket deciles', () => {
    const n = 200_000;
    const table = Array.from({ length: 10 }, () => [0, 0, 0]);
    const lowHalf: string[] = [];
    for (let i = 0; i < n; i++) {
      const unit = `unit-${i}`;
      const bucket = bucketOf('home-2026-a', unit, 10_000);
      const key = chooseVariant('exp_1', unit, variants);
      table[Math.floor(bucket / 1000)][variants.findIndex((v) => v.key === key)]++;
      if (bucket < 5000) lowHalf.push(key);
    }
    for (const v of variants) expect(withinSe(share(lowHalf, v.key), v.weight / 100, lowHalf.length), `variant ${v.key} in buckets [0, 5000)`).toBe(true);
    // Chi-square test of independence on the 10 × 3 decile-by-variant table, df = 9 · 2.
    const rowSums = table.map((r) => r[0] + r[1] + r[2]);
    const colSums = [0, 1, 2].map((j) => table.reduce((s, r) => s + r[j], 0));
    let chi2 = 0;
    table.forEach((r, i) =>
      r.forEach((o, j) => {
        const e = (rowSums[i] * colSums[j]) / n;
        chi2 += (o - e) ** 2 / e;
      }),
    );
    expect(chiSquareSf(chi2, 18)).toBeGreaterThan(0.001);
  });

  it('gives a unit different variants in different experiments (the experiment id is the salt)', () => {
    const two = [
      { key: 'x', weight: 50 },
      { key: 'y', weight: 50 },
    ];
    let same = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (chooseVariant('exp_1', `u${i}`, two) === chooseVariant('exp_2', `u${i}`, two)) same++;
    // Independent fair coins agree half of the time.
    expect(Math.abs(same / n - 0.5)).toBeLessThan(4.5 * Math.sqrt(0.25 / n));
  });
});

describe('variantCuts', () => {
  // The float split chooseVariant uses, for one 32-bit hash: the reference the cuts must equal for every hash.
  const byFloat = (h: number, cumulative: number[]) => {
    const point = (h / 2 ** 32) * cumulative[cumulative.length - 1];
    const i = cumulative.findIndex((c) => point < c);
    return i === -1 ? cumulative.length - 1 : i;
  };
  const byCuts = (h: number, cuts: number[]) => {
    const i = cuts.findIndex((c) => h < c);
    return i === -1 ? cuts.length - 1 : i;
  };

  it('picks the variant the float split picks, at and around every cut and at random hashes, for random weights', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength: 50 }),
        (weights, hashes) => {
          let acc = 0;
          const cumulative = weights.map((w) => (acc += w));
          const cuts = variantCuts(cumulative);
          const edges = cuts.flatMap((c) => [c - 2, c - 1, c, c + 1]).filter((h) => h >= 0 && h < 2 ** 32);
          for (const h of [0, 2 ** 32 - 1, ...edges, ...hashes]) expect(byCuts(h, cuts)).toBe(byFloat(h, cumulative));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('splits 50/50 at 2^31 and fractional weights where the float product rounds', () => {
    expect(variantCuts([50, 100])[0]).toBe(2 ** 31);
    const cumulative = [1 / 3, 2 / 3, 1];
    const cuts = variantCuts(cumulative);
    for (const c of cuts.slice(0, 2)) for (const h of [c - 1, c]) expect(byCuts(h, cuts)).toBe(byFloat(h, cumulative));
  });
});

describe('ranges', () => {
  it('normalizeRanges sorts, merges overlapping and adjacent ranges, and drops empty ones', () => {
    expect(
      normalizeRanges([
        [50, 60],
        [0, 10],
        [10, 20],
        [15, 30],
        [40, 40],
        [70, 65],
      ]),
    ).toEqual([
      [0, 30],
      [50, 60],
    ]);
    expect(normalizeRanges([])).toEqual([]);
  });

  it('normalizeRanges does not mutate its input', () => {
    const input: Ranges = [
      [10, 20],
      [0, 15],
    ];
    normalizeRanges(input);
    expect(input).toEqual([
      [10, 20],
      [0, 15],
    ]);
  });

  it('freeRanges returns the complement of the taken ranges in [0, total)', () => {
    expect(freeRanges(100, [])).toEqual([[0, 100]]);
    expect(
      freeRanges(100, [
        [20, 30],
        [0, 10],
        [25, 40],
      ]),
    ).toEqual([
      [10, 20],
      [40, 100],
    ]);
    expect(freeRanges(100, [[0, 100]])).toEqual([]);
    expect(
      freeRanges(100, [
        [0, 50],
        [50, 100],
      ]),
    ).toEqual([]);
    expect(
      rangesSize(
        freeRanges(10_000, [
          [0, 5000],
          [7000, 7500],
        ]),
      ),
    ).toBe(4500);
  });

  it('inRanges treats ranges as half-open [start, end)', () => {
    expect(inRanges([[10, 20]], 10)).toBe(true);
    expect(inRanges([[10, 20]], 19)).toBe(true);
    expect(inRanges([[10, 20]], 20)).toBe(false);
    expect(inRanges([[10, 20]], 9)).toBe(false);
  });

  it('resizeAllocation grows first-fit and keeps every owned bucket', () => {
    const owned: Ranges = [[100, 200]];
    const free = freeRanges(1000, [[0, 50], ...owned]);
    const grown = resizeAllocation(owned, free, 300)!;
    expect(rangesSize(grown)).toBe(300);
    expect(grown).toEqual([[50, 350]]);
    for (let b = 100; b < 200; b++) expect(inRanges(grown, b)).toBe(true);
  });

  it('resizeAllocation grows across several free ranges', () => {
    const grown = resizeAllocation(
      [],
      [
        [0, 10],
        [20, 30],
        [40, 100],
      ],
      25,
    )!;
    expect(grown).toEqual([
      [0, 10],
      [20, 30],
      [40, 45],
    ]);
  });

  it('resizeAllocation shrinks to a prefix of the owned buckets', () => {
    expect(
      resizeAllocation(
        [
          [500, 600],
          [0, 100],
        ],
        [],
        150,
      ),
    ).toEqual([
      [0, 100],
      [500, 550],
    ]);
    expect(resizeAllocation([[0, 100]], [], 100)).toEqual([[0, 100]]);
    expect(resizeAllocation([[0, 100]], [], 0)).toEqual([]);
  });

  it('resizeAllocation returns null when not enough buckets are free', () => {
    expect(resizeAllocation([[0, 100]], [[200, 250]], 200)).toBeNull();
    expect(resizeAllocation([], [], 1)).toBeNull();
  });

  it('bucketsForPercent converts a percentage of the surface to a bucket count', () => {
    expect(bucketsForPercent(10_000, 10)).toBe(1000);
    expect(bucketsForPercent(10_000, 50)).toBe(5000);
    expect(bucketsForPercent(10_000, 100)).toBe(10_000);
    expect(bucketsForPercent(10_000, 0.25)).toBe(25);
    expect(bucketsForPercent(1000, 33.33)).toBe(333);
  });
});

describe('assignUnit', () => {
  const surface = { salt: 'home-2026-a', bucketCount: 10_000 };
  const variants = [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', isControl: false, weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
  ];
  const exp = (id: string, buckets: Ranges, platforms?: ('ios' | 'android' | 'web' | 'desktop')[]) => ({
    id,
    key: id,
    variants,
    buckets,
    targeting: platforms ? { platforms } : {},
  });

  it('puts a unit only in experiments whose buckets contain its bucket', () => {
    const running = [exp('low', [[0, 5000]]), exp('high', [[5000, 10_000]]), exp('tiny', [[0, 100]])];
    for (let i = 0; i < 2000; i++) {
      const unit = `u${i}`;
      const b = bucketOf(surface.salt, unit, surface.bucketCount);
      const got = assignUnit(surface, running, unit)
        .map((a) => a.experimentId)
        .sort();
      const want = running
        .filter((e) => inRanges(e.buckets, b))
        .map((e) => e.id)
        .sort();
      expect(got).toEqual(want);
    }
  });

  it('reports the bucket and the variant chooseVariant picks', () => {
    const [a] = assignUnit(surface, [exp('all', [[0, 10_000]])], 'unit-7');
    expect(a).toEqual({
      experimentId: 'all',
      experimentKey: 'all',
      bucket: bucketOf(surface.salt, 'unit-7', 10_000),
      variant: chooseVariant('all', 'unit-7', variants),
    });
  });

  it('respects platform targeting: targeted experiments need a matching platform', () => {
    const running = [exp('mobile', [[0, 10_000]], ['ios', 'android']), exp('everyone', [[0, 10_000]])];
    const keys = (platform?: string) =>
      assignUnit(surface, running, 'u1', platform)
        .map((a) => a.experimentId)
        .sort();
    expect(keys('ios')).toEqual(['everyone', 'mobile']);
    expect(keys('android')).toEqual(['everyone', 'mobile']);
    expect(keys('web')).toEqual(['everyone']);
    expect(keys(undefined)).toEqual(['everyone']);
  });

  it('an empty platform list targets everyone', () => {
    expect(assignUnit(surface, [exp('e', [[0, 10_000]], [])], 'u1', 'web')).toHaveLength(1);
  });
});

describe('hash32 on arbitrary text', () => {
  it('equals MurmurHash3 of the TextEncoder UTF-8 bytes for any string, lone surrogates included', async () => {
    const fc = (await import('fast-check')).default;
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), (salt, unit) => {
        expect(hash32(salt, unit)).toBe(murmur.x86.hash32(enc.encode(`${salt}:${unit}`), 0) >>> 0);
      }),
      { numRuns: 2000, seed: 42 },
    );
  });
});
