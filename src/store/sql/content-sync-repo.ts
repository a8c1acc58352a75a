import { canonicalJson } from '../../domain/canonical.js';
import type { ContentItem } from '../../domain/schemas.js';
import type { ContentCatalogChange, ContentSyncState } from '../content-sync-repo.js';
import type { Sql } from './sql.js';

interface Row {
  id: string;
  doc: string;
  missing_upstream: string | null;
}

/** The content catalog as a remote content delivery last listed it, and the sync state beside it (ContentSyncRepo over the async seam). */
export class SqlContentSyncRepo {
  constructor(private readonly sql: Sql) {}

  async state(): Promise<ContentSyncState | undefined> {
    const r = await this.sql.get<{ source_url: string; etag: string; synced_at: string }>('SELECT source_url, etag, synced_at FROM content_sync WHERE id = 1');
    return r ? { sourceUrl: r.source_url, etag: r.etag, syncedAt: r.synced_at } : undefined;
  }

  async saveState(s: ContentSyncState): Promise<void> {
    await this.sql.run(
      'INSERT INTO content_sync (id, source_url, etag, synced_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET source_url = excluded.source_url, etag = excluded.etag, synced_at = excluded.synced_at',
      [s.sourceUrl, s.etag, s.syncedAt],
    );
  }

  /** Items kept although upstream no longer lists them: id → since when (ISO). */
  async missingUpstream(): Promise<Map<string, string>> {
    const rows = await this.sql.all<{ id: string; missing_upstream: string }>(
      'SELECT id, missing_upstream FROM content_items WHERE missing_upstream IS NOT NULL ORDER BY id',
    );
    return new Map(rows.map((r) => [r.id, r.missing_upstream]));
  }

  /**
   * Makes content_items equal to upstream's list, except that items upstream dropped but `inUse` names are kept and
   * flagged (at `now`) instead of deleted. Run it inside the caller's transaction.
   */
  async replaceWith(items: ContentItem[], inUse: ReadonlySet<string>, now: string): Promise<ContentCatalogChange> {
    const current = new Map((await this.sql.all<Row>('SELECT id, doc, missing_upstream FROM content_items')).map((r) => [r.id, r]));
    const change: ContentCatalogChange = { added: [], removed: [], changed: [], missingUpstream: [], restored: [] };
    for (const item of items) {
      const held = current.get(item.id);
      const same = held !== undefined && canonicalJson(JSON.parse(held.doc)) === canonicalJson(item);
      if (same && held.missing_upstream === null) continue;
      await this.sql.run(
        'INSERT INTO content_items (id, type, doc, missing_upstream) VALUES (?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE SET type = excluded.type, doc = excluded.doc, missing_upstream = NULL',
        [item.id, item.type, JSON.stringify(item)],
      );
      if (!held) change.added.push(item.id);
      else if (!same) change.changed.push(item.id);
      else change.restored.push(item.id);
    }
    const listed = new Set(items.map((i) => i.id));
    for (const [id, held] of current) {
      if (listed.has(id)) continue;
      if (!inUse.has(id)) {
        await this.sql.run('DELETE FROM content_items WHERE id = ?', [id]);
        change.removed.push(id);
      } else if (held.missing_upstream === null) {
        await this.sql.run('UPDATE content_items SET missing_upstream = ? WHERE id = ?', [now, id]);
        change.missingUpstream.push(id);
      }
    }
    for (const list of Object.values(change)) list.sort();
    return change;
  }
}
