import { prepared, type Db } from '../store/db.js';
import { bumpRevision } from '../store/pg/revision.js';
import type { Sql } from '../store/sql/sql.js';
import type { Clock } from './clock.js';
import type { ContentItem } from '../domain/schemas.js';
import {
  contentEtag,
  type BackendState,
  type BackendWrite,
  type ContentCatalogRead,
  type ContentDelivery,
  type ContentState,
  type ContentWrite,
  type ExperimentBackend,
} from './contracts.js';

const FENCED = 'SELECT 1 AS fenced FROM system_applied WHERE system = ? AND op_id = ? AND step = ?';
const CLAIM = 'INSERT INTO system_applied (system, op_id, step, experiment_id, at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING';
const PUT_BACKEND =
  'INSERT INTO backend_allocations (experiment_id, surface_id, status, doc, updated_at) VALUES (?,?,?,?,?) ON CONFLICT (experiment_id) DO UPDATE SET surface_id=excluded.surface_id, status=excluded.status, doc=excluded.doc, updated_at=excluded.updated_at';
const PUT_CONTENT =
  'INSERT INTO content_overrides (experiment_id, surface_id, serving, doc, updated_at) VALUES (?,?,?,?,?) ON CONFLICT (experiment_id) DO UPDATE SET surface_id=excluded.surface_id, serving=excluded.serving, doc=excluded.doc, updated_at=excluded.updated_at';

/** Records (system, opId, step) once; false when it was applied before (a retry or a replay). */
function claim(db: Db, system: string, opId: string, step: string, experimentId: string, at: string): boolean {
  // A forward step that arrives after its operation was compensated here (it was slow past the caller's timeout) is fenced off.
  if (!step.startsWith('compensate.') && prepared(db, FENCED).get(system, opId, `compensate.${system}`)) return false;
  return prepared(db, CLAIM).run(system, opId, step, experimentId, at).changes === 1;
}

/** claim() in an async transaction (either engine). */
async function claimIn(tx: Sql, system: string, opId: string, step: string, experimentId: string, at: string): Promise<boolean> {
  if (!step.startsWith('compensate.') && (await tx.get(FENCED, [system, opId, `compensate.${system}`]))) return false;
  return (await tx.run(CLAIM, [system, opId, step, experimentId, at])).changes === 1;
}

const backendDoc = (w: BackendWrite) =>
  JSON.stringify({ key: w.key, buckets: w.buckets, allocationPercent: w.allocationPercent, variants: w.variants, targeting: w.targeting ?? {} });
const contentDoc = (w: ContentWrite, at: string) =>
  JSON.stringify({ variants: w.variants, shipped: w.shipped ?? null, shippedAt: w.shipped ? (w.shippedAt ?? at) : null });

/**
 * Where an embedded system keeps its state: this process's SQLite connection (synchronous reads and writes, so an
 * embedded saga can run every step in the caller's transaction), or a replica's pool on PostgreSQL (ADR 0020), where
 * only the async face exists and a write outside a saga bumps the configuration revision so every replica reloads.
 */
export type EmbeddedStore = Db | Sql;
const isSql = (s: EmbeddedStore): s is Sql => 'dialect' in s;

/** The synchronous connection, or a typed refusal: the synchronous face exists only in a single-file SQLite process. */
function syncDb(s: EmbeddedStore): Db {
  if (isSql(s)) throw new Error('the synchronous face of an embedded system exists only on SQLite: use get()/list() on PostgreSQL');
  return s;
}

/** A write outside a saga on PostgreSQL: claimed and put in one transaction that bumps the revision (NOTIFY at commit). */
async function putInTx(sql: Sql, put: (tx: Sql) => Promise<{ replayed: boolean }>): Promise<boolean> {
  return sql.tx(async (tx) => {
    const { replayed } = await put(tx);
    if (!replayed) await bumpRevision(tx);
    return replayed;
  });
}

/**
 * The experimentation backend in this process's store (EmbeddedStore). On SQLite its writes are synchronous so an
 * embedded saga can run every step in the caller's transaction; the async face is the interface.
 */
export class EmbeddedBackend implements ExperimentBackend {
  readonly kind = 'embedded' as const;
  /** Called after a write of its own lands (serving recompiles from this state); not for writes inside a caller's transaction. */
  onWrite?: () => void;
  /** The synchronous connection (SQLite only). */
  private get db(): Db {
    return syncDb(this.store);
  }
  constructor(
    private readonly store: EmbeddedStore,
    private readonly clock: Clock,
    /** Runs a synchronous write when no async transaction holds the connection (SqliteSql.exclusive); at once without one. */
    private readonly exclusive: <T>(fn: () => T) => Promise<T> = async (fn) => fn(),
  ) {}

