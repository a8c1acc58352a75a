import { z } from 'zod';
import type { InputRequiredResult, ToolAnnotations } from '@modelcontextprotocol/server';
import type { GivenConfirmation } from '../app/experiments/experiment-service.js';
import type { Container } from '../container.js';
import type { WriteContext } from '../store/audit-repo.js';
import type { Logger } from '../logger.js';
import type { SampleRequest, SampleStep } from './sample.js';
import type { ConfirmationMode } from '../domain/policy.js';
import type { Toolset } from './toolsets.js';

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
  /**
   * Gets a human's confirmation for a risky step the policy names. A client that supports
   * elicitation is asked with a short form (this returns `ask`: hand it back from the handler and
   * the call resumes with the answer); otherwise the explicit `confirmation` argument counts.
   * A decline, or neither, is a typed refusal: nothing changes.
   */
  confirm(summary: string, given: ConfirmationArg | undefined, mode?: ConfirmationMode): ConfirmStep;
  /**
   * Asks the client's model (MCP sampling) when the client supports it: `ask` is handed back from
   * the handler and the call resumes with the answer; `unavailable` otherwise. The answer is untrusted text.
   */
  sample(request: SampleRequest): SampleStep;
  /** The client declared it renders MCP Apps (io.modelcontextprotocol/ui): worth sending what only a view reads, in `meta`. */
  rendersApps: boolean;
}

/** The explicit confirmation argument, for clients that cannot show a form. */
export const ConfirmationArgSchema = z
  .object({ reason: z.string().min(3).max(500).describe('Who approved and why, e.g. "approved by @dana: guardrails reviewed"') })
  .describe("Clients without elicitation only: a human's approval of this step (audited)");
export type ConfirmationArg = z.infer<typeof ConfirmationArgSchema>;

/** `approval`: no form could be shown and the policy wants a person's approval: hold the step as an approval request. */
export type ConfirmStep = { kind: 'confirmed'; confirmation: GivenConfirmation } | { kind: 'ask'; ask: AskInput } | { kind: 'approval'; note?: string };

/** A handler result that asks the client for input (multi-round-trip) instead of answering. */
export interface AskInput {
  inputRequired: InputRequiredResult;
}

export interface ToolResult<O> {
  structured: O;
  text: string;
  /** Resource links after the text, e.g. to the full record a compact answer summarises. */
  links?: ResourceLinkItem[];
  /** The result's `_meta`: data for an MCP App view, never for the model (MCP Apps spec, "Data Passing"). */
  meta?: Record<string, unknown>;
}

/** A `resource_link` content item: the client reads the resource when it needs it. */
export interface ResourceLinkItem {
  uri: string;
  name: string;
  description?: string;
  mimeType?: string;
}

/** A tool is a value: its name, what the agent reads, its schemas, and one handler that calls one service. */
export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  /** The `ui://` MCP App view that renders its results (src/mcp/define-app-resource.ts); hosts without Apps ignore it. */
  ui?: `ui://${string}`;
  /** The toolset that lists it (src/mcp/toolsets.ts); default `core`. */
  toolset?: Toolset;
  handler: (args: z.infer<I>, ctx: ToolContext) => ToolResult<z.infer<O>> | AskInput | Promise<ToolResult<z.infer<O>> | AskInput>;
}

export function defineTool<I extends z.ZodType, O extends z.ZodType>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return def;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolDefinition = ToolDefinition<any, any>;
