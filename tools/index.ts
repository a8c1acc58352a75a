import type { AnyToolDefinition } from '../src/mcp/define-tool.js';
import { createExperiment } from './create-experiment.js';
import { validateConfig } from './validate-config.js';
import { deployToSurface } from './deploy-to-surface.js';
import { stopExperiment } from './stop-experiment.js';
import { getMetrics } from './get-metrics.js';
import { listExperiments } from './list-experiments.js';
import { getExperiment } from './get-experiment.js';
import { listSurfaces } from './list-surfaces.js';
import { pauseExperiment } from './pause-experiment.js';
import { archiveExperiment } from './archive-experiment.js';
import { getAssignment } from './get-assignment.js';
import { planPower } from './plan-power.js';
import { planExperiment } from './plan-experiment.js';
import { updateExperiment } from './update-experiment.js';
import { getRampStatus } from './get-ramp-status.js';
import { advanceRamp } from './advance-ramp.js';
import { holdRamp } from './hold-ramp.js';
import { revertShip } from './revert-ship.js';
import { getApproval } from './get-approval.js';
import { diagnoseOrchestration } from './diagnose-orchestration.js';
import { getSloStatus } from './get-slo-status.js';
import { planCatalogChange } from './plan-catalog-change.js';
import { applyCatalogChange } from './apply-catalog-change.js';

/** Every MCP tool, in the order an agent meets them. */
export const tools: AnyToolDefinition[] = [
  listSurfaces,
  createExperiment,
  validateConfig,
  deployToSurface,
  getMetrics,
  stopExperiment,
  pauseExperiment,
  archiveExperiment,
  listExperiments,
  getExperiment,
  getAssignment,
  planPower,
  planExperiment,
  updateExperiment,
  getRampStatus,
  advanceRamp,
  holdRamp,
  revertShip,
  getApproval,
  diagnoseOrchestration,
  getSloStatus,
  planCatalogChange,
  applyCatalogChange,
];
