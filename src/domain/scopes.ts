/**
 * What a principal may do. Four nested scopes, `read ⊂ write ⊂ deploy ⊂ admin`, plus `approve`,
 * which nothing implies (approving allocations is a separate duty, even for admin). Each tool and
 * each REST route needs exactly one scope, and this file is the one table that says which.
 */
export const SCOPES = ['read', 'write', 'deploy', 'admin', 'approve'] as const;
export type Scope = (typeof SCOPES)[number];

/** Every scope: the legacy SEALAB_TOKEN, the local anonymous principal, stdio. */
export const ALL_SCOPES: readonly Scope[] = SCOPES;

const LADDER: readonly Scope[] = ['read', 'write', 'deploy', 'admin'];

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** True when one granted scope is the needed one or above it on the ladder (approve only by itself). */
export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  if (granted.includes(needed)) return true;
  const rank = LADDER.indexOf(needed);
  return rank >= 0 && granted.some((g) => LADDER.indexOf(g) > rank);
}

/** What `granted` allows, at most `cap` (`--read-only` caps every principal at read); approve survives only a cap of approve. */
export function capScopes(granted: readonly Scope[], cap: Scope): Scope[] {
  return SCOPES.filter((s) => hasScope(granted, s) && hasScope([cap], s));
}

/** Tools whose effect reaches production traffic: they need deploy, whatever their annotations say. */
const TOOL_OVERRIDES: Readonly<Record<string, Scope>> = {
  deploy_to_surface: 'deploy',
  advance_ramp: 'deploy',
  hold_ramp: 'deploy',
  stop_experiment: 'deploy',
  pause_experiment: 'deploy',
  revert_ship: 'deploy',
  // The catalog is every team's shared ground: changing it is administration (a dry run included).
  apply_catalog_change: 'admin',
};

/** A tool's needed scope: its override, else read for readOnlyHint and write for the rest. */
export function toolScope(tool: { name: string; annotations: { readOnlyHint?: boolean } }): Scope {
  return TOOL_OVERRIDES[tool.name] ?? (tool.annotations.readOnlyHint ? 'read' : 'write');
}

/** REST routes that need more than their method implies: `:x` matches one segment, a trailing `*` the rest. */
const ROUTE_OVERRIDES: ReadonlyArray<{ method: string; path: string; scope: Scope }> = [
  { method: '*', path: '/v1/backend/*', scope: 'admin' },
  { method: '*', path: '/v1/content-delivery/*', scope: 'admin' },
  { method: 'POST', path: '/v1/experiments/:id/deploy', scope: 'deploy' },
  { method: 'POST', path: '/v1/experiments/:id/pause', scope: 'deploy' },
  { method: 'POST', path: '/v1/experiments/:id/stop', scope: 'deploy' },
  { method: 'POST', path: '/v1/experiments/:id/revert-ship', scope: 'deploy' },
  { method: 'POST', path: '/v1/clock/advance', scope: 'deploy' },
  { method: 'POST', path: '/v1/catalog/apply', scope: 'admin' },
  // Deciding a held step is a person's separate duty: approve, which no other scope implies.
  { method: 'POST', path: '/v1/approvals/:id/approve', scope: 'approve' },
  { method: 'POST', path: '/v1/approvals/:id/reject', scope: 'approve' },
  // The console's forms for the same two decisions (src/server/ui-routes.ts).
  { method: 'POST', path: '/ui/approvals/:id/approve', scope: 'approve' },
  { method: 'POST', path: '/ui/approvals/:id/reject', scope: 'approve' },
  // Signing out of the console writes nothing: any principal may.
  { method: 'POST', path: '/ui/logout', scope: 'read' },
  // Computations and evaluations that write nothing, as their tools (plan_experiment) are read-only.
  { method: 'POST', path: '/v1/plans', scope: 'read' },
  { method: 'POST', path: '/v1/catalog/plan', scope: 'read' },
  { method: 'POST', path: '/ofrep/v1/*', scope: 'read' },
  // The MCP endpoint needs read to connect; each tool's scope is checked per call (toolScope).
  { method: '*', path: '/mcp', scope: 'read' },
  // Prometheus metrics: operational data, readable with any token (a scraper gets a read-only one).
  { method: 'GET', path: '/metrics', scope: 'read' },
];

const matches = (pattern: string, path: string) => {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '*') return got.length > i;
    if (i >= got.length || (want[i] !== got[i] && !(want[i].startsWith(':') && got[i]))) return false;
  }
  return want.length === got.length;
};

/** A REST route's needed scope: its override, else read for GET and HEAD and write for the rest. */
export function routeScope(method: string, path: string): Scope {
  const m = method.toUpperCase();
  const hit = ROUTE_OVERRIDES.find((r) => (r.method === '*' || r.method === m) && matches(r.path, path));
  return hit?.scope ?? (m === 'GET' || m === 'HEAD' || m === 'OPTIONS' ? 'read' : 'write');
}

/** `read,write` → scopes; unknown names are returned apart so a caller can name them. */
export function parseScopes(list: string): { scopes: Scope[]; unknown: string[] } {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { scopes: [...new Set(names.filter(isScope))], unknown: names.filter((n) => !isScope(n)) };
}
