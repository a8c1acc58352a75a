import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import type { Container } from '../container.js';
import type { z } from 'zod';
import { closest } from 'fastest-levenshtein';
import { AppError, toAppError, toToolError } from '../errors.js';
import { listedJsonSchema, type JsonSchema } from './listed-schema.js';
import './listed-shapes.js';
import { enableHint, toolsetOf } from './toolsets.js';
import type { AnyToolDefinition, AskInput, CallerInfo, ToolContext } from './define-tool.js';
import { confirmStep } from './confirm.js';
import { sampleStep } from './sample.js';
import { clientCapabilities } from './client-capabilities.js';
import { rendersApps, toolUiMeta } from './define-app-resource.js';
import { hasScope, toolScope, type Scope } from '../domain/scopes.js';
import { recordToolCall } from '../ops/metric-hooks.js';
import { traceTool } from '../ops/tracing.js';

/**
 * Registers every tool through one wrapper, so none can skip it: a child logger with the tool and
 * request id, one `tool` log line per call (actor, experiment id, outcome: ok, input_required or the
 * error code, durationMs; warn for refusals), error mapping to an isError result with a hint. Only the tools `opts.scopes`
 * allow are registered (src/domain/scopes.ts: readOnlyHint → read, so read-only mode is derived from it);
 * of those, tools/list shows the ones `opts.enabled` names (the toolsets) and a call to another one is
 * refused with the flag that enables it.
 */
export function registerTools(
  server: McpServer,
  tools: AnyToolDefinition[],
  app: Container,
  caller: CallerInfo,
  opts: { scopes?: readonly Scope[]; enabled?: ReadonlySet<string> } = {},
): void {
  const inScope = tools.filter((tool) => !opts.scopes || hasScope(opts.scopes, toolScope(tool)));
  for (const tool of inScope) {
    const { input, output } = listedSchemas(tool);
    const enabled = !opts.enabled || opts.enabled.has(tool.name);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: listedOnly(input),
        outputSchema: validatedAs(tool.outputSchema, output),
        annotations: { title: tool.title, ...tool.annotations },
        ...(tool.ui ? { _meta: toolUiMeta(tool.ui) } : {}),
      },
      traceTool(tool.name, async (args: unknown, sctx: ServerContext) => {
        const requestId = randomUUID();
        const logger = app.logger.child({ tool: tool.name, requestId, mcpRequestId: sctx.mcpReq.id });
        const started = performance.now();
        const ctx: ToolContext = {
          app,
          requestId,
          logger,
          write: (rationale) => ({ actor: caller.actor(), interface: caller.interface, operation: tool.name, requestId, ...(rationale ? { rationale } : {}) }),
          progress: async (progress, total, message) => {
            const token = sctx.mcpReq._meta?.progressToken;
            if (token === undefined) return;
            await sctx.mcpReq.notify({
              method: 'notifications/progress',
              params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) },
            });
          },
          confirm: (summary, given, mode) => confirmStep(server, sctx, tool.name, summary, given, mode),
          sample: (request) => sampleStep(server, sctx, request),
          rendersApps: rendersApps(clientCapabilities(server, sctx)),
        };
        const done = (outcome: string, structured?: unknown, level: 'info' | 'warn' | 'error' = 'info') => {
          recordToolCall(app.opsMetrics, tool.name, outcome, started);
          app.toolCalls.record(tool.name, outcome, performance.now() - started);
          logger[level](
            { actor: caller.actor(), experimentId: experimentIdOf(args, structured), outcome, durationMs: Math.round(performance.now() - started) },
            'tool',
          );
        };
        try {
          if (!enabled) throw notEnabled(tool);
          const out = await tool.handler(parseArgs(tool, args), ctx);
          // A write is served by this process's next request (a replica on PostgreSQL reloads serving asynchronously).
          if (!tool.annotations.readOnlyHint) await app.serving.settled();
          if (isAsk(out)) {
            done('input_required');
            return out.inputRequired;
          }
          done('ok', out.structured);
          const links = (out.links ?? []).map((l) => ({ type: 'resource_link' as const, ...l }));
          return {
            content: [{ type: 'text' as const, text: out.text }, ...links],
            structuredContent: out.structured as Record<string, unknown>,
            ...(out.meta ? { _meta: out.meta } : {}),
          };
        } catch (err) {
          const e = toAppError(err);
          if (e.code === 'INTERNAL') logger.error({ err }, 'tool failed with an internal error');
          done(e.code, undefined, e.code === 'INTERNAL' ? 'error' : 'warn');
          return toToolError(e);
        }
      }),
    );
  }
  // tools/list shows the enabled tools only; the others stay callable just far enough to say how to enable them.
  const listed = inScope.filter((tool) => !opts.enabled || opts.enabled.has(tool.name)).map(listedTool);
  if (inScope.length) server.server.setRequestHandler('tools/list', () => ({ tools: listed }));
}

