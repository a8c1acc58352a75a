import { createContainer, type Container, type ContainerOptions } from '../../src/container.js';
import { testContainer } from './app.js';
import type { Engine } from './sql-engines.js';

/** A container on one engine, and what ends it. */
export interface EngineApp {
  app: Container;
  /** Closes the container, then (PostgreSQL) drops its database; idempotent. */
  close(): Promise<void>;
}

/**
 * The suite's container on `engine` (issue 17 item 3): SQLite is testContainer() (`:memory:`, demo catalog); PostgreSQL
 * is a gateway replica (src/root/postgres-root.ts) on a fresh database of the run's cluster, which the replica migrates
 * and seeds as a new deployment's first replica does.
 */
export async function engineContainer(engine: Engine, opts: Partial<ContainerOptions> & { databaseUrl?: undefined } = {}): Promise<EngineApp> {
  if (engine.name === 'sqlite') {
    const app = await testContainer(opts);
    return { app, close: once(() => app.close()) };
  }
  const db = await engine.open({ migrated: false });
  try {
    const app = await createContainer({ dbFile: ':memory:', seedDemo: true, ...opts, databaseUrl: db.url });
    return {
      app,
      close: once(async () => {
        await app.close();
        await db.close();
      }),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/**
 * Row counts of every table of the container's database, through the engine-free `deps.sql`: proves a refused request
 * wrote nothing, on either engine (tableCounts in app.ts is the SQLite one, synchronous).
 */
export async function tableCountsOf(app: Container): Promise<Record<string, number>> {
  const sql = app.deps.sql;
  const names =
    sql.dialect === 'sqlite'
      ? await sql.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      : await sql.all<{ name: string }>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
        );
  const counts: Record<string, number> = {};
  for (const { name } of names) {
    const row = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM "${name}"`);
    counts[name] = Number(row?.n ?? 0);
  }
  // A listing that found no tables would make every "nothing changed" comparison pass: fail instead.
  if (!('experiments' in counts && 'event_log' in counts)) throw new Error(`tableCountsOf: the ${sql.dialect} schema was not listed (${Object.keys(counts)})`);
  return counts;
}
