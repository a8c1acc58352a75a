/**
 * A minimal MCP Apps host page for the browser test (bundled by test/ui/mcp-app.test.ts): it renders the
 * App's HTML in a sandboxed iframe (scripts only, opaque origin) under the spec's default CSP, speaks the
 * Apps protocol to it with ext-apps' AppBridge over postMessage, and proxies the App's tool calls to the
 * test's MCP client (`window.hostCallTool`, exposed by Playwright), as a desktop host's main process would.
 */
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

/** The restrictive default the spec asks of a host when the resource declares no domains. */
const DEFAULT_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' data:; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'self'";

interface Start {
  html: string;
  toolInput: Record<string, unknown>;
  toolResult: Record<string, unknown>;
}

declare global {
  interface Window {
    hostCallTool(params: unknown): Promise<Record<string, unknown>>;
    startApp(start: Start): Promise<void>;
    hostEvents: string[];
  }
}

window.hostEvents = [];

window.startApp = async ({ html, toolInput, toolResult }) => {
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'sealab results (MCP App)';
  iframe.style.cssText = 'width: 900px; height: 600px; border: 1px solid #ccc;';
  iframe.srcdoc = html.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${DEFAULT_CSP}">`);
  document.body.append(iframe);
  const bridge = new AppBridge(
    null,
    { name: 'sealab-test-host', version: '1.0.0' },
    { serverTools: {} },
    { hostContext: { theme: 'light', displayMode: 'inline', platform: 'web', containerDimensions: { width: 900, maxHeight: 4000 } } },
  );
  bridge.oncalltool = async (params) => {
    window.hostEvents.push(`tools/call ${params.name}`);
    return (await window.hostCallTool(params)) as Awaited<ReturnType<NonNullable<typeof bridge.oncalltool>>>;
  };
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${Math.ceil(height) + 4}px`;
  };
  const initialized = new Promise<void>((resolve) => {
    bridge.oninitialized = () => resolve();
  });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  await initialized;
  window.hostEvents.push('initialized');
  await bridge.sendToolInput({ arguments: toolInput });
  await bridge.sendToolResult(toolResult as Parameters<typeof bridge.sendToolResult>[0]);
};
