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
