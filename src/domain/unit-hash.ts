/**
 * MurmurHash3 x86 32-bit (Appleby), seed 0, of the UTF-8 bytes of `salt:unit`: the hash every bucket and variant
 * is defined by (docs/adr/0002), as the reference stream (hash32) and the serving path's forms (a prefix hashed
 * once per salt, the unit id read once per request and hashed under several prefixes).
 */

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
/**
 * The hash state after `salt:`, computed once per salt (a surface's salt, an experiment id), so hashing
 * a unit feeds only the unit id: the serving path's form of hash32. Same answer as hash32(salt, unitId).
 */
export interface HashPrefix {
  readonly salt: string;
  readonly h: number;
  /** The prefix's last partial block (its `shift / 8` bytes, 0–3, low bytes first), and their count in bits. */
  readonly k: number;
  readonly shift: number;
  readonly len: number;
  /**
   * How the unit's 32-bit words are realigned behind the partial block: block = ((prev >>> a) & keep) | (word << b),
   * prev the word before (for the first block `carry`, k moved up so that carry >>> a is k). No partial block:
   * a = b = keep = 0 (a block is a word); otherwise a = 32 − shift, b = shift, keep = −1.
   */
  readonly a: number;
  readonly b: number;
  readonly keep: number;
  readonly carry: number;
}

export function hashPrefix(salt: string): HashPrefix {
  st.h = 0;
  st.k = 0;
  st.shift = 0;
  st.len = 0;
  feed(salt);
  push(0x3a); // ':'
  const { h, k, shift, len } = st;
  const a = shift === 0 ? 0 : 32 - shift;
  return { salt, h, k, shift, len, a, b: shift, keep: shift === 0 ? 0 : -1, carry: shift === 0 ? 0 : k << a };
}

/** The longest unit id (in UTF-16 code units) loadUnit takes; longer ids hash through hash32, same answer. */
export const LOADED_MAX = 1024;

/**
 * The UTF-8 bytes of the unit id read last (loadUnit, loadAndHash), and the same memory as little-endian 32-bit
 * words (module-level scratch: JS runs one call at a time, and the serving path reads it only between loading an
 * id and hashing it). UTF-8 takes at most 3 bytes per UTF-16 code unit, so any id up to LOADED_MAX fits, plus two
 * spare words so a realigned read may go one word past the last.
 */
const bytes = new Uint8Array(3 * LOADED_MAX + 8);
const words = new Int32Array(bytes.buffer);
const encoder = new TextEncoder();
/** The words are MurmurHash3's blocks only on a little-endian machine; elsewhere every id takes hash32. */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** What loadUnit returned for the id read last, or would have (loadAndHash): its UTF-8 length, -1 if declined. */
let loaded = -1;

/**
 * Encodes a unit id once into the scratch bytes (TextEncoder.encodeInto: the UTF-8 hash32 defines, lone
 * surrogates as U+FFFD), so hashing it under several prefixes (the surface's bucket, then each owning
 * experiment's variant) encodes it once. Returns its UTF-8 length, or -1 for an id longer than LOADED_MAX
 * (hashLoaded then takes hash32, same answer). Valid until the next loadUnit, loadAndHash or hashUnit call.
 */
export function loadUnit(unitId: string): number {
  loaded = unitId.length > LOADED_MAX || !littleEndian ? -1 : encoder.encodeInto(unitId, bytes).written;
  return loaded;
}

/** loadUnit's answer for the id loadAndHash read last: the `n` to hash it under further prefixes. */
export function loadedLength(): number {
  return loaded;
}

/**
 * hash32(p.salt, unitId) for the unit id loaded last (n: loadUnit's answer, the id's UTF-8 length), from the
 * precomputed prefix: the unit's bytes taken four at a time from the scratch words, realigned behind the prefix's
 * partial block (no character read, no allocation). n < 0 (loading declined) takes hash32.
 */
export function hashLoaded(p: HashPrefix, unitId: string, n: number): number {
  return hashLoadedInt32(p, unitId, n) >>> 0;
}

/**
 * hashLoaded's 32 bits as a signed integer (`>>> 0` gives hashLoaded): the serving path's form, which V8 returns
 * as a small integer even when the call is not inlined, where an unsigned hash of 2^31 or more is a heap number
 * allocated per call. One loop for every alignment of the prefix (see HashPrefix.a), small enough to inline.
 */
