import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const CLIENTS = ['claude', 'cursor', 'vscode'] as const;
export type ClientName = (typeof CLIENTS)[number];

/** This checkout's launcher: absolute, so a client may start sealab from any working directory. */
export const BIN_PATH = fileURLToPath(new URL('../../bin/sealab.js', import.meta.url));

export interface ClientConfigOptions {
  /** Absolute Node binary: the one that built better-sqlite3 (a second Node on PATH cannot load it). */
  execPath: string;
  /** Absolute path of bin/sealab.js. */
  binPath: string;
  /** Absolute data directory the stdio server opens. */
  dataDir: string;
  /** A running `sealab serve`'s /mcp URL: the HTTP form instead of stdio. */
  http?: string;
}

/** Where each client reads the snippet, told on stderr so stdout stays pasteable JSON. */
const WHERE: Record<ClientName, string> = {
  claude:
    'Claude Desktop: merge into claude_desktop_config.json (Settings → Developer → Edit Config), then restart Claude Desktop. Claude Code reads the same shape from .mcp.json.',
  cursor: 'Cursor: merge into .cursor/mcp.json in your project (or ~/.cursor/mcp.json for every project).',
  vscode: 'VS Code: merge into .vscode/mcp.json in your workspace (or run "MCP: Open User Configuration").',
};

const HTTP_NOTES: Record<ClientName, string> = {
  claude: `The HTTP form is for Claude Code (.mcp.json; \${SEALAB_TOKEN} is read from its environment); Claude Desktop adds remote servers under Settings → Connectors instead.`,
  cursor: `Cursor reads \${env:SEALAB_TOKEN} from its environment; drop the header if the server has no tokens file and no SEALAB_TOKEN.`,
  vscode: 'VS Code prompts once for the token (inputs) and stores it as a secret; drop the header if the server needs no token.',
};

/** The ready-to-paste JSON a client needs to start (stdio) or reach (HTTP) this sealab. */
export function clientConfig(client: ClientName, o: ClientConfigOptions): Record<string, unknown> {
  const stdio = { command: o.execPath, args: [o.binPath, '--data-dir', o.dataDir] };
  if (client === 'vscode') {
    if (!o.http) return { servers: { sealab: { type: 'stdio', ...stdio } } };
    return {
      inputs: [{ type: 'promptString', id: 'sealab-token', description: 'sealab token (sealab token create)', password: true }],
      servers: { sealab: { type: 'http', url: o.http, headers: { Authorization: `Bearer \${input:sealab-token}` } } },
    };
  }
  if (!o.http) return { mcpServers: { sealab: stdio } };
  const token = client === 'cursor' ? `\${env:SEALAB_TOKEN}` : `\${SEALAB_TOKEN}`;
  return { mcpServers: { sealab: { type: 'http', url: o.http, headers: { Authorization: `Bearer ${token}` } } } };
}

export interface ClientConfigCommand {
  client: string | undefined;
  http?: string;
  dataDir: string;
  /** The JSON: stdout, nothing else. */
  out: (text: string) => void;
  /** Where to paste it: stderr. */
  note: (line: string) => void;
}

/** `sealab config claude|cursor|vscode [--http URL] [--data-dir DIR]`; returns the exit code. */
export function runClientConfig(cmd: ClientConfigCommand): number {
  if (!CLIENTS.includes(cmd.client as ClientName)) {
    cmd.note(`usage: sealab config ${CLIENTS.join('|')} [--http URL] [--data-dir DIR]${cmd.client ? ` (unknown client '${cmd.client}')` : ''}`);
    return 2;
  }
  const client = cmd.client as ClientName;
  if (cmd.http !== undefined && !/^https?:\/\/[^/]/.test(cmd.http)) {
    cmd.note(`--http: an http(s) URL of a running sealab serve's MCP endpoint, e.g. http://127.0.0.1:8787/mcp (got '${cmd.http}')`);
    return 2;
  }
  const native = loadsNativeStore();
  if (native) {
    cmd.note(
      `this Node (${process.execPath}, ${process.version}) cannot load better-sqlite3 (${native}); run \`sealab config\` with the Node that ran npm ci, or run npm rebuild better-sqlite3 with this one`,
    );
    return 1;
  }
  cmd.out(JSON.stringify(clientConfig(client, { execPath: process.execPath, binPath: BIN_PATH, dataDir: cmd.dataDir, http: cmd.http }), null, 2));
  cmd.note(WHERE[client]);
  if (cmd.http) cmd.note(HTTP_NOTES[client]);
  return 0;
}

/** The printed command must start: the native store has to load under this very Node. Returns why not, or null. */
function loadsNativeStore(): string | null {
  try {
    new Database(':memory:').close();
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? 'unknown error';
  }
}
