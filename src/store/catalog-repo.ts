import { prepared, type Db } from './db.js';
import type { ContentItem, Metric, Surface } from '../domain/schemas.js';

/** One applied catalog change (migration 15). */
export interface CatalogVersion {
  version: number;
  appliedAt: string;
  actor: string;
  digest: string;
  summary: unknown;
}

/** Surfaces, content items and metric definitions, stored as JSON documents keyed by id. */
export class CatalogRepo {
  constructor(private readonly db: Db) {}

  isEmpty(): boolean {
    return !prepared(this.db, 'SELECT 1 FROM surfaces LIMIT 1').get();
  }

  upsertSurface(s: Surface): void {
    prepared(this.db, 'INSERT INTO surfaces (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc').run(s.id, JSON.stringify(s));
  }
  upsertContent(c: ContentItem): void {
    prepared(this.db, 'INSERT INTO content_items (id, type, doc) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, type = excluded.type').run(
      c.id,
      c.type,
      JSON.stringify(c),
    );
  }
  upsertMetric(m: Metric): void {
    prepared(this.db, 'INSERT INTO metrics (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc').run(m.id, JSON.stringify(m));
  }

  surfaces(): Surface[] {
    return this.docs('SELECT doc FROM surfaces ORDER BY id');
  }
  surface(id: string): Surface | undefined {
    return this.doc('SELECT doc FROM surfaces WHERE id = ?', id);
  }
  contentItems(): ContentItem[] {
    return this.docs('SELECT doc FROM content_items ORDER BY id');
  }
  contentItem(id: string): ContentItem | undefined {
    return this.doc('SELECT doc FROM content_items WHERE id = ?', id);
  }
  metrics(): Metric[] {
    return this.docs('SELECT doc FROM metrics ORDER BY id');
  }
  metric(id: string): Metric | undefined {
    return this.doc('SELECT doc FROM metrics WHERE id = ?', id);
  }

  /** Removes one entity (catalog apply checks first that nothing uses it). */
  remove(kind: 'surfaces' | 'content_items' | 'metrics', id: string): void {
    prepared(this.db, `DELETE FROM ${kind} WHERE id = ?`).run(id);
  }

  /** The newest applied catalog version (0: none yet). */
  version(): CatalogVersion | null {
    const r = prepared(this.db, 'SELECT version, applied_at, actor, digest, summary FROM catalog_versions ORDER BY version DESC LIMIT 1').get() as
      | { version: number; applied_at: string; actor: string; digest: string; summary: string }
      | undefined;
    return r ? { version: r.version, appliedAt: r.applied_at, actor: r.actor, digest: r.digest, summary: JSON.parse(r.summary) as unknown } : null;
  }

  /** Records an applied change as the next version; returns it. */
  addVersion(v: Omit<CatalogVersion, 'version'>): number {
    const next = (this.version()?.version ?? 0) + 1;
    prepared(this.db, 'INSERT INTO catalog_versions (version, applied_at, actor, digest, summary) VALUES (?, ?, ?, ?, ?)').run(
      next,
      v.appliedAt,
      v.actor,
      v.digest,
      JSON.stringify(v.summary),
    );
    return next;
  }

  /** Ids only: what "did you mean" compares an unknown id against. */
  ids(kind: 'surfaces' | 'content_items' | 'metrics'): string[] {
    return (prepared(this.db, `SELECT id FROM ${kind} ORDER BY id`).all() as { id: string }[]).map((r) => r.id);
  }

  private docs<T>(sql: string): T[] {
    return (prepared(this.db, sql).all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
  }
  private doc<T>(sql: string, id: string): T | undefined {
    const row = prepared(this.db, sql).get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }
}
