import type { Param } from '../sql/sql.js';

/**
 * A JS array bound as one PostgreSQL array parameter (node-postgres serialises arrays; cast it in the SQL:
 * `?::text[]`, `?::float8[]`). The seam's Param is scalar because SQLite binds no arrays: this is PostgreSQL only.
 */
export const pgArray = (xs: readonly (string | number | null)[]): Param => xs as unknown as Param;
