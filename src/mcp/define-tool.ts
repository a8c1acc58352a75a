import type { z } from 'zod';
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { Container } from '../container.js';
import type { WriteContext } from '../store/audit-repo.js';
import type { Logger } from '../logger.js';

/** Who is calling, through which transport; fixed per server instance. */
export interface CallerInfo {
  interface: 'mcp-stdio' | 'mcp-http';
  /** Stable identity of the agent: the bearer token's client id or the client's declared name. */
  actor: () => string;
}

export interface ToolContext {
  app: Container;
  requestId: string;
  logger: Logger;
  /** The audit context for a write made by this call. */
  write(rationale?: string): WriteContext;
  /** Report progress when the client asked for it (no-op otherwise). */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

export interface ToolResult<O> {
  structured: O;
  text: string;
}

/** A tool is a value: its name, what the agent reads, its schemas, and one handler that calls one service. */
export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  handler: (args: z.infer<I>, ctx: ToolContext) => ToolResult<z.infer<O>> | Promise<ToolResult<z.infer<O>>>;
}

export function defineTool<I extends z.ZodType, O extends z.ZodType>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return def;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolDefinition = ToolDefinition<any, any>;
