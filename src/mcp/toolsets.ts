import type { AnyToolDefinition } from './define-tool.js';

/**
 * Named groups of tools. `core` is listed by default: everything an agent needs to plan, launch,
 * watch and decide, within the context budget (test/mcp/tool-budget.test.ts). `operator` holds the
 * tools people reach for around a launch rather than in it: pause, hold or advance a ramp by hand
 * (the ramp scheduler advances it otherwise), archive, revert a ship, explain one unit's assignment. `analysis` holds plan_power, the sizing explorer (plan_experiment
 * and validate_config size plans already). `ops` holds the platform's own operation: SLOs and orchestration diagnosis.
 * `admin` holds catalog changes (plan_catalog_change, apply_catalog_change): platform administration, not experimentation.
 */
export const TOOLSETS = ['core', 'operator', 'analysis', 'ops', 'admin'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/** `--tools` / `--toolsets` (SEALAB_TOOLS / SEALAB_TOOLSETS): what a server lists; neither means `core`. */
export interface ToolSelection {
  tools?: readonly string[];
  toolsets?: readonly string[];
}

export class ToolSelectionError extends Error {}

/** The names of the tools a selection enables: the named toolsets' tools plus the named tools (`all` = every toolset). */
export function enabledToolNames(all: readonly AnyToolDefinition[], selection: ToolSelection = {}): Set<string> {
  const names = new Set(all.map((t) => t.name));
  const unknownTools = (selection.tools ?? []).filter((n) => !names.has(n));
  if (unknownTools.length)
    throw new ToolSelectionError(`--tools / SEALAB_TOOLS: unknown tool ${unknownTools.map((n) => `'${n}'`).join(', ')}; tools: ${[...names].join(', ')}`);
  const sets = selection.toolsets ?? (selection.tools?.length ? [] : ['core']);
  const unknownSets = sets.filter((s) => s !== 'all' && !(TOOLSETS as readonly string[]).includes(s));
  if (unknownSets.length)
    throw new ToolSelectionError(
      `--toolsets / SEALAB_TOOLSETS: unknown toolset ${unknownSets.map((n) => `'${n}'`).join(', ')}; toolsets: ${TOOLSETS.join(', ')}, all`,
    );
  const enabled = new Set(selection.tools ?? []);
  for (const t of all) if (sets.includes('all') || sets.includes(toolsetOf(t))) enabled.add(t.name);
  return enabled;
}

export const toolsetOf = (t: AnyToolDefinition): Toolset => t.toolset ?? 'core';

/** How to enable a tool a server does not list, for the refusal's hint. */
export const enableHint = (t: AnyToolDefinition) =>
  `Restart sealab with --toolsets core,${toolsetOf(t)} (or SEALAB_TOOLSETS=core,${toolsetOf(t)}), or add it by name with --tools / SEALAB_TOOLS.`;
