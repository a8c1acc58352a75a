import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SCOPES, type Scope } from '../domain/scopes.js';

/**
 * Named tokens (`sealab token create|list|revoke`): a JSON file of `{ name, hash, scopes,
 * expiresAt, createdAt }`. Only the SHA-256 of each secret is stored; the secret is printed once
 * when created and kept nowhere. The server re-reads the file when it changes, so a revocation
 * holds from the next request.
 */
const TokenEntrySchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  scopes: z.array(z.enum(SCOPES)),
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
  createdAt: z.iso.datetime({ offset: true }),
});
const TokensFileSchema = z.object({ tokens: z.array(TokenEntrySchema) });
export type TokenEntry = z.infer<typeof TokenEntrySchema>;
/** What `token list` shows: everything but the hash. */
export type TokenInfo = Omit<TokenEntry, 'hash'>;

export const TOKEN_PREFIX = 'slb_';
export const TOKEN_NAME_RULE = 'lower-case letters, digits, dot, dash or underscore, starting with a letter or digit (at most 64), e.g. ci';

const hashOf = (secret: string) => `sha256:${createHash('sha256').update(secret).digest('hex')}`;

export class TokensFileError extends Error {}

function read(file: string): TokenEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed = TokensFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new TokensFileError(`${file}: not a sealab tokens file (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data.tokens;
}

/** Replaced whole (write, then rename), readable by its owner only. */
function write(file: string, tokens: TokenEntry[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ tokens }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** A new named token; returns the secret, which is stored nowhere (only its hash). */
export function createToken(
  file: string,
  opts: { name: string; scopes: Scope[]; expiresDays?: number },
  now = new Date(),
): { secret: string; token: TokenInfo } {
  if (!TokenEntrySchema.shape.name.safeParse(opts.name).success) throw new TokensFileError(`--name: ${TOKEN_NAME_RULE}`);
  if (opts.scopes.length === 0) throw new TokensFileError('--scopes: name at least one scope, e.g. read,write');
  const tokens = read(file);
  if (tokens.some((t) => t.name === opts.name)) throw new TokensFileError(`a token named '${opts.name}' exists; revoke it first or pick another name`);
  const secret = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const entry: TokenEntry = {
    name: opts.name,
    hash: hashOf(secret),
    scopes: opts.scopes,
    expiresAt: opts.expiresDays === undefined ? null : new Date(now.getTime() + opts.expiresDays * 86_400_000).toISOString(),
    createdAt: now.toISOString(),
  };
  write(file, [...tokens, entry]);
  const { hash: _hash, ...token } = entry;
  return { secret, token };
}

export function listTokens(file: string): TokenInfo[] {
  return read(file).map(({ hash: _hash, ...info }) => info);
}

/** False when no token has that name. */
export function revokeToken(file: string, name: string): boolean {
  const tokens = read(file);
  const kept = tokens.filter((t) => t.name !== name);
  if (kept.length === tokens.length) return false;
  write(file, kept);
  return true;
}

export type TokenCheck = { kind: 'valid'; name: string; scopes: Scope[] } | { kind: 'expired'; name: string; expiresAt: string } | { kind: 'unknown' };

export interface TokenVerifier {
  /** True once the file exists (even empty): from then on every request must present a token. */
  active(): boolean;
  verify(secret: string, now?: Date): TokenCheck;
}

/**
 * Checks bearers against the file, re-read whenever it is replaced; the hashes are compared in
 * constant time. The file is stat'ed at most once per `recheckMs` (default 1 s), not on every
 * request: a created or revoked token takes effect within that time, as every write does (DESIGN.md).
 */
export function tokenVerifier(file: string, opts: { recheckMs?: number } = {}): TokenVerifier {
  const recheckMs = opts.recheckMs ?? 1000;
  let seen = '';
  let present = false;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let tokens: Array<TokenEntry & { digest: Buffer }> = [];
  const refresh = () => {
    const now = performance.now();
    if (now - checkedAt < recheckMs) return present;
    checkedAt = now;
    const st = fs.statSync(file, { throwIfNoEntry: false });
    const stamp = st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '';
    if (stamp !== seen) {
      seen = stamp;
      tokens = st ? read(file).map((t) => ({ ...t, digest: Buffer.from(t.hash) })) : [];
    }
    present = st !== undefined;
    return present;
  };
  return {
    active: refresh,
    verify(secret, now = new Date()) {
      refresh();
      const digest = Buffer.from(hashOf(secret));
      let found: TokenEntry | undefined;
      for (const t of tokens) if (timingSafeEqual(digest, t.digest) && !found) found = t;
      if (!found) return { kind: 'unknown' };
      if (found.expiresAt !== null && Date.parse(found.expiresAt) <= now.getTime()) return { kind: 'expired', name: found.name, expiresAt: found.expiresAt };
      return { kind: 'valid', name: found.name, scopes: found.scopes };
    },
  };
}
