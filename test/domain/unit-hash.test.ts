import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bucketFromHash,
  hash32,
  hashLoaded,
  hashLoadedInt32,
  hashPrefix,
  hashUnit,
  LOADED_MAX,
  loadAndHash,
  loadedLength,
  loadUnit,
} from '../../src/domain/unit-hash.js';
import { referenceMurmur3, utf8 } from '../helpers/murmur-reference.js';

// The serving path's forms of the unit hash (a prefix hashed once per salt; the id read once per request, by
// charCodeAt when ASCII or TextEncoder otherwise, then hashed under several prefixes) against the independent
// MurmurHash3 of the UTF-8 bytes of `salt:unit`: any difference would move units between buckets and variants.

describe('hashUnit (the serving form of hash32)', () => {
  it('equals hash32(salt, unit) for any salt and unit: ASCII fast path, every alignment of the prefix, and non-ASCII fallback', () => {
    const text = fc.oneof(fc.string({ maxLength: 45 }), fc.string({ unit: 'binary', maxLength: 45 }), fc.uuid());
    fc.assert(
      fc.property(text, text, (salt, unit) => {
        expect(hashUnit(hashPrefix(salt), unit)).toBe(hash32(salt, unit));
      }),
      { numRuns: 5000, seed: 7 },
    );
  });

  it('matches the independent MurmurHash3 on units of every length 0..16 after salts of every length 0..7', () => {
    for (let s = 0; s < 8; s++)
      for (let n = 0; n <= 16; n++) {
        const salt = 'abcdefg'.slice(0, s);
        const unit = 'u0123456789abcdef'.slice(0, n);
        expect(hashUnit(hashPrefix(salt), unit), `${salt}:${unit}`).toBe(referenceMurmur3(utf8(`${salt}:${unit}`), 0));
      }
  });
});

describe('loadUnit and hashLoaded (the id encoded once, hashed under several prefixes)', () => {
  const expectHashes = (unit: string, salts: string[]) => {
    const n = loadUnit(unit);
    expect(n).toBe(unit.length > LOADED_MAX ? -1 : utf8(unit).length);
    for (const salt of salts) {
      const want = referenceMurmur3(utf8(`${salt}:${unit}`), 0);
      expect(hashLoaded(hashPrefix(salt), unit, n), `${salt}:${unit.slice(0, 20)}… (${unit.length})`).toBe(want);
      expect(hash32(salt, unit)).toBe(want);
    }
  };

  it('equal the independent MurmurHash3 of the UTF-8 bytes for random ids (ASCII, non-ASCII, lone surrogates, long, past LOADED_MAX) after another id was loaded', () => {
    const unit = fc.oneof(
      fc.string({ maxLength: 45 }),
      fc.string({ unit: 'binary', maxLength: 45 }),
      fc.uuid(),
      fc.string({ minLength: 900, maxLength: LOADED_MAX + 60 }),
      fc.string({ unit: 'binary', minLength: 300, maxLength: LOADED_MAX + 20 }),
    );
    const salt = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
    fc.assert(
      fc.property(unit, unit, fc.array(salt, { minLength: 1, maxLength: 4 }), (before, u, salts) => {
        loadUnit(before); // leaves its bytes in the scratch: u's hashes must not see them
        expectHashes(u, salts);
      }),
      { numRuns: 1500, seed: 16 },
    );
  });

  it('take ids up to LOADED_MAX code units at the most UTF-8 bytes each can need, and hand longer ones to hash32', () => {
    const salts = ['', 'a', 'ab', 'abc', 'surface-salt'];
    for (const ch of ['x', 'é', '€', '\u{1F600}', '\ud800']) {
      const atMax = ch.repeat(Math.floor(LOADED_MAX / ch.length));
      expectHashes(atMax, salts);
      expectHashes(`${atMax}yz`, salts);
    }
    expect(loadUnit('y'.repeat(LOADED_MAX + 1))).toBe(-1);
  });
});

/** Ids of every kind: ASCII, any UTF-16 (lone surrogates too), any code point (surrogate pairs), UUIDs, empty, long. */
const anyId = fc.oneof(
  fc.string({ maxLength: 45 }),
  fc.string({ unit: 'binary', maxLength: 45 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 45 }),
  fc.uuid(),
  fc.constant(''),
  // ASCII, then one character that is not, at any position: the one-pass ASCII hash gives up mid-way
  fc
    .tuple(fc.string({ maxLength: 40 }), fc.oneof(fc.constantFrom('é', '€', '\u{1F600}', '\ud800', '\udfff', '\u0080', '\u07ff')), fc.string({ maxLength: 40 }))
    .map(([a, c, b]) => a + c + b),
  fc.string({ minLength: LOADED_MAX - 8, maxLength: LOADED_MAX + 8 }),
  fc.string({ unit: 'binary', minLength: 300, maxLength: LOADED_MAX + 20 }),
);
const anySalt = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));

