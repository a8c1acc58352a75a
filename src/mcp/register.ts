import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import type { Container } from '../container.js';
import type { z } from 'zod';
import { AppError, toAppError, toToolError } from '../errors.js';
import type { AnyToolDefinition, AskInput, CallerInfo, ToolContext } from './define-tool.js';
import { confirmStep } from './confirm.js';
import { sampleStep } from './sample.js';
import { hasScope, toolScope, type Scope } from '../domain/scopes.js';

/**
 * Registers every tool through one wrapper, so none can skip it: a child logger with the tool and
 * request id, one `tool` log line per call (actor, experiment id, outcome: ok, input_required or the
 * error code, durationMs; warn for refusals), error mapping to an isError result with a hint. Only the tools `opts.scopes`
 * allow are registered (src/domain/scopes.ts: readOnlyHint → read, so read-only mode is derived from it).
 */
export function registerTools(
  server: McpServer,
  tools: AnyToolDefinition[],
  app: Container,
  caller: CallerInfo,
  opts: { scopes?: readonly Scope[] } = {},
): void {
  for (const tool of tools) {
    if (opts.scopes && !hasScope(opts.scopes, toolScope(tool))) continue;
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: listedOnly(tool.inputSchema),
        outputSchema: tool.outputSchema,
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (args: unknown, sctx: ServerContext) => {
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
        };
        const done = (outcome: string, structured?: unknown, level: 'info' | 'warn' | 'error' = 'info') =>
          logger[level](
            { actor: caller.actor(), experimentId: experimentIdOf(args, structured), outcome, durationMs: Math.round(performance.now() - started) },
            'tool',
          );
        try {
          const out = await tool.handler(parseArgs(tool, args), ctx);
          if (isAsk(out)) {
            done('input_required');
            return out.inputRequired;
          }
          done('ok', out.structured);
          return { content: [{ type: 'text' as const, text: out.text }], structuredContent: out.structured as Record<string, unknown> };
        } catch (err) {
          const e = toAppError(err);
          if (e.code === 'INTERNAL') logger.error({ err }, 'tool failed with an internal error');
          done(e.code, undefined, e.code === 'INTERNAL' ? 'error' : 'warn');
          return toToolError(e);
        }
      },
    );
  }
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

const isAsk = (x: unknown): x is AskInput => typeof x === 'object' && x !== null && 'inputRequired' in x;

/**
 * The schema agents see in tools/list, with validation left to the wrapper: a bad argument then
 * becomes our typed INVALID_INPUT error with a hint, not the SDK's generic message.
 */
function listedOnly(schema: z.ZodType) {
  const std = schema['~standard'] as unknown as { jsonSchema: unknown };
  return {
    '~standard': { version: 1 as const, vendor: 'sealab', validate: (value: unknown) => ({ value }), jsonSchema: std.jsonSchema },
  } as unknown as z.ZodType;
}

function parseArgs(tool: AnyToolDefinition, args: unknown): unknown {
  const parsed = (tool.inputSchema as z.ZodType).safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(arguments)'}: ${i.message}`);
  throw new AppError(
    'INVALID_INPUT',
    `invalid arguments for ${tool.name}: ${issues.slice(0, 6).join('; ')}`,
    `Correct the listed fields to match ${tool.name}'s input schema (tools/list shows it with examples) and call again.`,
    { issues },
  );
}
