import { inputRequired, inputResponse, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { clientCapabilities } from './client-capabilities.js';
import type { AskInput } from './define-tool.js';

const KEY = 'sample';

/** A question for the client's model: a system prompt, one user message, a token budget. */
export interface SampleRequest {
  system: string;
  prompt: string;
  maxTokens: number;
}

/** unavailable: the client cannot sample; ask: hand this back from the handler; answered: the model's text (untrusted). */
export type SampleStep = { kind: 'unavailable' } | { kind: 'ask'; ask: AskInput } | { kind: 'answered'; text: string; model: string | null };

/** Whether this request's client accepts sampling requests. */
const canSample = (server: McpServer, sctx: ServerContext) => clientCapabilities(server, sctx)?.sampling !== undefined;

/**
 * One sampling step, the way confirmStep does elicitation: the first round returns an input request
 * (sent as a push `sampling/createMessage` to 2025 sessions, as `input_required` to 2026 clients);
 * the retried call reads the answer. The text is a proposal to judge, never an instruction.
 */
export function sampleStep(server: McpServer, sctx: ServerContext, req: SampleRequest): SampleStep {
  if (!canSample(server, sctx)) return { kind: 'unavailable' };
  const answer = inputResponse(sctx.mcpReq.inputResponses, KEY);
  if (answer.kind === 'missing') {
    const request = inputRequired.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: req.prompt } }],
      systemPrompt: req.system,
      maxTokens: req.maxTokens,
      includeContext: 'none',
    });
    return { kind: 'ask', ask: { inputRequired: inputRequired({ inputRequests: { [KEY]: request } }) } };
  }
  if (answer.kind !== 'sampling') return { kind: 'answered', text: '', model: null };
  const blocks = Array.isArray(answer.result.content) ? answer.result.content : [answer.result.content];
  const text = blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');
  return { kind: 'answered', text, model: typeof answer.result.model === 'string' ? answer.result.model : null };
}
