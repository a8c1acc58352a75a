import { describe, it, expect, afterEach } from 'vitest';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, dbFileIn, type SqliteContainer } from '../../src/container.js';
import { migrate, openDb } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { EventLog, type LoggedEntry } from '../../src/store/event-log.js';
import { DEMO_CONTENT, DEMO_METRICS, DEMO_SURFACES } from '../helpers/demo-catalog.js';
import type { WriteContext } from '../../src/app/context.js';
import { ExperimentConfigSchema } from '../../src/domain/schemas.js';

const ctx: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };

const config = {
  key: 'persisted',
  name: 'Persisted',
  hypothesis: 'Survives a restart.',
  owner: 'home-team',
  surfaceId: 'home',
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focus' }] },
  ],
  successMetrics: ['stream-rate'],
  guardrails: [{ metricId: 'crash-rate' }],
};

const open: SqliteContainer[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function container(dbFile: string): Promise<SqliteContainer> {
  const c = await createContainer({ dbFile });
  open.push(c);
  return c;
}

function tempDbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealab-store-'));
  dirs.push(dir);
  return dbFileIn(path.join(dir, 'data'));
}

const count = (c: SqliteContainer, table: string) => (c.deps.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('openDb', () => {
  it('applies every migration once and records it in schema_migrations', async () => {
    const app = await container(':memory:');
    const rows = app.deps.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    // Running the migrator again is a no-op.
    expect(migrate(app.deps.db)).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    expect(count(app, 'schema_migrations')).toBe(MIGRATIONS.length);
  });

  it('seeds the demo catalog into a fresh database', async () => {
    const app = await container(':memory:');
    expect(count(app, 'surfaces')).toBe(DEMO_SURFACES.length);
    expect(count(app, 'content_items')).toBe(DEMO_CONTENT.length);
    expect(count(app, 'metrics')).toBe(DEMO_METRICS.length);
    expect((await app.catalog.surfaces()).map((s) => s.id)).toEqual(['home', 'now-playing', 'search']);
    expect(await app.catalog.surface('home')).toMatchObject({ freeBuckets: 10_000, freePercent: 100, runningExperiments: [] });
  });

  it('turns foreign keys on: an experiment on a surface that does not exist cannot be stored', async () => {
    const app = await container(':memory:');
    expect(app.deps.db.pragma('foreign_keys', { simple: true })).toBe(1);
    const orphan = ExperimentConfigSchema.parse({ ...config, surfaceId: 'nowhere' });
    await expect(app.deps.store.experiments.insert('exp_x', orphan, new Date().toISOString())).rejects.toThrow(/FOREIGN KEY/);
    expect(count(app, 'experiments')).toBe(0);
  });

  it('uses WAL for a file database, creating its folder', async () => {
    const file = tempDbFile();
    const app = await container(file);
    expect(fs.existsSync(file)).toBe(true);
    expect(app.deps.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(app.deps.db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('a reopened file keeps its data and is neither re-migrated nor re-seeded', async () => {
    const file = tempDbFile();
    const first = await container(file);
    const { experiment } = await first.experiments.create({ config }, ctx);
    const migratedAt = first.deps.db.prepare('SELECT applied_at FROM schema_migrations').all();
    // A catalog edit a re-seed would undo or duplicate.
    first.deps.db.prepare("DELETE FROM content_items WHERE id = 'bn-concerts'").run();
    first.close();
    open.splice(open.indexOf(first), 1);

    const second = await container(file);
    expect(await second.experiments.get(experiment.id)).toEqual(experiment);
    expect(await second.deps.store.audit.forEntity('experiment', experiment.id)).toHaveLength(1);
    expect(second.deps.db.prepare('SELECT applied_at FROM schema_migrations').all()).toEqual(migratedAt);
    expect(await second.deps.store.catalog.contentItem('bn-concerts')).toBeUndefined();
    expect(count(second, 'content_items')).toBe(DEMO_CONTENT.length - 1);
    expect(count(second, 'surfaces')).toBe(DEMO_SURFACES.length);
  });

  it('a database opened without the demo seed stays empty', async () => {
    const app = await createContainer({ dbFile: ':memory:', seedDemo: false });
    open.push(app);
    expect(await app.catalog.surfaces()).toEqual([]);
    expect(count(app, 'schema_migrations')).toBe(MIGRATIONS.length);
  });

  it('openDb alone migrates a file to the latest version', () => {
    const file = tempDbFile();
    const db = openDb(file);
    try {
      expect((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    } finally {
      db.close();
    }
  });
});

describe('migrations numbered ahead (a gap)', () => {
  it('runs a migration missing below the highest applied one, once, and leaves the others alone', async () => {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(':memory:');
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    // A file migrated on a branch that had 16 before 15 was merged in: every migration but 14 applied.
    for (const m of MIGRATIONS.filter((x) => x.version !== 14)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 'then');
    }
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'operation_steps'").get()).toBeUndefined();
    migrate(db);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'operation_steps'").get()).toEqual({ name: 'operation_steps' });
    const applied = db.prepare("SELECT version FROM schema_migrations WHERE applied_at <> 'then'").all();
    expect(applied).toEqual([{ version: 14 }]);
    migrate(db); // and only once
    expect((db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length);
    db.close();
  });

  it('keeps the list in ascending order without duplicates', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  });
});

describe('migration 12: on-behalf-of labels', () => {
  it('moves labels that older rows kept inside the confirmation JSON into their own column', async () => {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(':memory:');
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 11)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 'then');
    }
    const insert = db.prepare(
      "INSERT INTO audit_log (at, actor, interface, operation, request_id, rationale, confirmation, entity_type, entity_id, before, after) VALUES ('t', 'rest:local:anonymous', 'rest', 'op', 'r', NULL, ?, 'experiment', ?, NULL, NULL)",
    );
    insert.run(JSON.stringify({ onBehalfOf: 'dana' }), 'label-only');
    insert.run(JSON.stringify({ action: 'start x', via: 'argument', reason: 'ok', onBehalfOf: 'lee' }), 'both');
    insert.run(JSON.stringify({ action: 'stop x', via: 'elicitation', reason: 'ok' }), 'confirmation-only');
    migrate(db);
    const rows = db.prepare('SELECT entity_id AS id, confirmation, on_behalf_of AS label FROM audit_log ORDER BY rowid').all();
    expect(rows).toEqual([
      { id: 'label-only', confirmation: null, label: 'dana' },
      { id: 'both', confirmation: JSON.stringify({ action: 'start x', via: 'argument', reason: 'ok' }), label: 'lee' },
      { id: 'confirmation-only', confirmation: JSON.stringify({ action: 'stop x', via: 'elicitation', reason: 'ok' }), label: null },
    ]);
    db.close();
  });
});

describe('ExperimentRepo', () => {
  it('applies an update only at the expected version (optimistic concurrency)', async () => {
    const app = await container(':memory:');
    const { experiment } = await app.experiments.create({ config }, ctx);
    const now = new Date().toISOString();
    const v2 = await app.deps.store.experiments.update(experiment.id, 1, { status: 'running', buckets: [[0, 10]] }, now);
    expect(v2).toMatchObject({ version: 2, status: 'running', buckets: [[0, 10]] });
    await expect(app.deps.store.experiments.update(experiment.id, 1, { status: 'paused' }, now)).rejects.toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(await app.deps.store.experiments.get(experiment.id)).toEqual(v2);
    await expect(app.deps.store.experiments.update('exp_missing', 1, {}, now)).rejects.toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('lists by surface and status', async () => {
    const app = await container(':memory:');
    const a = (await app.experiments.create({ config }, ctx)).experiment;
    const b = (
      await app.experiments.create(
        {
          config: {
            ...config,
            key: 'on-search',
            surfaceId: 'search',
            variants: [config.variants[0], { key: 'treatment', weight: 50, overrides: [{ slotId: 'browse-1', contentId: 'sh-focus' }] }],
          },
        },
        ctx,
      )
    ).experiment;
    await app.deps.store.experiments.update(b.id, 1, { status: 'running' }, new Date().toISOString());
    expect((await app.deps.store.experiments.list({ surfaceId: 'home' })).map((e) => e.id)).toEqual([a.id]);
    expect((await app.deps.store.experiments.list({ status: ['running', 'paused'] })).map((e) => e.id)).toEqual([b.id]);
    expect(
      app.deps.experiments
        .list()
        .map((e) => e.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
  });
});

describe('EventLog', () => {
  it('appends an event id once and counts the backlog past the fold watermark', async () => {
    const app = await container(':memory:');
    const log = app.deps.events.log;
    const now = new Date().toISOString();
    const entry = (key: string) => ({ key, type: 'metric' as const, unitId: 'u1', ref: 'stream-rate', variant: null, value: 1, props: null, ts: now });
    expect(log.append(entry('m:e1'), now)).toBe(true);
    expect(log.append(entry('m:e1'), now)).toBe(false);
    expect(log.append(entry('m:e2'), now)).toBe(true);
    expect(log.backlog()).toEqual({ pending: 2, oldestReceivedAt: now });
  });

  it('the fold reads committed appends from memory and the gaps other connections leave from the table, the same entries either way', () => {
    const file = tempDbFile();
    const mine = openDb(file);
    const other = openDb(file); // as the served-exposure writer's thread or another process appends
    try {
      const log = new EventLog(mine);
      const bounded = new EventLog(mine, 4); // remembers at most 4 entries: the oldest are forgotten
      const theirs = new EventLog(other);
      const table = new EventLog(mine, 0); // remembers nothing: every read comes from the table
      const now = new Date().toISOString();
      const entry = (key: string, unitId: string) => ({
        key,
        type: 'metric' as const,
        unitId,
        ref: 'stream-rate',
        variant: null,
        value: 1,
        props: null,
        ts: now,
      });
      const appendMine = (...keys: string[]) => {
        const appended: LoggedEntry[] = [];
        mine.transaction(() => keys.forEach((k, i) => log.append(entry(k, `u${i}`), now, appended)))();
        log.remember(appended);
        bounded.remember(appended);
      };
      appendMine('m:a1', 'm:a2', 'm:a3');
      theirs.append(entry('s:b1', 'u9'), now);
      theirs.append(entry('s:b2', 'u8'), now);
      appendMine('m:a4', 'm:a1', 'm:a5'); // m:a1 is a duplicate: not appended, not remembered
      // A transaction that rolls back is never remembered (the caller only remembers what committed).
      const lost: LoggedEntry[] = [];
      expect(() =>
        mine.transaction(() => {
          log.append(entry('m:gone', 'u1'), now, lost);
          throw new Error('rolled back');
        })(),
      ).toThrow('rolled back');
      expect(lost).toHaveLength(1);
      appendMine('m:a6', 'm:a7');
      const turns = (l: EventLog) => {
        const reads: string[][] = [];
        for (let at = 0, turn = l.after(at, 100); turn.length; at = turn[turn.length - 1].seq, turn = l.after(at, 100)) {
          expect(turn).toEqual(table.after(at, turn.length)); // what memory gave is exactly the table's rows
          reads.push(turn.map((e) => e.key));
        }
        return reads;
      };
      // In turns: memory up to the first gap, the table up to the next remembered entry, memory again.
      expect(turns(log)).toEqual([
        ['m:a1', 'm:a2', 'm:a3'],
        ['s:b1', 's:b2'],
        ['m:a4', 'm:a5', 'm:a6', 'm:a7'],
      ]);
      // Past the bound, what was forgotten comes from the table.
      expect(turns(bounded)).toEqual([
        ['m:a1', 'm:a2', 'm:a3', 's:b1', 's:b2'],
        ['m:a4', 'm:a5', 'm:a6', 'm:a7'],
      ]);
      expect(turns(table)).toEqual([['m:a1', 'm:a2', 'm:a3', 's:b1', 's:b2', 'm:a4', 'm:a5', 'm:a6', 'm:a7']]);
      // Read to the end, nothing stays held in memory.
      expect(log.held).toBe(0);
      expect(bounded.held).toBe(0);
      // A limit cuts a memory read like a table read.
      // A limit cuts a read from memory as it cuts one from the table.
      const again = new EventLog(mine);
      again.remember(table.after(0, 100));
      expect(again.after(0, 2).map((e) => e.key)).toEqual(['m:a1', 'm:a2']);
      expect(again.after(2, 100)).toEqual(table.after(2, 100));
    } finally {
      mine.close();
      other.close();
    }
  });

  it('moves the entries a database kept before its log had a file of its own, seqs and audit rows kept', async () => {
    const file = tempDbFile();
    const before = openDb(file);
    const now = new Date().toISOString();
    const insert = before.prepare(
      "INSERT INTO event_log (seq, id, type, unit_id, ref, value, ts, received_at) VALUES (?, ?, 'metric', 'u1', 'stream-rate', 1, ?, ?)",
    );
    insert.run(7, 'm:old-1', now, now);
    insert.run(9, 'm:old-2', now, now);
    before.prepare('UPDATE fold_state SET folded_seq = 7').run();
    before
      .prepare(
        "INSERT INTO audit_log (at, actor, interface, operation, request_id, entity_type, entity_id, after) VALUES (?, 'svc', 'rest', 'ingest', 'r0', 'event-batch', 'r0', '{\"accepted\":2}')",
      )
      .run(now);
    before.close();
    const app = await container(file);
    expect(fs.existsSync(`${file}-events`)).toBe(true);
    expect((app.deps.db.prepare('SELECT COUNT(*) AS n FROM event_log').get() as { n: number }).n).toBe(0);
    expect(app.deps.db.prepare("SELECT 1 FROM audit_log WHERE entity_type = 'event-batch'").get()).toBeUndefined();
    expect(app.deps.events.log.batchAudit('r0')).toMatchObject([{ actor: 'svc', after: { accepted: 2 } }]);
    // The watermark still points at the same entry: one pending (seq 9), the next append follows it.
    expect(app.deps.events.log.backlog().pending).toBe(2);
    const r = await app.events.ingest({
      events: [
        { id: 'old-2', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1, ts: now },
        { id: 'new-1', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1, ts: now },
      ],
    });
    expect(r).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(app.deps.events.log.lastSeq()).toBe(10);
  });

  it('refuses a log file behind the database’s watermark, saying which files to restore together', async () => {
    const file = tempDbFile();
    const app = await container(file);
    const ts = new Date().toISOString();
    await app.events.ingest({ events: [{ id: 'a', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1, ts }] });
    app.fold.catchUp();
    app.close();
    for (const f of [`${file}-events`, `${file}-events-wal`, `${file}-events-shm`]) fs.rmSync(f, { force: true });
    await expect(container(file)).rejects.toThrow(/folded up to 1: the log file is missing or from an older backup/);
  });

  it('migration 18 copies the ids stored before the log as folded, so a retried batch stays a duplicate', async () => {
    const file = tempDbFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version < 18)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?,?,?)').run(m.version, m.name, 'then');
    }
    const ts = '2026-03-01T00:00:00.000Z';
    db.prepare("INSERT INTO metric_events VALUES ('old-m', 'stream-rate', 'u1', 1, ?)").run(ts);
    db.prepare("INSERT INTO product_events VALUES ('old-e', 'play', 'u1', 1, NULL, ?)").run(ts);
    db.close();
    const app = await container(file);
    expect(app.deps.events.log.backlog().pending).toBe(0);
    const r = await app.events.ingest({
      events: [
        { id: 'old-m', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1, ts },
        { id: 'old-e', type: 'event', name: 'play', unitId: 'u1', ts },
        { id: 'new-m', type: 'metric', unitId: 'u1', metricId: 'stream-rate', value: 1, ts },
      ],
    });
    expect(r).toMatchObject({ accepted: 1, duplicates: 2 });
    expect(app.deps.events.log.backlog().pending).toBe(1);
  });

  it('migration 19 carries the stored metric and product events into the tables keyed by unit, and they still count', async () => {
    const file = tempDbFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 18)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?,?,?)').run(m.version, m.name, 'then');
    }
    const ts = '2026-03-01T00:00:00.000Z';
    db.prepare("INSERT INTO metric_events VALUES ('m1', 'stream-rate', 'u2', 1, ?)").run(ts);
    db.prepare("INSERT INTO metric_events VALUES ('m2', 'stream-rate', 'u1', 3, ?)").run(ts);
    db.prepare(`INSERT INTO product_events VALUES ('e1', 'play', 'u1', 2, '{"platform":"ios"}', ?)`).run(ts);
    db.close();
    const app = await container(file);
    const d = app.deps.db;
    expect(d.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: MIGRATIONS.at(-1)!.version });
    expect(d.prepare('SELECT event_id, metric_id, unit_id, value, ts FROM metric_events ORDER BY event_id').all()).toEqual([
      { event_id: 'm1', metric_id: 'stream-rate', unit_id: 'u2', value: 1, ts },
      { event_id: 'm2', metric_id: 'stream-rate', unit_id: 'u1', value: 3, ts },
    ]);
    expect(d.prepare('SELECT * FROM product_events').all()).toEqual([{ id: 'e1', name: 'play', unit_id: 'u1', value: 2, props: '{"platform":"ios"}', ts }]);
    // Keyed by unit first: the fold's per-unit reads use the table's own key, no separate index is left.
    expect(d.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('metric_events', 'product_events')").all()).toEqual([]);
    expect(d.prepare("SELECT unit_id FROM metric_events WHERE unit_id = 'u1' AND metric_id = 'stream-rate'").all()).toEqual([{ unit_id: 'u1' }]);
    // A unit's exposures (read for every folded event) come from the index alone.
    const plan = d.prepare("EXPLAIN QUERY PLAN SELECT experiment_id, variant, first_exposed_at FROM exposures WHERE unit_id = 'u1'").all() as {
      detail: string;
    }[];
    expect(plan.map((r) => r.detail).join(' ')).toContain('COVERING INDEX exposures_unit');
    // A new event after the migration is acknowledged and deduplicated by the log, then folded into the new table.
    const m3 = { id: 'm3', type: 'metric' as const, unitId: 'u1', metricId: 'stream-rate', value: 1, ts };
    expect(await app.events.ingest({ events: [m3] })).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await app.events.ingest({ events: [m3] })).toMatchObject({ accepted: 0, duplicates: 1 });
    app.fold.catchUp();
    expect(d.prepare("SELECT event_id FROM metric_events WHERE unit_id = 'u1' ORDER BY event_id").all()).toEqual([{ event_id: 'm2' }, { event_id: 'm3' }]);
  });
});
