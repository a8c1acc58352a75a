import { describe, expect, it } from 'vitest';
import { toPgPlaceholders } from '../../src/store/sql/sql.js';

describe('toPgPlaceholders', () => {
  it('numbers ? in order', () => {
    expect(toPgPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)')).toBe('SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)');
  });

  it('leaves ? inside string literals, quoted identifiers and comments', () => {
    expect(toPgPlaceholders(`SELECT 'it''s ?', "odd?col" FROM t -- why?\nWHERE a = ? /* or ? */ AND b = ?`)).toBe(
      `SELECT 'it''s ?', "odd?col" FROM t -- why?\nWHERE a = $1 /* or ? */ AND b = $2`,
    );
  });

  it('leaves a query without placeholders as it is', () => {
    expect(toPgPlaceholders("UPDATE t SET n = n + 1 WHERE name = 'x'")).toBe("UPDATE t SET n = n + 1 WHERE name = 'x'");
  });
});
