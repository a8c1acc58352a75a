/** An independent MurmurHash3_x86_32 (the tests' oracle for every form of the unit hash) and UTF-8 bytes of a string. */
export const utf8 = (s: string) => new TextEncoder().encode(s);
const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

/** Independent MurmurHash3_x86_32 (Appleby's reference, transcribed with Math.imul), so hash32 is not checked against itself. */
export function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const mixK = (k: number) => Math.imul(rotl(Math.imul(k, c1), 15), c2);
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  for (let i = 0; i < blocks; i++) {
    const o = 4 * i;
    h ^= mixK(bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24));
    h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  let k = 0;
  if (rest >= 3) k ^= bytes[tail + 2] << 16;
  if (rest >= 2) k ^= bytes[tail + 1] << 8;
  if (rest >= 1) h ^= mixK(k ^ bytes[tail]);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
