import { timingSafeEqual } from 'node:crypto';
import { isLoopback } from '../config.js';
import { AppError } from '../errors.js';
import { capScopes, type Scope } from '../domain/scopes.js';
import { tokenVerifier } from '../store/tokens-file.js';
import { BEARER_IDENTITY, LOCAL_IDENTITY, tokenPrincipal, type GuardHeaders, type Identity, type Refusal } from './http-vars.js';
import { looksLikeJwt, type OAuthResource } from './oauth-resource.js';

export interface AuthOptions {
  host: string;
  /** The legacy SEALAB_TOKEN: `client:bearer` with every scope. */
  token?: string;
  /** Named tokens (`sealab token create`): `token:<name>` with its scopes, once the file exists. */
  tokensFile?: string;
  /** OAuth access tokens (oauth-resource.ts): `oauth:<client>` with the sealab scopes of its scope claim. */
  oauth?: OAuthResource;
  /** `--read-only`: every principal is capped at the read scope. */
  readOnly?: boolean;
}

/**
 * Who the bearer is: the legacy SEALAB_TOKEN, a JWT access token when OAuth is configured, else a
 * named token. With none of the three configured, a loopback caller is the local principal; off
 * loopback nobody is (a tokens file that does not exist yet refuses everyone). Synchronous except
 * for an OAuth token seen for the first time.
 */
export function bearerCheck(opts: AuthOptions) {
  const expected = opts.token ? Buffer.from(opts.token) : undefined;
  const named = opts.tokensFile ? tokenVerifier(opts.tokensFile) : undefined;
  const oauth = opts.oauth;
  const anonymousAllowed = isLoopback(opts.host);
  const cap = (who: Identity): Identity => (opts.readOnly ? { ...who, scopes: capScopes(who.scopes, 'read') } : who);
  const capped = (who: Identity | Refusal) => ('error' in who ? who : cap(who));
  const local = cap(LOCAL_IDENTITY);
  const bearer = cap(BEARER_IDENTITY);
  const challenge = (presented: boolean, message: string) =>
    oauth
      ? oauth.challenge(presented ? { code: 'invalid_token', description: message } : undefined)
      : `Bearer realm="sealab"${presented ? ', error="invalid_token"' : ''}`;
  const unauthorized = (presented: boolean, message: string, hint: string): Refusal => ({
    error: new AppError('UNAUTHORIZED', message, hint),
    headers: { 'www-authenticate': challenge(presented, message) },
  });
  const ways = [
    ...(expected ? ['SEALAB_TOKEN'] : []),
    ...(named ? ['a token from `sealab token create`'] : []),
    ...(oauth ? ['an OAuth access token (see the resource metadata in WWW-Authenticate)'] : []),
  ];
  const missingHint = `Send Authorization: Bearer <token> with ${ways.join(', or ') || 'a token'}.`;

  return (h: GuardHeaders): Refusal | Identity | Promise<Refusal | Identity> => {
    if (!expected && !oauth && !named?.active() && anonymousAllowed) return local;
    const given = /^Bearer\s+(.+)$/i.exec(h.authorization ?? '')?.[1]?.trim() ?? '';
    if (!given) return unauthorized(false, 'missing bearer token', missingHint);
    const bytes = Buffer.from(given);
    if (expected && bytes.length === expected.length && timingSafeEqual(bytes, expected)) return bearer;
    if (oauth && looksLikeJwt(given)) {
      const who = oauth.verify(given);
      return who instanceof Promise ? who.then(capped) : capped(who);
    }
    const found = named ? named.verify(given) : { kind: 'unknown' as const };
    if (found.kind === 'valid') return cap({ principal: tokenPrincipal(found.name), scopes: found.scopes });
    if (found.kind === 'expired')
      return unauthorized(
        true,
        `the token '${found.name}' expired at ${found.expiresAt}`,
        `Create a new one with \`sealab token create --name ${found.name}-2 --scopes ...\` and send it.`,
      );
    return unauthorized(true, 'unknown or wrong bearer token', missingHint);
  };
}

/** The scopes a 403 challenge names, with the resource metadata when OAuth is configured (MCP scope challenge). */
export function scopeChallenge(needed: Scope, oauth?: OAuthResource): string {
  return `Bearer realm="sealab", error="insufficient_scope", scope="${oauth ? oauth.tokenScope(needed) : needed}"${oauth ? `, resource_metadata="${oauth.metadataUrl}"` : ''}`;
}
