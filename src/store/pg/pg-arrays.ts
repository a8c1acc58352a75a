import type { Param } from '../sql/sql.js';

const SPECIAL = /["\\]/;

/**
 * A JS array bound as one PostgreSQL array parameter: its text literal (`{"a","b\"c",NULL,1.5}`), cast in the SQL
 * (`?::text[]`, `?::float8[]`). Built here in one pass rather than by node-postgres (which escapes every element
 * with two regular expressions): a fold turn binds a few hundred thousand elements. Strings are always quoted (an
 * empty string, `NULL`, spaces, commas and braces stay text), `"` and `\` escaped only where present; numbers as JS
 * prints them, which PostgreSQL reads back to the same double (shortest round-trip form; NaN, ±Infinity), as
 * node-postgres's own `toString` did. The seam's Param is scalar because SQLite binds no arrays: PostgreSQL only.
 */
export function pgArray(xs: readonly (string | number | null)[]): Param {
  const parts = new Array<string>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x === null || x === undefined) parts[i] = 'NULL';
    else if (typeof x === 'number') parts[i] = String(x);
    else parts[i] = SPECIAL.test(x) ? `"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${x}"`;
  }
  return `{${parts.join(',')}}`;
}

const FLOAT8 = 701;
const INT8 = 20;
const TEXT = 25;
const HEADER = 20;

/** The header of a one-dimensional array in PostgreSQL's binary format (array_send/array_recv). */
function header(length: number, nulls: boolean, oid: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(length ? size : 12);
  buf.writeInt32BE(length ? 1 : 0, 0);
  buf.writeInt32BE(nulls ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  if (length) {
    buf.writeInt32BE(length, 12);
    buf.writeInt32BE(1, 16);
  }
  return buf;
}

/** Fixed-width elements (8 bytes): float8 and int8. */
function fixed8(xs: readonly (number | null)[], oid: number, write: (buf: Buffer, x: number, at: number) => void): Param {
  let nulls = 0;
  for (const x of xs) if (x === null || x === undefined) nulls++;
  const buf = header(xs.length, nulls > 0, oid, HEADER + xs.length * 4 + (xs.length - nulls) * 8);
  let at = HEADER;
  for (const x of xs) {
    if (x === null || x === undefined) {
      buf.writeInt32BE(-1, at);
      at += 4;
    } else {
      buf.writeInt32BE(8, at);
      write(buf, x, at + 4);
      at += 12;
    }
  }
  return buf as unknown as Param;
}

/**
 * A float8[] parameter in PostgreSQL's binary format (`?::float8[]`): each double sent as its 8 bytes, so nothing is
 * printed and parsed back (the text form costs a shortest-round-trip conversion per value on each side) and every
 * value arrives bit for bit, -0 included. node-postgres sends a Buffer parameter as binary.
 */
export const pgFloat8s = (xs: readonly (number | null)[]): Param => fixed8(xs, FLOAT8, (buf, x, at) => buf.writeDoubleBE(x, at));

/** An int8[] parameter in binary format (`?::int8[]`); values must be safe integers (counts, bins). */
export const pgInt8s = (xs: readonly (number | null)[]): Param =>
  fixed8(xs, INT8, (buf, x, at) => {
    if (!Number.isSafeInteger(x)) throw new Error(`pgInt8s: ${x} is not a safe integer`);
    buf.writeInt32BE(Math.floor(x / 4_294_967_296), at);
    buf.writeUInt32BE(x >>> 0, at + 4);
  });

/** A text[] parameter in binary format (`?::text[]`): each string as its UTF-8 bytes, nothing quoted or escaped. */
export function pgTexts(xs: readonly (string | null)[]): Param {
  let size = HEADER;
  let nulls = false;
  const lengths = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x === null || x === undefined) {
      nulls = true;
      lengths[i] = -1;
      size += 4;
    } else {
      lengths[i] = Buffer.byteLength(x);
      size += 4 + lengths[i];
    }
  }
  const buf = header(xs.length, nulls, TEXT, size);
  let at = HEADER;
  for (let i = 0; i < xs.length; i++) {
    buf.writeInt32BE(lengths[i], at);
    at += 4;
    if (lengths[i] > 0) at += buf.write(xs[i]!, at);
  }
  return buf as unknown as Param;
}
