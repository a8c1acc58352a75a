import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgArray, pgFloat8s, pgInt8s, pgTexts } from '../../src/store/pg/pg-arrays.js';
import { createPgPool, PgSql } from '../../src/store/sql/pg-sql.js';
import { pgCluster, pgDatabase } from '../helpers/postgres.js';

/**
 * pgArray builds the array literal itself, pgTexts/pgFloat8s/pgInt8s the binary form (the fold binds a few hundred
 * thousand elements a turn): what PostgreSQL reads back must be exactly what was bound, for awkward strings and for
 * doubles to the last bit.
 */
const cluster = pgCluster();

describe.skipIf(cluster.skip)(`pgArray on PostgreSQL${cluster.skip ? ` (skipped: ${cluster.skip})` : ''}`, () => {
  let sql: PgSql;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await pgDatabase(cluster.url());
    drop = database.drop;
    sql = new PgSql(createPgPool(database.url, { max: 1 }));
  });
  afterAll(async () => {
    await sql?.pool.end();
    await drop?.();
  });

  it('reads back every string as bound: quotes, backslashes, separators, braces, NULL as text, empty, spaces, unicode', async () => {
    const xs = [
      'plain',
      '',
      'NULL',
      'null',
      ' lead',
      'trail ',
      'a,b',
      '{x}',
      'say "hi"',
      'back\\slash',
      '\\"',
      '"',
      '\\',
      'tab\there',
      'line\nbreak',
      'é ünï 😀',
      'u-9f0c',
    ];
    const row = await sql.get<{ a: string[] }>('SELECT ?::text[] AS a', [pgArray(xs)]);
    expect(row?.a).toEqual(xs);
  });

  it('binds NULL elements as SQL NULL (text and float8)', async () => {
    const row = await sql.get<{ t: (string | null)[]; f: (number | null)[]; n: number }>(
      'SELECT ?::text[] AS t, ?::float8[] AS f, array_position(?::text[], NULL) AS n',
      [pgArray(['a', null, 'b']), pgArray([1, null]), pgArray(['a', null])],
    );
    expect(row).toEqual({ t: ['a', null, 'b'], f: [1, null], n: 2 });
  });

  it('reads back doubles bit for bit (shortest round-trip form), NaN and both infinities, and int8 counts', async () => {
    const xs = [0, 1, -1, 0.1, 1 / 3, -2.5e-308, 5e-324, Number.MAX_VALUE, 1e21, 123456789.123456789, Math.PI, Number.NaN, Infinity, -Infinity];
    const row = await sql.get<{ a: string }>('SELECT (?::float8[])::text AS a', [pgArray(xs)]);
    // Compared through PostgreSQL's own text output, parsed back here: equal doubles print equal.
    const back = row!.a.slice(1, -1).split(',').map(Number);
    expect(back).toEqual(xs);
    const ints = await sql.get<{ a: string }>('SELECT (?::int8[])::text AS a', [pgArray([0, -3, 2 ** 53 - 1])]);
    expect(ints?.a).toBe(`{0,-3,${2 ** 53 - 1}}`);
  });

  it('an empty array is empty', async () => {
    expect(await sql.get('SELECT cardinality(?::text[]) AS n', [pgArray([])])).toEqual({ n: 0 });
  });

  const STRINGS = ['plain', '', 'NULL', ' lead', 'a,b', '{x}', 'say "hi"', 'back\\slash', 'line\nbreak', 'é ünï 😀', 'x'.repeat(5000)];
  const DOUBLES = [0, -0, 1, -1, 0.1, 1 / 3, -2.5e-308, 5e-324, Number.MAX_VALUE, 1e21, Math.PI, Number.NaN, Infinity, -Infinity];

  it('binary text[]: every string as bound, NULL elements, an empty array', async () => {
    const row = await sql.get<{ a: (string | null)[]; b: (string | null)[]; n: number }>('SELECT ?::text[] AS a, ?::text[] AS b, cardinality(?::text[]) AS n', [
      pgTexts(STRINGS),
      pgTexts(['a', null, '']),
      pgTexts([]),
    ]);
    expect(row).toEqual({ a: STRINGS, b: ['a', null, ''], n: 0 });
  });

  it('binary float8[]: each double bit for bit, -0 included, and NULL elements', async () => {
    // float8send's bytes, hex: exactly the IEEE 754 bits written.
    const rows = await sql.all<{ hex: string }>("SELECT encode(float8send(v), 'hex') AS hex FROM unnest(?::float8[]) WITH ORDINALITY AS u(v, i) ORDER BY i", [
      pgFloat8s(DOUBLES),
    ]);
    const bits = (x: number) => {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(x);
      return b.toString('hex');
    };
    expect(rows.map((r) => r.hex)).toEqual(DOUBLES.map(bits));
    expect(await sql.get('SELECT ?::float8[] AS a', [pgFloat8s([1.5, null])])).toEqual({ a: [1.5, null] });
  });

  it('binary int8[]: negatives, zero and the safe range; anything else refused before it is sent', async () => {
    const xs = [0, 1, -1, -3, 4_294_967_296, -4_294_967_297, 2 ** 53 - 1, -(2 ** 53 - 1)];
    const row = await sql.get<{ a: string }>('SELECT (?::int8[])::text AS a', [pgInt8s(xs)]);
    expect(row?.a).toBe(`{${xs.join(',')}}`);
    expect(() => pgInt8s([1.5])).toThrow(/safe integer/);
    expect(() => pgInt8s([2 ** 53])).toThrow(/safe integer/);
  });
});
