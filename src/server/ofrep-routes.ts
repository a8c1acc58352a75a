import { Hono, type Context } from 'hono';
import { createHash } from 'node:crypto';
import type { Container } from '../container.js';
import type { HttpVars } from './http-vars.js';
import { answerSingle, evaluate, evaluateSlot, parseContext } from './ofrep-evaluate.js';

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
    const answer = answerSingle(app, key, await c.req.text());
    return c.body(answer.text, answer.status, { 'content-type': 'application/json' });
  };

  r.post('/evaluate/flags', async (c) => {
    const ctx = parseContext(await c.req.text(), '');
    if ('errorCode' in ctx) return c.json({ errorCode: ctx.errorCode, errorDetails: ctx.errorDetails }, 400);
    const { targetingKey: unit, platform } = ctx;
    const flags = app.assignments.experiments().map((e) => evaluate(app, e.key, unit, platform, false)!);
    for (const s of app.assignments.surfaceIds()) {
      const view = app.assignments.view(s, unit, platform); // once per surface, for all of its slots
      for (const slot of app.assignments.surface(s)!.slots) flags.push(evaluateSlot(app, `${s}/${slot.id}`, s, slot.id, unit, platform, false, view)!);
    }
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
