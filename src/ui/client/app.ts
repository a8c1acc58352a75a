/**
 * The MCP App (ui://sealab/results.html): connects to the host over postMessage (ext-apps' App), takes
 * the get_metrics or get_ramp_status result the host hands it, fetches the other one through the host
 * when the host proxies tool calls (so both views come together), and draws the results view.
 */
import { App, applyDocumentTheme, applyHostStyleVariables, type McpUiHostContext } from '@modelcontextprotocol/ext-apps';
import { renderResults } from './results-view.js';
import type { HistoryJson, MetricsJson, RampJson } from './results-types.js';

const HISTORY_META_KEY = 'sealab/history';

type ToolResult = { structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown>; isError?: boolean };

const root = document.getElementById('root') as HTMLElement;
const status = (text: string) => root.replaceChildren(Object.assign(document.createElement('p'), { textContent: text, role: 'status' }));

const state: { metrics?: MetricsJson; ramp?: RampJson; history?: HistoryJson } = {};

const isMetrics = (x: Record<string, unknown> | undefined): x is MetricsJson => Array.isArray(x?.metrics) && typeof x?.decision === 'object';
const isRamp = (x: Record<string, unknown> | undefined): x is RampJson => Array.isArray(x?.plannedStages);

function take(r: ToolResult): void {
  if (r.isError) return;
  if (isMetrics(r.structuredContent)) {
    state.metrics = r.structuredContent;
    const h = r._meta?.[HISTORY_META_KEY] as HistoryJson | undefined;
    if (h) state.history = h;
  } else if (isRamp(r.structuredContent)) {
    state.ramp = r.structuredContent;
  }
}

function draw(): void {
  if (state.metrics) renderResults(root, { ...state, metrics: state.metrics });
  else if (state.ramp) status(`Ramp of ${state.ramp.key}: stage ${state.ramp.stage} of ${state.ramp.stageCount}; results could not be read.`);
}

const app = new App({ name: 'sealab-results', version: '1.0.0' }, {}, { autoResize: true });

function theme(ctx: McpUiHostContext | undefined): void {
  if (ctx?.theme) applyDocumentTheme(ctx.theme);
  if (ctx?.styles?.variables) applyHostStyleVariables(ctx.styles.variables);
}

app.ontoolresult = async (params) => {
  take(params as ToolResult);
  draw();
  // The other half of the picture, through the host when it proxies tool calls to this server.
  const id = state.metrics?.experimentId ?? state.ramp?.experimentId;
  const missing = !state.ramp && state.metrics?.status === 'running' ? 'get_ramp_status' : !state.metrics && state.ramp ? 'get_metrics' : null;
  if (!id || !missing || !app.getHostCapabilities()?.serverTools) return;
  try {
    take((await app.callServerTool({ name: missing, arguments: { experimentId: id } })) as ToolResult);
    draw();
  } catch {
    // The host refused or failed: the view keeps what it has.
  }
};
app.onhostcontextchanged = (ctx) => theme(ctx);
app.ontoolcancelled = () => status('The tool call was cancelled.');

status('Waiting for results…');
app
  .connect()
  .then(() => theme(app.getHostContext()))
  .catch((err: unknown) => status(`Could not connect to the host: ${err instanceof Error ? err.message : String(err)}`));
