import type { Experiment, Ranges, Variant } from './schemas.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3 x86 32-bit (Appleby), seed 0, of the UTF-8 bytes of `salt:unit`: same answer in
 * every process and language. Streams the UTF-8 encoding of the two strings straight into the
 * hash, with no allocation: assignment is the hot path of every serving request. Tested against
 * murmurhash3js-revisited and an independent transcription on published vectors and random text.
 */
export function hash32(salt: string, unitId: string): number {
  st.h = 0;
  st.k = 0;
  st.shift = 0;
  st.len = 0;
  feed(salt);
  push(0x3a); // ':'
  feed(unitId);
  let h = st.h;
  if (st.shift !== 0) {
    let k = Math.imul(st.k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= st.len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash state shared by push/feed: module-level so the hot path allocates nothing (JS runs one call at a time). */
const st = { h: 0, k: 0, shift: 0, len: 0 };

function push(byte: number): void {
  st.k |= byte << st.shift;
  st.len++;
  if (st.shift !== 24) {
    st.shift += 8;
    return;
  }
  let k = Math.imul(st.k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  let h = st.h ^ k;
  h = (h << 13) | (h >>> 19);
  st.h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  st.k = 0;
  st.shift = 0;
}

function feed(str: string): void {
  for (let i = 0; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c < 0x80) push(c);
    else if (c < 0x800) {
      push(0xc0 | (c >> 6));
      push(0x80 | (c & 63));
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < str.length && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (str.charCodeAt(++i) - 0xdc00);
      push(0xf0 | (c >> 18));
      push(0x80 | ((c >> 12) & 63));
      push(0x80 | ((c >> 6) & 63));
      push(0x80 | (c & 63));
    } else {
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
      push(0xe0 | (c >> 12));
      push(0x80 | ((c >> 6) & 63));
      push(0x80 | (c & 63));
    }
  }
}

/**
 * The hash state after `salt:`, computed once per salt (a surface's salt, an experiment id), so hashing
 * a unit feeds only the unit id: the serving path's form of hash32. Same answer as hash32(salt, unitId).
 */
export interface HashPrefix {
  readonly salt: string;
  readonly h: number;
  readonly k: number;
  readonly shift: number;
  readonly len: number;
}

export function hashPrefix(salt: string): HashPrefix {
  st.h = 0;
  st.k = 0;
  st.shift = 0;
  st.len = 0;
  feed(salt);
  push(0x3a); // ':'
  return { salt, h: st.h, k: st.k, shift: st.shift, len: st.len };
}

/** One 4-byte block of MurmurHash3 x86 32 folded into h. */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The longest unit id (in UTF-16 code units) loadUnit takes; longer ids hash through hash32, same answer. */
export const LOADED_MAX = 1024;

/**
 * The UTF-8 bytes of the unit id loadUnit read last, and the same memory as little-endian 32-bit words
 * (module-level scratch: JS runs one call at a time, and the serving path reads it only between its loadUnit
 * and its hashLoaded calls). UTF-8 takes at most 3 bytes per UTF-16 code unit, so any id up to LOADED_MAX
 * fits, plus two spare words so hashLoaded may read one word past the last for any alignment.
 */
const bytes = new Uint8Array(3 * LOADED_MAX + 8);
const words = new Int32Array(bytes.buffer);
const encoder = new TextEncoder();
/** The words are MurmurHash3's blocks only on a little-endian machine; elsewhere every id takes hash32. */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Encodes a unit id once into the scratch bytes (TextEncoder.encodeInto: the UTF-8 hash32 defines, lone
 * surrogates as U+FFFD; natively, about twice as fast as a charCodeAt loop on this path), so hashing it under
 * several prefixes (the surface's bucket, then each owning experiment's variant) encodes it once. Returns its
 * UTF-8 length, or -1 for an id longer than LOADED_MAX (hashLoaded then takes hash32, same answer). Valid until
 * the next loadUnit or hashUnit call.
 */
export function loadUnit(unitId: string): number {
  if (unitId.length > LOADED_MAX || !littleEndian) return -1;
  return encoder.encodeInto(unitId, bytes).written;
}

/**
 * hash32(p.salt, unitId) for the unit id loadUnit read last (n: its return value, the id's UTF-8 length), from
 * the precomputed prefix: the unit's bytes are taken four at a time from the scratch words, realigned by shifts
 * when the prefix leaves a partial block (no character read, no allocation). n < 0 (loadUnit declined) takes hash32.
 */
export function hashLoaded(p: HashPrefix, unitId: string, n: number): number {
  if (n < 0) return hash32(p.salt, unitId);
  let h = p.h;
  const shift = p.shift;
  let o = 0; // the unit's bytes already folded in
  if (shift !== 0) {
    o = 4 - (shift >>> 3); // bytes that complete the prefix's partial block
    if (n < o) return finish(h, p.k | ((words[0] & ((1 << (8 * n)) - 1)) << shift), p.len + n);
    h = mixBlock(h, p.k | (words[0] << shift));
  }
  const blocks = (n - o) >> 2;
  let tail: number;
  if (o === 0) {
    for (let j = 0; j < blocks; j++) h = mixBlock(h, words[j]);
    tail = words[blocks];
  } else {
    const a = 8 * o;
    const b = 32 - a;
    for (let j = 0; j < blocks; j++) h = mixBlock(h, (words[j] >>> a) | (words[j + 1] << b));
    tail = (words[blocks] >>> a) | (words[blocks + 1] << b);
  }
  const rest = (n - o) & 3;
  return finish(h, rest === 0 ? 0 : tail & ((1 << (8 * rest)) - 1), p.len + n);
}

/** MurmurHash3's tail block (k: the last 1–3 bytes, 0 when none; a tail of zero bytes mixes to 0 too) and finalisation. */
function finish(h: number, k: number, len: number): number {
  if (k !== 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * hash32(prefix.salt, unitId) from the precomputed prefix: loadUnit then hashLoaded (a unit hashed under
 * one prefix only; the serving path loads once and hashes under several).
 */
export function hashUnit(p: HashPrefix, unitId: string): number {
  return hashLoaded(p, unitId, loadUnit(unitId));
}

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
