import { defineAppResource } from '../src/mcp/define-app-resource.js';
import { resultsAppHtml } from '../src/ui/app-html.js';

export const RESULTS_APP_URI = 'ui://sealab/results.html';

export const resultsAppResource = defineAppResource({
  name: 'results-app',
  title: 'Experiment results view',
  description:
    "MCP App for get_metrics and get_ramp_status: the decision, each metric's effect and interval against zero (guardrail margins drawn), the effect over time with its confidence sequence, and the ramp timeline.",
  uri: RESULTS_APP_URI,
  html: resultsAppHtml,
});
