import { z } from 'zod';
import { CatalogDocumentSchema, CatalogRemovalSchema } from '../app/catalog/catalog-document.js';
import { listedAs, type JsonSchema } from './listed-schema.js';

/**
 * The catalog argument is checked by the catalog service, not by the tool wrapper: zod would drop an
 * unknown nested key silently, while the catalog check names it with a did-you-mean, as for files.
 * Agents still see the whole shape (the same one as a catalog file).
 */
const CatalogArg = listedAs(
  z.record(z.string(), z.unknown()).describe('A catalog document, the same shape as a catalog file: {"surfaces":[...],"content":[...],"metrics":[...]}'),
  (io) => {
    const { $schema: _d, ...json } = z.toJSONSchema(CatalogDocumentSchema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    return {
      ...json,
      description:
        'A catalog document, the same shape as a catalog file (sealab://surfaces, sealab://content and sealab://metrics show stored examples), e.g. {"metrics":[{"id":"episodes-started","name":"Episodes started","description":"...","kind":"count","direction":"increase","isGuardrail":false,"baselineMean":3.2,"baselineVariance":9,"source":{"event":"episode_start","aggregate":"count","windowHours":168}}]}',
    };
  },
);

/** What plan_catalog_change and apply_catalog_change take (apply adds dryRun). */
export const catalogChangeArgs = {
  mode: z
    .enum(['replace', 'merge'])
    .describe(
      '"merge": upsert the given entities and remove only those named in remove (what a team adding a metric wants); "replace": the document is the complete catalog, so anything absent from it is removed, e.g. "merge"',
    ),
  catalog: CatalogArg,
  remove: CatalogRemovalSchema.optional().describe('merge mode: ids to remove, e.g. {"metrics":["legacy-clicks"]}; an entity in use is refused'),
};
