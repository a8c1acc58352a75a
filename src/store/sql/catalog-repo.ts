import type { ContentItem, Metric, Surface } from '../../domain/schemas.js';
import type { CatalogVersion } from '../catalog-repo.js';
import type { Param, Sql } from './sql.js';

type Kind = 'surfaces' | 'content_items' | 'metrics';

/** Surfaces, content items and metric definitions, stored as JSON documents keyed by id (CatalogRepo over the async seam). */
export class SqlCatalogRepo {
  constructor(private readonly sql: Sql) {}

  async isEmpty(): Promise<boolean> {
    return !(await this.sql.get('SELECT 1 AS one FROM surfaces LIMIT 1'));
  }

  async upsertSurface(s: Surface): Promise<void> {
    await this.sql.run('INSERT INTO surfaces (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc', [s.id, JSON.stringify(s)]);
  }
  async upsertContent(c: ContentItem): Promise<void> {
    await this.sql.run('INSERT INTO content_items (id, type, doc) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, type = excluded.type', [
      c.id,
      c.type,
      JSON.stringify(c),
    ]);
  }
  async upsertMetric(m: Metric): Promise<void> {
    await this.sql.run('INSERT INTO metrics (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc', [m.id, JSON.stringify(m)]);
  }

  surfaces(): Promise<Surface[]> {
    return this.docs('SELECT doc FROM surfaces ORDER BY id');
  }
  surface(id: string): Promise<Surface | undefined> {
    return this.doc('SELECT doc FROM surfaces WHERE id = ?', id);
  }
  contentItems(): Promise<ContentItem[]> {
    return this.docs('SELECT doc FROM content_items ORDER BY id');
  }
  contentItem(id: string): Promise<ContentItem | undefined> {
    return this.doc('SELECT doc FROM content_items WHERE id = ?', id);
  }
  metrics(): Promise<Metric[]> {
    return this.docs('SELECT doc FROM metrics ORDER BY id');
  }
  metric(id: string): Promise<Metric | undefined> {
    return this.doc('SELECT doc FROM metrics WHERE id = ?', id);
  }

  /** Removes one entity (catalog apply checks first that nothing uses it). */
  async remove(kind: Kind, id: string): Promise<void> {
    await this.sql.run(`DELETE FROM ${kind} WHERE id = ?`, [id]);
  }

  /** The newest applied catalog version (null: none yet). */
  async version(): Promise<CatalogVersion | null> {
    const r = await this.sql.get<{ version: number; applied_at: string; actor: string; digest: string; summary: string }>(
      'SELECT version, applied_at, actor, digest, summary FROM catalog_versions ORDER BY version DESC LIMIT 1',
    );
    return r ? { version: r.version, appliedAt: r.applied_at, actor: r.actor, digest: r.digest, summary: JSON.parse(r.summary) as unknown } : null;
  }

  /**
   * Records an applied change as the next version; returns it. Two appliers racing past the read of the newest
   * version both pick the same number: the second insert is a UniqueViolation (CONFLICT), never a silent overwrite.
   */
  async addVersion(v: Omit<CatalogVersion, 'version'>): Promise<number> {
    const next = ((await this.version())?.version ?? 0) + 1;
    await this.sql.run('INSERT INTO catalog_versions (version, applied_at, actor, digest, summary) VALUES (?, ?, ?, ?, ?)', [
      next,
      v.appliedAt,
      v.actor,
      v.digest,
      JSON.stringify(v.summary),
    ]);
    return next;
  }

  /** Ids only: what "did you mean" compares an unknown id against. */
  async ids(kind: Kind): Promise<string[]> {
    return (await this.sql.all<{ id: string }>(`SELECT id FROM ${kind} ORDER BY id`)).map((r) => r.id);
  }

  private async docs<T>(q: string): Promise<T[]> {
    return (await this.sql.all<{ doc: string }>(q)).map((r) => JSON.parse(r.doc) as T);
  }
  private async doc<T>(q: string, id: Param): Promise<T | undefined> {
    const row = await this.sql.get<{ doc: string }>(q, [id]);
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }
}
