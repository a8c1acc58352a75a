import { defineResource } from '../src/mcp/define-resource.js';
import { sloView } from '../src/ops/slo/slo-view.js';

export const sloResource = defineResource({
  name: 'ops-slo',
  title: "sealab's own SLOs",
  description:
    "The platform's service-level objectives as declared in the SLO file (SLI definitions, objectives, burn-rate alert pairs, what a fast burn does to rollouts) and their current status: SLI, error budget left, burn rates, alerts firing. get_slo_status answers the status alone.",
  uri: 'sealab://ops/slo',
  read: (app) => ({ objectives: app.slo.file, status: sloView(app.slo.status()) }),
});
