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
