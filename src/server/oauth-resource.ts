import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/server';
import { AppError } from '../errors.js';
import { isScope, SCOPES, type Scope } from '../domain/scopes.js';
import { oauthPrincipal, type Identity, type Refusal } from './http-vars.js';

/**
 * sealab as an OAuth 2.1 resource server (MCP authorization spec, docs/adr/0009): JWT access tokens
 * from one issuer, verified against its JWKS, with this server's resource URL as their audience.
 */
export interface OAuthOptions {
  /** The authorization server's issuer URL (`iss` of every accepted token). */
  issuer: string;
  /** This server's canonical MCP URL: the audience (`aud`) every accepted token carries. */
  resource: string;
  /** The issuer's JWKS; else `jwks_uri` from its RFC 8414 or OpenID discovery document. */
  jwksUrl?: string;
  /** Prefix of sealab scopes in the token's scope claim (`sealab:` → `sealab:read`); default none. */
  scopePrefix?: string;
  /** How long discovery and JWKS fetches may take; default 5000 ms. */
  timeoutMs?: number;
}

export interface OAuthResource {
  /** The RFC 9728 metadata URL that every 401 names (`resource_metadata`). */
  metadataUrl: string;
  /** Paths the metadata document is served at: path-suffixed (RFC 9728 §3.1) and the root one. */
  metadataPaths: string[];
  metadata(): ProtectedResourceMetadata;
  /** The WWW-Authenticate challenge, with the OAuth error when a presented token was refused. */
  challenge(error?: { code: string; description: string }): string;
  /** A sealab scope as the token's scope claim carries it (with SEALAB_OAUTH_SCOPE_PREFIX). */
  tokenScope(scope: Scope): string;
  /** What an OAuth client lacking `scope` should do next. */
  scopeHint(scope: Scope): string;
  /** Sync for a token already verified (until it expires), else a promise; never rejects. */
  verify(token: string): Identity | Refusal | Promise<Identity | Refusal>;
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

/** Asymmetric signatures only: `none` and HMAC (a secret this server would have to share) are refused. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_S = 30;
const CACHE_SIZE = 1024;

/** Looks like a compact JWS (three base64url parts; an unsigned token has an empty third). */
export const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export function oauthResource(opts: OAuthOptions): OAuthResource {
  const prefix = opts.scopePrefix ?? '';
  const metadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(opts.resource));
  const keys = issuerKeys(opts);
  // Verified tokens until they expire, so a client's next requests skip the signature check (and stay synchronous).
  const verified = new Map<string, { identity: Identity; until: number }>();
  const challenge = (error?: { code: string; description: string }) =>
    `Bearer realm="sealab", resource_metadata="${metadataUrl}"${error ? `, error="${error.code}", error_description="${quotable(error.description)}"` : ''}`;
  const refuse = (message: string, hint: string): Refusal => ({
    error: new AppError('UNAUTHORIZED', message, hint),
    headers: { 'www-authenticate': challenge({ code: 'invalid_token', description: message }) },
  });
  const newToken = `Get a new access token from ${opts.issuer} (client credentials: POST its token endpoint with resource=${opts.resource}) and send it as Authorization: Bearer <token>.`;

  const check = async (token: string): Promise<Identity | Refusal> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: opts.issuer,
        audience: opts.resource,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      return refusal(err, opts, refuse, newToken);
    }
    const who = clientOf(payload);
    if (!who) return refuse('the access token names no client (client_id, azp) or subject (sub)', newToken);
    const identity: Identity = { principal: oauthPrincipal(who), scopes: scopesOf(payload, prefix) };
    if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(token, { identity, until: (payload.exp as number) * 1000 + CLOCK_TOLERANCE_S * 1000 });
    return identity;
  };

  return {
    metadataUrl,
    metadataPaths: [...new Set([new URL(metadataUrl).pathname, '/.well-known/oauth-protected-resource'])],
    metadata: () => ({
      resource: opts.resource,
      authorization_servers: [opts.issuer],
      scopes_supported: SCOPES.map((s) => `${prefix}${s}`),
      bearer_methods_supported: ['header'],
      resource_name: 'sealab',
    }),
    challenge,
    tokenScope: (scope) => `${prefix}${scope}`,
    scopeHint: (scope) =>
      `Request an access token from ${opts.issuer} with scope=${prefix}${scope} and resource=${opts.resource} (the client must be allowed that scope), or ask its owner to make this call.`,
    verify(token) {
      const hit = verified.get(token);
      if (hit && Date.now() < hit.until) return hit.identity;
      if (hit) verified.delete(token);
      if (!looksLikeJwt(token)) return refuse('the bearer token is malformed: not a JWT access token (header.payload.signature)', newToken);
      return check(token);
    },
  };
}

