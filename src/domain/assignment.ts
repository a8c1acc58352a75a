import type { Experiment, Ranges, Variant } from './schemas.js';
import { hash32 } from './unit-hash.js';

// The unit hash (MurmurHash3 of `salt:unit`, reference and serving forms) lives in unit-hash.ts; every caller imports it from here.
export {
  bucketFromHash,
  type HashPrefix,
  hash32,
  hashLoaded,
  hashLoadedInt32,
  hashPrefix,
  hashUnit,
  LOADED_MAX,
  loadAndHash,
  loadedLength,
  loadUnit,
} from './unit-hash.js';

/** The unit's bucket on a surface, in [0, bucketCount). */
export function bucketOf(salt: string, unitId: string, bucketCount: number): number {
  return hash32(salt, unitId) % bucketCount;
}

export function rangesSize(ranges: Ranges): number {
  return ranges.reduce((n, [a, b]) => n + (b - a), 0);
}

export function inRanges(ranges: Ranges, bucket: number): boolean {
  for (const [a, b] of ranges) if (bucket >= a && bucket < b) return true;
  return false;
}

/** Normalise: sort and merge adjacent or overlapping ranges. */
export function normalizeRanges(ranges: Ranges): Ranges {
  const sorted = [...ranges].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Ranges = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Buckets in [0, total) not covered by `taken`. */
export function freeRanges(total: number, taken: Ranges): Ranges {
  const out: Ranges = [];
  let cursor = 0;
  for (const [a, b] of normalizeRanges(taken)) {
    if (a > cursor) out.push([cursor, a]);
    cursor = Math.max(cursor, b);
  }
  if (cursor < total) out.push([cursor, total]);
  return out;
}

/**
 * Grow `owned` to `target` buckets from `free`, first fit; shrinking drops from the end.
 * Growing keeps every bucket already owned, so units already in stay in (a ramp never reshuffles).
 */
export function resizeAllocation(owned: Ranges, free: Ranges, target: number): Ranges | null {
  let have = rangesSize(owned);
  if (have >= target) return shrink(owned, target);
  const add: Ranges = [];
  for (const [a, b] of free) {
    if (have >= target) break;
    const take = Math.min(b - a, target - have);
    add.push([a, a + take]);
    have += take;
  }
  return have < target ? null : normalizeRanges([...owned, ...add]);
}

function shrink(owned: Ranges, target: number): Ranges {
  const out: Ranges = [];
  let left = target;
  for (const [a, b] of normalizeRanges(owned)) {
    if (left <= 0) break;
    const take = Math.min(b - a, left);
    out.push([a, a + take]);
    left -= take;
  }
  return out;
}

export function bucketsForPercent(bucketCount: number, percent: number): number {
  return Math.round((bucketCount * percent) / 100);
}

/** Variant within an experiment: an independent hash on the experiment id, split by normalised weights. */
export function chooseVariant(experimentId: string, unitId: string, variants: Pick<Variant, 'key' | 'weight'>[]): string {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  const point = (hash32(experimentId, unitId) / 2 ** 32) * total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (point < acc) return v.key;
  }
  return variants[variants.length - 1].key;
}

/**
 * chooseVariant's split as integer cuts in hash space: variant i is the first with `hash < cuts[i]`, for every 32-bit
 * hash exactly as `(hash / 2^32) · total < cumulative[i]` decides (that product never decreases as the hash grows, so
 * the first hash on or past each boundary, found by bisection on the same expression, is the cut). Serving compares
 * integers instead of scaling every unit's hash.
 */
export function variantCuts(cumulative: readonly number[]): number[] {
  const total = cumulative[cumulative.length - 1];
  return cumulative.map((c) => {
    let lo = 0;
    let hi = 2 ** 32; // the answer is in [lo, hi]; hi = 2^32: no hash reaches the boundary
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((mid / 2 ** 32) * total >= c) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  });
}

/** Two experiments collide when they are on the same surface and touch a common slot. */
export function slotsOf(e: Pick<Experiment, 'variants'>): Set<string> {
  return new Set(e.variants.flatMap((v) => v.overrides.map((o) => o.slotId)));
}

export function collides(a: Pick<Experiment, 'surfaceId' | 'variants'>, b: Pick<Experiment, 'surfaceId' | 'variants'>): boolean {
  if (a.surfaceId !== b.surfaceId) return false;
  const sa = slotsOf(a);
  for (const s of slotsOf(b)) if (sa.has(s)) return true;
  return false;
}

export interface UnitAssignment {
  experimentId: string;
  experimentKey: string;
  variant: string;
  bucket: number;
}

/** Every running experiment the unit falls in on the surface, with its variant. Pure: the caller supplies the experiments. */
export function assignUnit(
  surface: { salt: string; bucketCount: number },
  running: Pick<Experiment, 'id' | 'key' | 'variants' | 'buckets' | 'targeting'>[],
  unitId: string,
  platform?: string,
): UnitAssignment[] {
  const bucket = bucketOf(surface.salt, unitId, surface.bucketCount);
  const out: UnitAssignment[] = [];
  for (const e of running) {
    if (!inRanges(e.buckets, bucket)) continue;
    const platforms = e.targeting.platforms;
    if (platforms && platforms.length > 0 && (!platform || !platforms.includes(platform as never))) continue;
    out.push({ experimentId: e.id, experimentKey: e.key, variant: chooseVariant(e.id, unitId, e.variants), bucket });
  }
  return out;
}
