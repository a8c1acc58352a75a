import { z } from 'zod';
import { SERVER_VERSION } from '../version.js';
import { routeScope } from '../domain/scopes.js';
import { OPERATIONS, type Operation } from './openapi-operations.js';

export { OPERATIONS };

/** The routes each `serve --role` exposes. */
const ROLE_TAGS: Record<'backend' | 'content', Operation['tag'][]> = {
  backend: ['backend', 'serving', 'ofrep'],
  content: ['content-delivery', 'serving', 'ofrep'],
};

const input = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
const output = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12' });
const json = (s: z.ZodType) => ({ 'application/json': { schema: output(s) } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

/** The ops routes every role serves besides its own contract. */
const OPEN_TO_ROLES = new Set(['/healthz', '/readyz', '/metrics', '/v1/openapi.json']);

/** Routes every caller may reach: no guard runs on them (http-app.ts). */
const OPEN = new Set(['/healthz', '/readyz']);

/** The scope a route needs (src/domain/scopes.ts), with its path parameters filled in as a request would. */
const scopeOf = (op: Operation) => routeScope(op.method, op.path.replace(/\{\w+\}/g, 'x'));

function responses(op: Operation) {
  const also = Object.fromEntries(
    Object.entries(op.also ?? {}).map(([status, a]) => [status, { description: a.description, ...(a.schema ? { content: json(a.schema) } : {}) }]),
  );
  const guarded = OPEN.has(op.path)
    ? {}
    : {
        '401': problem('Missing, wrong or expired bearer token (WWW-Authenticate names the realm)'),
        '403': problem(`The token lacks the '${scopeOf(op)}' scope (INSUFFICIENT_SCOPE), or the Host/Origin is not allowed (FORBIDDEN)`),
        ...(op.body ? { '413': problem('Body over SEALAB_MAX_BODY_BYTES; the hint says how to send less on this route') } : {}),
      };
  return {
    '200': { description: 'OK', content: op.media ? { [op.media]: { schema: output(op.response) } } : json(op.response) },
    ...also,
    ...guarded,
    default: problem('Error as RFC 9457 problem JSON with code and hint'),
  };
}

/** OpenAPI 3.1 for the REST, serving and OFREP routes, generated from the zod schemas the routes parse with and answer in. */
export function openApiDocument(role: 'all' | 'backend' | 'content' = 'all') {
  const paths: Record<string, Record<string, unknown>> = {};
  const ops = role === 'all' ? OPERATIONS : OPERATIONS.filter((o) => ROLE_TAGS[role].includes(o.tag) || OPEN_TO_ROLES.has(o.path));
  for (const op of ops) {
    const params = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(op.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        required: description.includes('required'),
        description,
        schema: { type: 'string' },
      })),
    ];
    const scope = OPEN.has(op.path) ? undefined : scopeOf(op);
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      tags: [op.tag],
      ...(scope
        ? { description: `Needs the \`${scope}\` scope.`, security: [{ bearer: [] }], 'x-required-scope': scope }
        : { description: 'Open: no token needed.', security: [] }),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: input(op.body) } } } } : {}),
      responses: responses(op),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'sealab', version: SERVER_VERSION, description: 'REST, serving and OFREP routes. MCP is at /mcp (streamable HTTP).' },
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'hint'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            hint: { type: 'string' },
            details: { type: 'object' },
            requestId: { type: 'string' },
          },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'SEALAB_TOKEN (every scope) or a named token from `sealab token create --scopes ...`. Scopes nest read ⊂ write ⊂ deploy ⊂ admin; approve stands alone. Each operation names the one it needs in `x-required-scope`. Without SEALAB_TOKEN and a tokens file, loopback callers need no token.',
        },
      },
    },
  };
}
