import { checkCatalog } from '../../src/app/catalog/catalog-check.js';
import { readCatalogDir } from '../../src/app/catalog/catalog-files.js';
import { DEMO_CATALOG_DIR } from '../../src/config.js';
import type { Catalog } from '../../src/app/catalog/catalog-document.js';

/** Reads and validates a catalog directory the way `sealab catalog validate` does; throws on any error. */
export function loadCatalog(dir: string): Catalog {
  const read = readCatalogDir(dir);
  const { catalog, issues } = checkCatalog(read.sources, { contentManaged: true });
  const errors = [...read.issues, ...issues].filter((i) => i.severity === 'error');
  if (errors.length) throw new Error(`catalog ${dir} is invalid: ${JSON.stringify(errors)}`);
  return catalog;
}

/** The demo catalog (catalog/demo), for pure domain tests that need realistic surfaces, content and metrics. */
const demo = loadCatalog(DEMO_CATALOG_DIR);
export const DEMO_SURFACES = demo.surfaces;
export const DEMO_CONTENT = demo.content;
export const DEMO_METRICS = demo.metrics;