/**
 * The experiment a tool call is about, for its log line: the argument that names it, else the one its
 * result names (create_experiment, plan_experiment). Undefined for calls about no single experiment.
 */
export function experimentIdOf(args: unknown, structured: unknown): string | undefined {
  const a = args as { experimentId?: unknown } | null | undefined;
  if (typeof a?.experimentId === 'string') return a.experimentId;
  const r = structured as { experimentId?: unknown; experiment?: { id?: unknown }; id?: unknown } | null | undefined;
  const found = r?.experimentId ?? r?.experiment?.id;
  return typeof found === 'string' ? found : undefined;
}

/** One tools/list entry, as agents read it (test/mcp/tool-budget.test.ts counts these bytes). */
function listedTool(tool: AnyToolDefinition) {
  const { input, output } = listedSchemas(tool);
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: input as { type: 'object'; [key: string]: unknown },
    outputSchema: output as { type: 'object'; [key: string]: unknown },
    annotations: tool.annotations,
    ...(tool.ui ? { _meta: toolUiMeta(tool.ui) } : {}),
  };
}

const cache = new WeakMap<AnyToolDefinition, { input: JsonSchema; output: JsonSchema }>();

/** A tool's listed schemas, built once: unknown arguments are refused, so the input says so. */
function listedSchemas(tool: AnyToolDefinition): { input: JsonSchema; output: JsonSchema } {
  let s = cache.get(tool);
  if (!s) {
    s = { input: { ...listedJsonSchema(tool.inputSchema, 'input'), additionalProperties: false }, output: listedJsonSchema(tool.outputSchema, 'output') };
    cache.set(tool, s);
  }
  return s;
}

const notEnabled = (tool: AnyToolDefinition) =>
  new AppError('NOT_FOUND', `tool '${tool.name}' is not enabled on this server: it is in the '${toolsetOf(tool)}' toolset`, enableHint(tool));

const isAsk = (x: unknown): x is AskInput => typeof x === 'object' && x !== null && 'inputRequired' in x;

/**
 * The schema agents see in tools/list, with validation left to the wrapper: a bad argument then
 * becomes our typed INVALID_INPUT error with a hint, not the SDK's generic message.
 */
function listedOnly(json: JsonSchema) {
  return {
    '~standard': { version: 1 as const, vendor: 'sealab', validate: (value: unknown) => ({ value }), jsonSchema: { input: () => json, output: () => json } },
  } as unknown as z.ZodType;
}

/** The listed output schema, while the SDK still checks every answer against the zod schema. */
function validatedAs(schema: z.ZodType, json: JsonSchema) {
  const std = schema['~standard'];
  return { '~standard': { ...std, validate: std.validate, jsonSchema: { input: () => json, output: () => json } } } as unknown as z.ZodType;
}

function parseArgs(tool: AnyToolDefinition, args: unknown): unknown {
  const given = (args ?? {}) as Record<string, unknown>;
  const shape = (tool.inputSchema as { shape?: Record<string, z.ZodType> }).shape;
  if (shape) refuseUnknown(tool, given, shape);
  const parsed = (tool.inputSchema as z.ZodType).safeParse(given);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => {
    const field = i.path.length === 1 ? String(i.path[0]) : undefined;
    // A missing argument says what it is and where it comes from (its description), not "expected string, received undefined".
    if (field && shape?.[field] && given[field] === undefined) return `${field} is required: ${shape[field].description ?? i.message}`;
    return `${i.path.map(String).join('.') || '(arguments)'}: ${i.message}`;
  });
  throw new AppError(
    'INVALID_INPUT',
    `invalid arguments for ${tool.name}: ${issues.slice(0, 6).join('; ')}`,
    `Correct the listed fields to match ${tool.name}'s input schema (tools/list shows it with examples) and call again.`,
    { issues },
  );
}

/** Unknown top-level arguments are refused with the allowed names (and the closest one), never silently dropped. */
function refuseUnknown(tool: AnyToolDefinition, given: Record<string, unknown>, shape: Record<string, z.ZodType>): void {
  const allowed = Object.keys(shape);
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(shape, k));
  if (!unknown.length) return;
  const guesses = unknown.map((k) => `'${k}'${allowed.length ? ` (did you mean '${closest(k, allowed)}'?)` : ''}`);
  throw new AppError(
    'INVALID_INPUT',
    `unknown argument${unknown.length > 1 ? 's' : ''} ${guesses.join(', ')} for ${tool.name}; allowed: ${allowed.join(', ') || 'none'}`,
    `Call ${tool.name} again with only the allowed arguments.`,
    { unknown, allowed },
  );
}