  putSync(experimentId: string, w: BackendWrite): { state: BackendState; replayed: boolean } {
    const out = this.db.transaction(() => {
      const at = this.clock.now().toISOString();
      if (!claim(this.db, 'backend', w.opId, w.step, experimentId, at)) return { state: this.getSync(experimentId)!, replayed: true };
      prepared(this.db, PUT_BACKEND).run(experimentId, w.surfaceId, w.status, backendDoc(w), at);
      return { state: this.getSync(experimentId)!, replayed: false };
    })();
    if (!out.replayed && !this.db.inTransaction) this.onWrite?.(); // inside a caller's transaction, the caller announces the change once it is whole
    return out;
  }

  /** The write inside the caller's async transaction (an embedded saga's step, on either engine); the caller announces it. */
  async putIn(tx: Sql, experimentId: string, w: BackendWrite): Promise<{ replayed: boolean }> {
    const at = this.clock.now().toISOString();
    if (!(await claimIn(tx, 'backend', w.opId, w.step, experimentId, at))) return { replayed: true };
    await tx.run(PUT_BACKEND, [experimentId, w.surfaceId, w.status, backendDoc(w), at]);
    return { replayed: false };
  }

  getSync(experimentId: string): BackendState | null {
    const r = prepared(this.db, 'SELECT * FROM backend_allocations WHERE experiment_id = ?').get(experimentId) as Row | undefined;
    return r ? backendOf(r) : null;
  }

  listSync(): BackendState[] {
    return (prepared(this.db, 'SELECT * FROM backend_allocations ORDER BY experiment_id').all() as Row[]).map(backendOf);
  }

  /** Every allocation read through the async store, on either engine: what a replica's serving snapshot loads. */
  async listIn(sql: Sql): Promise<BackendState[]> {
    return (await sql.all<Row>('SELECT * FROM backend_allocations ORDER BY experiment_id')).map(backendOf);
  }

  async put(experimentId: string, w: BackendWrite): Promise<{ state: BackendState; replayed: boolean }> {
    const sql = this.store;
    if (!isSql(sql)) return this.exclusive(() => this.putSync(experimentId, w));
    const replayed = await putInTx(sql, (tx) => this.putIn(tx, experimentId, w));
    if (!replayed) this.onWrite?.();
    return { state: (await this.get(experimentId))!, replayed };
  }
  async get(experimentId: string): Promise<BackendState | null> {
    if (!isSql(this.store)) return this.getSync(experimentId);
    const r = await this.store.get<Row>('SELECT * FROM backend_allocations WHERE experiment_id = ?', [experimentId]);
    return r ? backendOf(r) : null;
  }
  async list(): Promise<BackendState[]> {
    return isSql(this.store) ? this.listIn(this.store) : this.listSync();
  }
}

/** Content delivery in this process's store (EmbeddedStore): which experiments' overrides each surface serves. */
export class EmbeddedContent implements ContentDelivery {
  readonly kind = 'embedded' as const;
  /** Called after a write of its own lands (serving recompiles from this state); not for writes inside a caller's transaction. */
  onWrite?: () => void;
  /** The synchronous connection (SQLite only). */
  private get db(): Db {
    return syncDb(this.store);
  }
  constructor(
    private readonly store: EmbeddedStore,
    private readonly clock: Clock,
    /** Runs a synchronous write when no async transaction holds the connection (SqliteSql.exclusive); at once without one. */
    private readonly exclusive: <T>(fn: () => T) => Promise<T> = async (fn) => fn(),
  ) {}

  putSync(experimentId: string, w: ContentWrite): { state: ContentState; replayed: boolean } {
    const out = this.db.transaction(() => {
      const at = this.clock.now().toISOString();
      if (!claim(this.db, 'content', w.opId, w.step, experimentId, at)) return { state: this.getSync(experimentId)!, replayed: true };
      prepared(this.db, PUT_CONTENT).run(experimentId, w.surfaceId, w.serving ? 1 : 0, contentDoc(w, at), at);
      return { state: this.getSync(experimentId)!, replayed: false };
    })();
    if (!out.replayed && !this.db.inTransaction) this.onWrite?.(); // inside a caller's transaction, the caller announces the change once it is whole
    return out;
  }

  /** The write inside the caller's async transaction (an embedded saga's step, on either engine); the caller announces it. */
  async putIn(tx: Sql, experimentId: string, w: ContentWrite): Promise<{ replayed: boolean }> {
    const at = this.clock.now().toISOString();
    if (!(await claimIn(tx, 'content', w.opId, w.step, experimentId, at))) return { replayed: true };
    await tx.run(PUT_CONTENT, [experimentId, w.surfaceId, w.serving ? 1 : 0, contentDoc(w, at), at]);
    return { replayed: false };
  }