/** Why a token failed, for the caller; a key fetch that failed is the issuer's outage, not the caller's fault (503). */
function refusal(err: unknown, opts: OAuthOptions, refuse: (m: string, h: string) => Refusal, newToken: string): Refusal {
  if (err instanceof errors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? new Date(err.payload.exp * 1000).toISOString() : 'its exp';
    return refuse(`the access token expired at ${exp}`, newToken);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud')
      return refuse(
        `the access token is not for this server: its audience is not ${opts.resource}`,
        `Request the token with the resource indicator resource=${opts.resource} (RFC 8707), the URL in ${getOAuthProtectedResourceMetadataUrl(new URL(opts.resource))}.`,
      );
    if (err.claim === 'iss') return refuse(`the access token was not issued by ${opts.issuer}, the only issuer sealab trusts`, newToken);
    if (err.claim === 'nbf')
      return refuse('the access token is not valid yet (nbf is in the future)', 'Check the clocks of the authorization server and sealab, or retry shortly.');
    return refuse(`the access token's '${err.claim}' claim is ${err.reason === 'missing' ? 'missing' : 'invalid'}`, newToken);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return refuse(`the access token's algorithm is refused: sealab accepts ${ALLOWED_ALGORITHMS.join(', ')} signatures (never none or HMAC)`, newToken);
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return refuse(`the access token's signature does not verify against the keys of ${opts.issuer}`, newToken);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return refuse('the bearer token is malformed: not a valid signed JWT', newToken);
  if (err instanceof AppError) return { error: err };
  return {
    error: new AppError(
      'UPSTREAM_UNAVAILABLE',
      `could not fetch the signing keys of ${opts.issuer} to verify the access token`,
      'Retry shortly; if it persists, check that the authorization server is reachable from sealab (SEALAB_OAUTH_JWKS_URL).',
    ),
  };
}

/** The issuer's keys, from its JWKS URL or, at first use, from its discovery document (retried after a failure). */
function issuerKeys(opts: OAuthOptions): JWTVerifyGetKey {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let jwks: Promise<JWTVerifyGetKey> | undefined;
  const load = async () => createRemoteJWKSet(new URL(opts.jwksUrl ?? (await discoverJwksUri(opts.issuer, timeoutMs))), { timeoutDuration: timeoutMs });
  return async (header, token) => {
    jwks ??= load().catch((err: unknown) => {
      jwks = undefined;
      throw err;
    });
    return (await jwks)(header, token);
  };
}

/** `jwks_uri` from RFC 8414 metadata, else OpenID discovery; the document must name the configured issuer (RFC 8414 §3.3). */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  const candidates = [new URL(`/.well-known/oauth-authorization-server${path}`, url), new URL(`${path}/.well-known/openid-configuration`, url)];
  for (const candidate of candidates) {
    const res = await fetch(candidate, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } }).catch(() => undefined);
    if (!res?.ok) continue;
    const doc = (await res.json().catch(() => ({}))) as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') continue;
    return doc.jwks_uri;
  }
  throw new AppError(
    'UPSTREAM_UNAVAILABLE',
    `could not discover the signing keys of ${issuer}: no metadata naming that issuer with a jwks_uri`,
    'Check SEALAB_OAUTH_ISSUER (exactly as the server writes its iss), or set SEALAB_OAUTH_JWKS_URL.',
  );
}

/** `client_id` (RFC 9068), `azp` (OpenID), else `sub`: who the audit log names. */
function clientOf(p: JWTPayload): string | undefined {
  for (const claim of [p.client_id, p.azp, p.sub]) if (typeof claim === 'string' && claim && claim.length <= 128) return claim;
  return undefined;
}

/** sealab scopes from `scope` (space-separated, RFC 9068) or `scp` (a list or a string); other scopes are ignored. */
export function scopesOf(p: JWTPayload, prefix: string): Scope[] {
  const raw = typeof p.scope === 'string' ? p.scope.split(' ') : Array.isArray(p.scp) ? p.scp : typeof p.scp === 'string' ? p.scp.split(' ') : [];
  const names = raw.filter((s): s is string => typeof s === 'string' && s.startsWith(prefix)).map((s) => s.slice(prefix.length));
  return [...new Set(names.filter(isScope))];
}

/** An RFC 6750 quoted-string value: no quotes or backslashes. */
const quotable = (text: string) => text.replace(/["\\]/g, "'");
