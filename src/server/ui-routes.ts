import { type Context, Hono, type Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Container } from '../container.js';
import { AppError, toAppError, toProblem } from '../errors.js';
import { hasScope } from '../domain/scopes.js';
import { HOLDS_BUCKETS } from '../domain/lifecycle.js';
import { stripControl } from '../domain/schemas.js';
import type { WriteContext } from '../store/audit-repo.js';
import { sloView } from '../ops/slo/slo-view.js';
import { bundle } from '../ui/bundle.js';
import { consoleCss } from '../ui/assets.js';
import type { Html } from '../ui/pages/html.js';
import { layout, type Shell, type Viewer } from '../ui/pages/layout.js';
import { loginPage, refusalPage } from '../ui/pages/login.js';
import { experimentsBody, STATUSES } from '../ui/pages/experiments.js';
import { experimentBody } from '../ui/pages/experiment.js';
import { surfaceBody } from '../ui/pages/surface.js';
import { approvalsBody } from '../ui/pages/approvals.js';
import { sloBody } from '../ui/pages/slo.js';
import type { GuardHeaders, HttpVars, Identity, Refusal } from './http-vars.js';
import type { RequestGuard } from './http-app.js';
import { csrfToken, endSession, hasSession, sameOriginPost, sessionAuthorization, startSession } from './ui-session.js';

type C = Context<{ Variables: HttpVars }>;

/**
 * Scripts only from this origin; styles also inline because Observable Plot writes a <style> into
 * each chart it draws (no script can be injected through a style). Nothing is loaded from elsewhere.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const FORM_MAX_BYTES = 16_384;

/**
 * The console at /ui (docs/adr/0017-console.md): server-rendered pages over the same services as
 * REST, behind the same guard (guard.check: DNS-rebinding check, bearer or session cookie, the
 * route's scope from src/domain/scopes.ts). Refusals are pages, not problem JSON: a missing or
 * wrong token sends a browser to /ui/login, a missing scope explains which one.
 */