export function hashLoadedInt32(p: HashPrefix, unitId: string, n: number): number {
  if (n < 0) return hash32(p.salt, unitId) | 0;
  const a = p.a;
  const b = p.b;
  const keep = p.keep;
  const total = (p.shift >>> 3) + n; // the partial block's bytes and the unit's
  const blocks = total >> 2;
  let h = p.h;
  let prev = p.carry;
  for (let j = 0; j < blocks; j++) {
    const w = words[j];
    let k = ((prev >>> a) & keep) | (w << b);
    prev = w;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return finish(h, ((prev >>> a) & keep) | (words[blocks] << b), total, p.len + n);
}

/**
 * MurmurHash3's tail and finalisation: `next` holds the bytes after the last whole block (total & 3 of them count;
 * past the unit's last byte the scratch holds anything, masked off here), len is the whole input's length.
 */
function finish(h: number, next: number, total: number, len: number): number {
  const rest = total & 3;
  if (rest !== 0) {
    let k = next & ((1 << (8 * rest)) - 1);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * hashLoadedInt32(p, unitId, loadUnit(unitId)) in one pass for the common id, all ASCII: each block is read
 * straight from the string with charCodeAt, four characters per word, stored in the scratch for the next prefixes
 * and hashed at once (ASCII's UTF-8 bytes are its code units). The first code unit of 0x80 or more sends the id to
 * loadUnit (UTF-8 by TextEncoder) and hashLoadedInt32: the same bytes either way, so the same hash. Afterwards
 * loadedLength() is the n to hash the id under further prefixes.
 */
export function loadAndHash(p: HashPrefix, unitId: string): number {
  const len = unitId.length;
  if (len > LOADED_MAX || !littleEndian) {
    loaded = -1;
    return hash32(p.salt, unitId) | 0;
  }
  const whole = len >> 2; // the id's whole words
  let last = 0; // its last 0–3 characters
  let any = 0; // every code unit or-ed: ASCII when below 0x80
  for (let i = whole << 2, s = 0; i < len; i++, s += 8) {
    const c = unitId.charCodeAt(i);
    any |= c;
    last |= c << s;
  }
  words[whole] = last;
  const a = p.a;
  const b = p.b;
  const keep = p.keep;
  const total = (p.shift >>> 3) + len;
  const blocks = total >> 2; // whole, or whole + 1 when the prefix's partial block and the last characters fill one
  let h = p.h;
  let prev = p.carry;
  for (let j = 0; j < blocks; j++) {
    let w = last;
    if (j < whole) {
      const i = j << 2;
      const c0 = unitId.charCodeAt(i);
      const c1 = unitId.charCodeAt(i + 1);
      const c2 = unitId.charCodeAt(i + 2);
      const c3 = unitId.charCodeAt(i + 3);
      any |= c0 | c1 | c2 | c3;
      w = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      words[j] = w;
    }
    let k = ((prev >>> a) & keep) | (w << b);
    prev = w;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (any >= 0x80) return hashLoadedInt32(p, unitId, loadUnit(unitId));
  loaded = len;
  return finish(h, ((prev >>> a) & keep) | (words[blocks] << b), total, p.len + len);
}

/**
 * hash32(prefix.salt, unitId) from the precomputed prefix (a unit hashed under one prefix only; the serving path
 * loads once and hashes under several).
 */
export function hashUnit(p: HashPrefix, unitId: string): number {
  return loadAndHash(p, unitId) >>> 0;
}

/**
 * (h >>> 0) % count for a 32-bit hash h (signed or not) and a whole count ≥ 1, exactly, without a division: floor(x ×
 * inverse), inverse = 1 / count, is the quotient, except that for a multiple of count it may come out one less (the
 * product errs by under x / count × 2^-52, less than the 1 / count that separates x / count from the next whole
 * number when it is not one itself, for any x < 2^52), leaving a remainder of count, which one compare corrects. A
 * remainder by a count read from memory compiles to a division, several times slower on the serving path.
 */
export function bucketFromHash(h: number, count: number, inverse: number): number {
  const x = h >>> 0;
  const r = x - Math.floor(x * inverse) * count;
  return (r >= count ? r - count : r) | 0;
}
