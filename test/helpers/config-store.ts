import type { ConfigRepos } from '../../src/store/sql/config-repos.js';
import { DEMO_CONTENT, DEMO_METRICS, DEMO_SURFACES } from './demo-catalog.js';

/** The demo catalog written through the async repositories (experiments reference a surface). */
export async function seedCatalog(r: ConfigRepos): Promise<void> {
  for (const s of DEMO_SURFACES) await r.catalog.upsertSurface(s);
  for (const c of DEMO_CONTENT) await r.catalog.upsertContent(c);
  for (const m of DEMO_METRICS) await r.catalog.upsertMetric(m);
}
