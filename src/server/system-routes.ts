import { Hono } from 'hono';
import type { Container } from '../container.js';
import { AppError, notFound } from '../errors.js';
import { BackendWriteSchema, ContentWriteSchema } from '../systems/contracts.js';
import type { HttpVars } from './http-vars.js';
import { body, parse } from './rest-routes.js';

const requireSurface = async (app: Container, id: string) => {
  if (!(await app.deps.store.catalog.surface(id)))
    throw notFound('surface', id, 'GET /v1/surfaces lists the surface ids of this system.', await app.deps.store.catalog.ids('surfaces'));
};

/**
 * The experimentation backend's contract (serve --role backend): full-state, idempotent writes per experiment. Reads go
 * through the embedded systems' async face, which answers on either engine (the synchronous one is SQLite's only).
 */
export function backendRoutes(app: Container) {
  const r = new Hono<{ Variables: HttpVars }>();
  const b = app.localSystems.backend;
  r.get('/experiments', async (c) => c.json({ experiments: await b.list() }));
  r.get('/experiments/:id', async (c) =>
    c.json(
      (await b.get(c.req.param('id'))) ??
        (() => {
          throw notFound('allocation', c.req.param('id'), 'The backend has never allocated this experiment.');
        })(),
    ),
  );
  r.put('/experiments/:id', async (c) => {
    const w = parse(BackendWriteSchema, await body(c));
    await requireSurface(app, w.surfaceId);
    if (w.status !== 'released' && w.buckets.length === 0)
      throw new AppError('INVALID_INPUT', `an ${w.status} experiment needs buckets`, 'Send the bucket ranges the experiment owns.');
    return c.json(await b.put(c.req.param('id'), w));
  });
  return r;
}

/** Content delivery's contract (serve --role content): which experiments' slot overrides each surface serves. */
export function contentRoutes(app: Container) {
  const r = new Hono<{ Variables: HttpVars }>();
  const cd = app.localSystems.content;
  r.get('/experiments', async (c) => c.json({ experiments: await cd.list(c.req.query('surface') || undefined) }));
  r.get('/experiments/:id', async (c) =>
    c.json(
      (await cd.get(c.req.param('id'))) ??
        (() => {
          throw notFound('override set', c.req.param('id'), 'Content delivery has never served this experiment.');
        })(),
    ),
  );
  r.put('/experiments/:id', async (c) => {
    const w = parse(ContentWriteSchema, await body(c));
    await requireSurface(app, w.surfaceId);
    return c.json(await cd.put(c.req.param('id'), w));
  });
  // The content catalog gateways sync from (issue 14 item 5): a strong ETag over the canonical list, 304 when it still matches.
  r.get('/content', async (c) => {
    const read = await cd.catalogRead();
    const headers = { etag: read.etag, 'cache-control': 'no-cache' };
    if (noneMatch(c.req.header('if-none-match'), read.etag)) return c.body(null, 304, headers);
    return c.json({ content: read.items }, 200, headers);
  });
  return r;
}

/** RFC 9110 §13.1.2: If-None-Match matches on `*` or any listed tag, compared weakly (a W/ prefix is ignored). */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === strip(etag));
}
