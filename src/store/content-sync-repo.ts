import { canonicalJson } from '../domain/canonical.js';
import type { ContentItem } from '../domain/schemas.js';
import { prepared, type Db } from './db.js';

/** Where the content catalog was last synced from, its ETag, and when upstream last confirmed it (ISO). */
export interface ContentSyncState {
  sourceUrl: string;
  etag: string;
  syncedAt: string;
}

/** What one sync did to the content catalog, by item id. */
export interface ContentCatalogChange {
  added: string[];
  removed: string[];
  changed: string[];
  /** Gone upstream but used by a draft, running or paused experiment or a slot default: kept, flagged missing upstream. */
  missingUpstream: string[];
  /** Flagged before, listed upstream again. */
  restored: string[];
}

export const isEmptyChange = (c: ContentCatalogChange) =>
  !c.added.length && !c.removed.length && !c.changed.length && !c.missingUpstream.length && !c.restored.length;

interface Row {
  id: string;
  doc: string;
  missing_upstream: string | null;
}

/**
 * The content catalog as a remote content delivery last listed it (content_items), and the sync
 * state beside it (content_sync, one row): what a restarted gateway validates against when the
 * remote is down, and the ETag it sends back.
 */
export class ContentSyncRepo {
  constructor(private readonly db: Db) {}

  state(): ContentSyncState | undefined {
    const r = prepared(this.db, 'SELECT source_url, etag, synced_at FROM content_sync WHERE id = 1').get() as
      | { source_url: string; etag: string; synced_at: string }
      | undefined;
    return r ? { sourceUrl: r.source_url, etag: r.etag, syncedAt: r.synced_at } : undefined;
  }

  saveState(s: ContentSyncState): void {
    prepared(
      this.db,
      'INSERT INTO content_sync (id, source_url, etag, synced_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET source_url = excluded.source_url, etag = excluded.etag, synced_at = excluded.synced_at',
    ).run(s.sourceUrl, s.etag, s.syncedAt);
  }

  /** Items kept although upstream no longer lists them: id → since when (ISO). */
  missingUpstream(): Map<string, string> {
    const rows = prepared(this.db, 'SELECT id, missing_upstream FROM content_items WHERE missing_upstream IS NOT NULL ORDER BY id').all() as {
      id: string;
      missing_upstream: string;
    }[];
    return new Map(rows.map((r) => [r.id, r.missing_upstream]));
  }

  /**
   * Makes content_items equal to upstream's list, except that items upstream dropped but `inUse` names
   * are kept and flagged (at `now`) instead of deleted. Run it inside the caller's transaction.
   */
  replaceWith(items: ContentItem[], inUse: ReadonlySet<string>, now: string): ContentCatalogChange {
    const current = new Map((prepared(this.db, 'SELECT id, doc, missing_upstream FROM content_items').all() as Row[]).map((r) => [r.id, r]));
    const change: ContentCatalogChange = { added: [], removed: [], changed: [], missingUpstream: [], restored: [] };
    const upsert = prepared(
      this.db,
      'INSERT INTO content_items (id, type, doc, missing_upstream) VALUES (?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET type = excluded.type, doc = excluded.doc, missing_upstream = NULL',
    );
    for (const item of items) {
      const held = current.get(item.id);
      const same = held !== undefined && canonicalJson(JSON.parse(held.doc)) === canonicalJson(item);
      if (same && held.missing_upstream === null) continue;
      upsert.run(item.id, item.type, JSON.stringify(item));
      if (!held) change.added.push(item.id);
      else if (!same) change.changed.push(item.id);
      else change.restored.push(item.id);
    }
    const listed = new Set(items.map((i) => i.id));
    for (const [id, held] of current) {
      if (listed.has(id)) continue;
      if (!inUse.has(id)) {
        prepared(this.db, 'DELETE FROM content_items WHERE id = ?').run(id);
        change.removed.push(id);
      } else if (held.missing_upstream === null) {
        prepared(this.db, 'UPDATE content_items SET missing_upstream = ? WHERE id = ?').run(now, id);
        change.missingUpstream.push(id);
      }
    }
    for (const list of Object.values(change)) list.sort();
    return change;
  }
}