export function uiRoutes(app: Container, guard: RequestGuard) {
  const r = new Hono<{ Variables: HttpVars }>();
  r.use('*', async (c, next) => {
    await next();
    c.header('content-security-policy', CONSOLE_CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    if (!c.req.path.startsWith('/ui/assets/')) c.header('cache-control', 'no-store');
  });

  // Public: the stylesheet and the page script hold no data; the login page needs the stylesheet.
  r.get('/assets/console.css', async (c) => c.body(consoleCss(), 200, { 'content-type': 'text/css; charset=utf-8' }));
  r.get('/assets/console.js', async (c) => c.body(await bundle('console'), 200, { 'content-type': 'text/javascript; charset=utf-8' }));

  r.get('/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (isIdentity(await check(guard, c, 'GET', '/ui', undefined))) return c.redirect(next, 303);
    return page(c, loginPage({ next }));
  });
  r.post('/login', bodyLimit({ maxSize: FORM_MAX_BYTES }), async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    if (!sameOriginPost(c, form, true))
      return refused(c, new AppError('FORBIDDEN', 'this sign-in did not come from a sealab page', 'Open /ui/login and sign in there.'));
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const who = await check(guard, c, 'GET', '/ui', token ? `Bearer ${token}` : '');
    if (!isIdentity(who)) {
      const e = who.error;
      const message = e.code === 'UNAUTHORIZED' ? `That token was refused: ${e.message}.` : e.message;
      return page(c, loginPage({ next, error: message }), e.code === 'UNAUTHORIZED' ? 401 : 403);
    }
    startSession(c, token);
    return c.redirect(next, 303);
  });
  r.post('/logout', bodyLimit({ maxSize: FORM_MAX_BYTES }), async (c) => {
    const form = await c.req.parseBody();
    if (!sameOriginPost(c, form)) return refused(c, csrfRefusal());
    endSession(c);
    return c.redirect('/ui/login', 303);
  });

  // Everything below needs a principal with the route's scope.
  r.use('*', (c, next) => admit(guard, c, next));

  r.get('/', async (c) => {
    const surface = c.req.query('surface') || undefined;
    const status = (STATUSES as readonly string[]).includes(c.req.query('status') ?? '') ? c.req.query('status') : undefined;
    const all = await app.experiments.list(surface ? { surfaceId: surface } : {});
    return page(c, await shell(app, c, { title: 'Experiments', current: 'experiments', body: experimentsBody(await surfaces(app), all, { surface, status }) }));
  });
  r.get('/experiments/:id', async (c) => {
    const e = await app.experiments.get(c.req.param('id'));
    const approvals = await app.approvals.list({ experimentId: e.id, limit: 20 });
    const audits = await Promise.all([
      app.deps.store.audit.forEntity('experiment', e.id),
      ...approvals.map((a) => app.deps.store.audit.forEntity('approval', a.id)),
    ]);
    const audit = audits.flat().sort((a, b) => (a.at === b.at ? b.id - a.id : b.at.localeCompare(a.at)));
    return page(
      c,
      await shell(app, c, {
        title: `Experiment ${e.key}`,
        current: 'experiments',
        script: true,
        body: experimentBody(e, await app.ramps.status(e.id), approvals, audit),
      }),
    );
  });
  r.get('/surfaces/:id', async (c) => {
    const s = await app.catalog.surface(c.req.param('id'));
    const holding = await app.experiments.list({ surfaceId: s.id, status: HOLDS_BUCKETS });
    const titles = new Map((await app.catalog.content()).map((x) => [x.id, x.title]));
    const body = surfaceBody(s, await app.catalog.defaultLayout(s.id), (id) => titles.get(id), holding);
    return page(c, await shell(app, c, { title: `Surface ${s.name}`, current: 'surfaces', body }));
  });
  r.get('/approvals', async (c) => page(c, await approvalsPage(app, c)));
  r.post('/approvals/:id/:verb{approve|reject}', bodyLimit({ maxSize: FORM_MAX_BYTES }), async (c) => {
    const form = await c.req.parseBody();
    if (!sameOriginPost(c, form)) return refused(c, csrfRefusal());
    const id = c.req.param('id');
    const verb = c.req.param('verb') as 'approve' | 'reject';
    const reason = typeof form.reason === 'string' && form.reason.trim() ? stripControl(form.reason).slice(0, 500) : undefined;
    const ctx = writeContext(c, `POST /ui/approvals/:id/${verb}`, reason);
    try {
      if (verb === 'approve') {
        const { approval, experiment } = await app.approvals.approve(id, ctx, reason);
        const text = `Approved ${approval.id}: ${approval.summary}. ${experiment.key} is ${experiment.status} at ${experiment.allocationPercent}%.`;
        return page(c, await approvalsPage(app, c, { kind: 'ok', text }));
      }
      if (!reason || reason.length < 3)
        throw new AppError('INVALID_INPUT', 'a rejection needs a reason of at least 3 characters', 'Say why in the reason field and reject again.');
      const approval = await app.approvals.reject(id, ctx, reason);
      return page(c, await approvalsPage(app, c, { kind: 'ok', text: `Rejected ${approval.id}: ${approval.summary}.` }));
    } catch (err) {
      const e = toAppError(err);
      if (e.code === 'INTERNAL') c.get('log')?.error({ err }, 'console approval failed');
      return page(c, await approvalsPage(app, c, { kind: 'error', text: `${e.message}. ${e.hint}` }), toProblem(e).status);
    }
  });
  r.get('/slo', async (c) => page(c, await shell(app, c, { title: 'SLOs', current: 'slo', script: true, body: sloBody(sloView(app.slo.status())) })));

  r.all('*', (c) => refused(c, new AppError('NOT_FOUND', `no console page ${c.req.method} ${c.req.path}`, 'Start from /ui.')));
  r.onError((err, c) => {
    if (!(err instanceof AppError)) c.get('log')?.error({ err }, 'unhandled console error');
    return refused(c, toAppError(err));
  });
  return r;
}

