import type { McpServer } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { Container } from '../container.js';

/** A prompt: its arguments (built per app so they can complete from live ids) and the text it renders. */
export interface PromptDefinition {
  name: string;
  title: string;
  description: string;
  args: (app: Container) => z.ZodObject;
  render: (args: Record<string, string>, app: Container) => string | Promise<string>;
}

export const definePrompt = (def: PromptDefinition) => def;

export { quoteData } from './data-text.js';

export function registerPrompts(server: McpServer, defs: PromptDefinition[], app: Container): void {
  for (const def of defs) {
    server.registerPrompt(def.name, { title: def.title, description: def.description, argsSchema: def.args(app) }, async (args: Record<string, unknown>) => ({
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: await def.render(args as Record<string, string>, app) } }],
    }));
  }
}