  getSync(experimentId: string): ContentState | null {
    const r = prepared(this.db, 'SELECT * FROM content_overrides WHERE experiment_id = ?').get(experimentId) as ContentRow | undefined;
    return r ? contentOf(r) : null;
  }

  listSync(surfaceId?: string): ContentState[] {
    const rows = surfaceId
      ? (prepared(this.db, 'SELECT * FROM content_overrides WHERE surface_id = ? ORDER BY experiment_id').all(surfaceId) as ContentRow[])
      : (prepared(this.db, 'SELECT * FROM content_overrides ORDER BY experiment_id').all() as ContentRow[]);
    return rows.map(contentOf);
  }

  /** Every surface's overrides read through the async store, on either engine: what a replica's serving snapshot loads. */
  async listIn(sql: Sql): Promise<ContentState[]> {
    return (await sql.all<ContentRow>('SELECT * FROM content_overrides ORDER BY experiment_id')).map(contentOf);
  }

  /** The content items this process's catalog holds (what `serve --role content` delivers), with their ETag. */
  catalogNow(): { etag: string; items: ContentItem[] } {
    const items = (prepared(this.db, 'SELECT doc FROM content_items ORDER BY id').all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as ContentItem);
    return { etag: contentEtag(items), items };
  }

  catalogSync(etag?: string): ContentCatalogRead {
    const now = this.catalogNow();
    return etag === now.etag ? { notModified: true } : { notModified: false, ...now };
  }

  async put(experimentId: string, w: ContentWrite): Promise<{ state: ContentState; replayed: boolean }> {
    const sql = this.store;
    if (!isSql(sql)) return this.exclusive(() => this.putSync(experimentId, w));
    const replayed = await putInTx(sql, (tx) => this.putIn(tx, experimentId, w));
    if (!replayed) this.onWrite?.();
    return { state: (await this.get(experimentId))!, replayed };
  }
  async get(experimentId: string): Promise<ContentState | null> {
    if (!isSql(this.store)) return this.getSync(experimentId);
    const r = await this.store.get<ContentRow>('SELECT * FROM content_overrides WHERE experiment_id = ?', [experimentId]);
    return r ? contentOf(r) : null;
  }
  async list(surfaceId?: string): Promise<ContentState[]> {
    if (!isSql(this.store)) return this.listSync(surfaceId);
    return surfaceId
      ? (await this.store.all<ContentRow>('SELECT * FROM content_overrides WHERE surface_id = ? ORDER BY experiment_id', [surfaceId])).map(contentOf)
      : this.listIn(this.store);
  }
  /** The content items this store's catalog holds (what `serve --role content` delivers), with their ETag; either engine. */
  async catalogRead(): Promise<{ etag: string; items: ContentItem[] }> {
    if (!isSql(this.store)) return this.catalogNow();
    const items = (await this.store.all<{ doc: string }>('SELECT doc FROM content_items ORDER BY id')).map((r) => JSON.parse(r.doc) as ContentItem);
    return { etag: contentEtag(items), items };
  }
  async catalog(etag?: string): Promise<ContentCatalogRead> {
    const now = await this.catalogRead();
    return etag === now.etag ? { notModified: true } : { notModified: false, ...now };
  }
}

interface Row {
  experiment_id: string;
  surface_id: string;
  status: BackendState['status'];
  doc: string;
  updated_at: string;
}

interface ContentRow {
  experiment_id: string;
  surface_id: string;
  serving: number;
  doc: string;
  updated_at: string;
}

const backendOf = (r: Row): BackendState => {
  const doc = JSON.parse(r.doc) as Pick<BackendState, 'key' | 'buckets' | 'allocationPercent' | 'variants'> & { targeting?: BackendState['targeting'] };
  return { experimentId: r.experiment_id, surfaceId: r.surface_id, status: r.status, ...doc, targeting: doc.targeting ?? {}, updatedAt: r.updated_at };
};
const contentOf = (r: ContentRow): ContentState => {
  const doc = JSON.parse(r.doc) as Pick<ContentState, 'variants'> & Partial<Pick<ContentState, 'shipped' | 'shippedAt'>>;
  return {
    experimentId: r.experiment_id,
    surfaceId: r.surface_id,
    serving: Number(r.serving) === 1,
    variants: doc.variants,
    shipped: doc.shipped ?? null,
    shippedAt: doc.shippedAt ?? null,
    updatedAt: r.updated_at,
  };
};
