import { Hono, type Context } from 'hono';
import { createHash } from 'node:crypto';
import type { Container } from '../container.js';
import type { HttpVars } from './http-vars.js';
import { evaluate, evaluateSingle, parseContext } from './ofrep-evaluate.js';

/**
 * OpenFeature Remote Evaluation Protocol. A flag is an experiment (key or id; the value is the
 * variant key) or a surface slot `surface/slot` (the value is the content id served); the
 * targeting key is the unit id. Single evaluations are serving decisions and record the exposure;
 * bulk evaluations (client providers prefetching every flag) do not.
 */
export function ofrepRoutes(app: Container) {
  const r = new Hono<{ Variables: HttpVars }>();

  // A slot flag's key has a slash; clients may send it encoded (one segment) or not (two).
  r.post('/evaluate/flags/:surface/:slot', (c) => single(c, `${c.req.param('surface')}/${c.req.param('slot')}`));
  r.post('/evaluate/flags/:key', (c) => single(c, c.req.param('key')));

  // The node listener answers these two routes itself (ofrep-fast-path.ts) with the same evaluation.
  const single = async (c: Context, key: string) => {
    const answer = evaluateSingle(app, key, await c.req.text());
    return c.json(answer.body, answer.status);
  };

  r.post('/evaluate/flags', async (c) => {
    const ctx = parseContext(await c.req.text(), '');
    if ('errorCode' in ctx) return c.json({ errorCode: ctx.errorCode, errorDetails: ctx.errorDetails }, 400);
    const keys = [
      ...app.assignments.experiments().map((e) => e.key),
      ...app.assignments.surfaceIds().flatMap((s) => app.assignments.surface(s)!.slots.map((slot) => `${s}/${slot.id}`)),
    ];
    const flags = keys.map((k) => evaluate(app, k, ctx.targetingKey, ctx.platform, false)!);
    const body = JSON.stringify({ flags });
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    c.header('ETag', etag);
    if (
      c.req
        .header('if-none-match')
        ?.split(',')
        .map((t) => t.trim())
        .includes(etag)
    )
      return c.body(null, 304);
    return c.body(body, 200, { 'content-type': 'application/json' });
  });

  r.get('/configuration', (c) =>
    c.json({
      name: 'sealab',
      capabilities: { cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 30_000 } }, flagEvaluation: { supportedTypes: ['string'] } },
    }),
  );
  return r;
}
