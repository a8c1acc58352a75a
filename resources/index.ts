import type { ChangeEvent } from '../src/app/context.js';
import type { ResourceDefinition } from '../src/mcp/define-resource.js';
import type { AppResourceDefinition } from '../src/mcp/define-app-resource.js';
import { surfacesResource } from './surfaces.js';
import { surfaceResource } from './surface.js';
import { experimentResource } from './experiment.js';
import { metricsResource } from './metrics.js';
import { contentResource } from './content.js';
import { policyResource } from './policy.js';
import { rulesResource } from './rules.js';
import { approvalResource } from './approval.js';
import { opsOperationsResource } from './ops-operations.js';
import { sloResource } from './slo.js';
import { resultsAppResource } from './results-app.js';

export const resources: ResourceDefinition[] = [
  surfacesResource,
  surfaceResource,
  experimentResource,
  metricsResource,
  contentResource,
  policyResource,
  rulesResource,
  approvalResource,
  opsOperationsResource,
  sloResource,
];

/** MCP App views (ui://), named by the tools they render in `_meta.ui.resourceUri`. */
export const appResources: AppResourceDefinition[] = [resultsAppResource];

/** The resource URIs a change to an experiment makes stale. */
export const urisForExperimentChange = (e: { id: string; surfaceId: string }) => [
  `sealab://experiment/${e.id}`,
  `sealab://surface/${e.surfaceId}`,
  'sealab://surfaces',
];

/** The resource URIs a change makes stale: an experiment's; the content catalog's after a content sync; after a catalog change the catalog resources and every surface. */
export const urisForChange = (e: ChangeEvent, surfaceIds: () => string[]) =>
  e.kind === 'experiment'
    ? urisForExperimentChange(e)
    : e.kind === 'content'
      ? ['sealab://content']
      : ['sealab://surfaces', 'sealab://content', 'sealab://metrics', ...surfaceIds().map((id) => `sealab://surface/${id}`)];