/** The guard's verdict for this request, with the session cookie standing in for a missing Authorization header. */
function check(guard: RequestGuard, c: C, method: string, path: string, authorization: string | undefined): Promise<Refusal | Identity> {
  const h: GuardHeaders = {
    host: c.req.header('host'),
    origin: c.req.header('origin'),
    authorization: authorization ?? sessionAuthorization(c),
    contentLength: c.req.header('content-length'),
    transferEncoding: c.req.header('transfer-encoding'),
  };
  return Promise.resolve(guard.check(h, method, path));
}

const isIdentity = (w: Refusal | Identity): w is Identity => !('error' in w);

/** Lets an authorised request on; a browser without a valid token goes to the login page, one without the scope is told which. */
async function admit(guard: RequestGuard, c: C, next: Next) {
  const who = await check(guard, c, c.req.method, c.req.path, undefined);
  if (isIdentity(who)) {
    c.set('principal', who.principal);
    c.set('scopes', who.scopes);
    return next();
  }
  if (who.error.code === 'UNAUTHORIZED') {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      const target = c.req.path + (new URL(c.req.url).search || '');
      return c.redirect(`/ui/login?next=${encodeURIComponent(target)}`, 303);
    }
    return page(c, loginPage({ next: '/ui', error: `Sign in again: ${who.error.message}.` }), 401);
  }
  return refused(c, who.error);
}

/** Only console paths are followed after a login (no open redirect). */
const safeNext = (next: string | undefined) => (next && /^\/ui(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/ui');

const csrfRefusal = () =>
  new AppError('FORBIDDEN', 'this form did not come from a sealab console page (origin or CSRF token mismatch)', 'Reload the page and submit the form again.');

function refused(c: C, e: AppError) {
  const status = toProblem(e).status as 400;
  return page(c, refusalPage(e.code === 'NOT_FOUND' ? 'Not found' : e.code === 'INSUFFICIENT_SCOPE' ? 'Not allowed' : 'Refused', e.message, e.hint), status);
}

const page = (c: C, body: Html, status = 200) => c.html(body.toString(), status as 200);

/** The audit context of a console write: the REST actor (`rest:<principal>`), so approvals match and refuse one's own request alike. */
const writeContext = (c: C, operation: string, rationale?: string): WriteContext => ({
  actor: `rest:${c.get('principal')}`,
  interface: 'rest',
  operation,
  requestId: c.get('requestId'),
  ...(rationale ? { rationale } : {}),
});

const surfaces = async (app: Container) => (await app.catalog.surfaces()).map((s) => ({ id: s.id, name: s.name }));

function viewer(c: C): Viewer {
  return { principal: c.get('principal'), scopes: c.get('scopes'), csrf: csrfToken(c), session: hasSession(c) };
}

async function shell(app: Container, c: C, s: Pick<Shell, 'title' | 'current' | 'body' | 'script'>): Promise<Html> {
  return layout({ ...s, viewer: viewer(c), surfaces: await surfaces(app), pendingApprovals: (await app.approvals.list({ status: 'pending' })).length });
}

async function approvalsPage(app: Container, c: C, notice?: { kind: 'ok' | 'error'; text: string }): Promise<Html> {
  const v = viewer(c);
  const pending = await app.approvals.list({ status: 'pending' });
  const decided = (await app.approvals.list({ limit: 30 })).filter((a) => a.status !== 'pending');
  const body = approvalsBody({
    pending,
    decided,
    canDecide: hasScope(v.scopes, 'approve'),
    principal: v.principal,
    csrf: v.csrf,
    ...(notice ? { notice } : {}),
  });
  return layout({ title: 'Approvals', current: 'approvals', body, viewer: v, surfaces: await surfaces(app), pendingApprovals: pending.length });
}