describe('loadAndHash (the bucket hash straight from the id, which stays loaded for the variant hashes)', () => {
  it('equals the independent MurmurHash3 under its prefix and leaves loadUnit’s length, then hashLoadedInt32 equals it under every other prefix', () => {
    fc.assert(
      fc.property(anyId, anyId, anySalt, fc.array(anySalt, { maxLength: 4 }), (before, u, salt, others) => {
        loadAndHash(hashPrefix('stale'), before); // leaves its words in the scratch: u's hashes must not see them
        expect(loadAndHash(hashPrefix(salt), u) >>> 0).toBe(referenceMurmur3(utf8(`${salt}:${u}`), 0));
        const n = loadedLength();
        expect(n).toBe(u.length > LOADED_MAX ? -1 : utf8(u).length);
        for (const other of others) expect(hashLoadedInt32(hashPrefix(other), u, n) >>> 0).toBe(referenceMurmur3(utf8(`${other}:${u}`), 0));
      }),
      { numRuns: 3000, seed: 2016 },
    );
  });

  it('matches on every alignment: salts of 0..7 bytes, ids of 0..17 characters, all ASCII or with one non-ASCII character anywhere', () => {
    for (let s = 0; s < 8; s++)
      for (let len = 0; len <= 17; len++) {
        const salt = 'abcdefg'.slice(0, s);
        const ascii = 'u0123456789abcdefg'.slice(0, len);
        const ids = [ascii, ...Array.from({ length: len }, (_, i) => `${ascii.slice(0, i)}ü${ascii.slice(i + 1)}`)];
        for (const u of ids) {
          const want = referenceMurmur3(utf8(`${salt}:${u}`), 0);
          expect(loadAndHash(hashPrefix(salt), u) >>> 0, `${salt}:${u}`).toBe(want);
          expect(hashLoaded(hashPrefix(salt), u, loadedLength()), `${salt}:${u} again`).toBe(want);
          expect(hashLoadedInt32(hashPrefix(`${salt}x`), u, loadedLength()) >>> 0).toBe(referenceMurmur3(utf8(`${salt}x:${u}`), 0));
        }
      }
  });

  it('hands ids longer than LOADED_MAX to hash32 (loadedLength -1), and hashLoadedInt32 follows', () => {
    const u = 'z'.repeat(LOADED_MAX + 1);
    expect(loadAndHash(hashPrefix('s'), u) >>> 0).toBe(hash32('s', u));
    expect(loadedLength()).toBe(-1);
    expect(hashLoadedInt32(hashPrefix('t'), u, -1) >>> 0).toBe(hash32('t', u));
  });
});

describe('bucketFromHash (the remainder by a multiplication)', () => {
  // 32,761 and 65,487: counts whose product rounds below a multiple near 2^32 (the correction is needed there).
  const counts = [1, 7, 100, 1000, 9973, 10_000, 32_761, 65_487, 65_536, 945_037, 999_983, 1_000_000, 2 ** 20];
  it('equals (h >>> 0) % count next to every multiple of the count near 0, near 2^31 and near 2^32, for signed and unsigned h', () => {
    for (const count of counts) {
      const inverse = 1 / count;
      for (const start of [0, Math.floor(2 ** 31 / count) - 300, Math.floor(2 ** 32 / count) - 600])
        for (let q = Math.max(0, start); q < start + 600; q++)
          for (const d of [-1, 0, 1]) {
            const x = q * count + d;
            if (x < 0 || x >= 2 ** 32) continue;
            expect(bucketFromHash(x, count, inverse), `${x} % ${count}`).toBe(x % count);
            expect(bucketFromHash(x | 0, count, inverse), `${x | 0} % ${count}`).toBe(x % count);
          }
      expect(bucketFromHash(-1, count, inverse)).toBe((2 ** 32 - 1) % count);
    }
  });

  it('equals (h >>> 0) % count for random 32-bit hashes and counts up to 2^20', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 20 }), (h, count) => {
        expect(bucketFromHash(h, count, 1 / count)).toBe((h >>> 0) % count);
      }),
      { numRuns: 20_000, seed: 3 },
    );
  });
});
