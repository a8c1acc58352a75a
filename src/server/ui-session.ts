import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * The console's cookie session (docs/adr/0017-console.md). The cookie holds the bearer token the
 * person typed on /ui/login, and every request verifies it exactly as an `Authorization: Bearer`
 * header (authenticate.ts): the same principal, scopes, expiry and revocation. It is HttpOnly (no
 * script reads it), SameSite=Strict (no other site's page sends it) and Secure over https.
 */
export const SESSION_COOKIE = 'sealab_session';
/** The double-submit CSRF token: a random value in a cookie, repeated in every console form. */
export const CSRF_COOKIE = 'sealab_csrf';
const SESSION_HOURS = 12;

const secure = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
const options = (c: Context, path: string, maxAge: number) => ({ path, httpOnly: true, sameSite: 'Strict', secure: secure(c), maxAge }) as const;

/**
 * The Authorization value a request carries: its own header, else the session cookie as a bearer
 * token. The cookie counts only for the console and for reads of /v1 (the console's page script
 * fetches results): a write through /v1 still needs the header, so no form elsewhere can use it.
 */
export function sessionAuthorization(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header) return header;
  const m = c.req.method;
  const cookieCounts = c.req.path === '/ui' || c.req.path.startsWith('/ui/') || ((m === 'GET' || m === 'HEAD') && c.req.path.startsWith('/v1/'));
  if (!cookieCounts) return undefined;
  const token = getCookie(c, SESSION_COOKIE);
  return token ? `Bearer ${token}` : undefined;
}

export const hasSession = (c: Context) => Boolean(getCookie(c, SESSION_COOKIE));

export function startSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, options(c, '/', SESSION_HOURS * 3600));
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(c) });
}

/** This browser's CSRF token, set on first use; pages put it in a hidden field of every form. */
export function csrfToken(c: Context): string {
  const current = getCookie(c, CSRF_COOKIE);
  if (current && /^[A-Za-z0-9_-]{24}$/.test(current)) return current;
  const fresh = randomBytes(18).toString('base64url');
  setCookie(c, CSRF_COOKIE, fresh, options(c, '/ui', SESSION_HOURS * 3600));
  return fresh;
}

/**
 * Whether a console form post came from a console page: its Origin (else Referer) names this host,
 * and, unless `tokenless`, its `csrf` field equals the CSRF cookie. SameSite=Strict already keeps
 * the session cookie off other sites' requests; these two checks hold without relying on it.
 */
export function sameOriginPost(c: Context, form: Record<string, unknown>, tokenless = false): boolean {
  const from = c.req.header('origin') ?? c.req.header('referer');
  let host: string | undefined;
  try {
    host = from ? new URL(from).host : undefined;
  } catch {
    host = undefined;
  }
  if (!host || host !== c.req.header('host')) return false;
  if (tokenless) return true;
  const cookie = getCookie(c, CSRF_COOKIE) ?? '';
  const field = typeof form.csrf === 'string' ? form.csrf : '';
  return cookie.length > 0 && cookie.length === field.length && timingSafeEqual(Buffer.from(cookie), Buffer.from(field));
}
