import { z } from 'zod';
import { ContentItemSchema, MetricSchema, SurfaceSchema, type ContentItem, type Metric, type Surface } from '../../domain/schemas.js';

/**
 * One catalog file, or a catalog given to a tool: any of the three lists. A directory of them is the
 * complete desired catalog (issue 14); the entity schemas are the ones the store and the tools use.
 */
export const CatalogDocumentSchema = z
  .object({
    surfaces: z.array(SurfaceSchema).optional().describe('Surfaces with their slots, e.g. [{"id":"library","slots":[...],...}]'),
    content: z.array(ContentItemSchema).optional().describe('Content items slots can show, e.g. [{"id":"sh-continue","type":"shelf",...}]'),
    metrics: z.array(MetricSchema).optional().describe('Metric definitions, e.g. [{"id":"episodes-started","kind":"count",...}]'),
  })
  .strict();
export type CatalogDocument = z.infer<typeof CatalogDocumentSchema>;

/** The three top-level keys a catalog document may have. */
export const CATALOG_KEYS = ['surfaces', 'content', 'metrics'] as const;
export type CatalogKey = (typeof CATALOG_KEYS)[number];

/** A whole catalog: what the store holds, or what a directory says it should hold. */
export interface Catalog {
  surfaces: Surface[];
  content: ContentItem[];
  metrics: Metric[];
}

/** Ids to remove in a merge-mode change (entities not named stay as they are). */
export const CatalogRemovalSchema = z
  .object({
    surfaces: z.array(z.string()).max(100).optional().describe('Surface ids to remove, e.g. ["podcast-home-old"]'),
    content: z.array(z.string()).max(500).optional().describe('Content item ids to remove, e.g. ["sh-old-shelf"]'),
    metrics: z.array(z.string()).max(100).optional().describe('Metric ids to remove, e.g. ["legacy-clicks"]'),
  })
  .strict();
export type CatalogRemoval = z.infer<typeof CatalogRemovalSchema>;

/** A problem in a catalog file or document: where (file, path inside it, line) and what to do about it. */
export const CatalogIssueSchema = z.object({
  severity: z.enum(['error', 'warning']),
  file: z.string().describe('The file (relative to the catalog directory), "(input)" for a tool or REST document, "(store)" for a stored entity'),
  path: z.string().describe('Path inside the document, e.g. "surfaces[0].slots[2].accepts[1]"'),
  line: z.number().int().nullable().describe('1-based line in the file; null for JSON input'),
  message: z.string(),
  hint: z.string().describe('How to fix it'),
});
export type CatalogIssue = z.infer<typeof CatalogIssueSchema>;

/** `file:line path: message` then the fix, the way editors and terminals link it. */
export function issueText(i: CatalogIssue): string {
  const where = `${i.file}${i.line !== null ? `:${i.line}` : ''}`;
  return `${i.severity}: ${where} ${i.path || '(document)'}: ${i.message}\n  fix: ${i.hint}`;
}

export const emptyCatalog = (): Catalog => ({ surfaces: [], content: [], metrics: [] });
