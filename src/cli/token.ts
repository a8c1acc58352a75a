import { parseScopes, SCOPES } from '../domain/scopes.js';
import { createToken, listTokens, revokeToken, TokensFileError } from '../store/tokens-file.js';

export interface TokenCommand {
  action: string | undefined;
  file: string;
  name?: string;
  scopes?: string;
  expiresDays?: string;
  /** The secret (create) and the list: stdout, nothing else. */
  out: (line: string) => void;
  /** What a person reads: stderr. */
  note: (line: string) => void;
}

/** `sealab token create|list|revoke`: named tokens in the tokens file (only hashes stored). */
export function runToken(cmd: TokenCommand): void {
  if (cmd.action === 'create') {
    if (!cmd.name) throw new TokensFileError('token create: --name is required, e.g. --name ci');
    const { scopes, unknown } = parseScopes(cmd.scopes ?? '');
    if (unknown.length) throw new TokensFileError(`--scopes: unknown ${unknown.join(', ')}; the scopes are ${SCOPES.join(', ')}`);
    const days = cmd.expiresDays === undefined ? undefined : Number(cmd.expiresDays);
    if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new TokensFileError('--expires-days: a whole number of days, e.g. 90');
    const { secret, token } = createToken(cmd.file, { name: cmd.name, scopes, ...(days !== undefined ? { expiresDays: days } : {}) });
    cmd.out(secret);
    cmd.note(
      `created token '${token.name}' (${token.scopes.join(', ')}; ${token.expiresAt ? `expires ${token.expiresAt}` : 'no expiry'}) in ${cmd.file}. ` +
        'The secret above is shown once and stored nowhere: send it as Authorization: Bearer <secret>.',
    );
    return;
  }
  if (cmd.action === 'list') {
    for (const t of listTokens(cmd.file)) cmd.out(`${t.name}\t${t.scopes.join(',')}\t${t.expiresAt ?? 'never'}\t${t.createdAt}`);
    return;
  }
  if (cmd.action === 'revoke') {
    if (!cmd.name) throw new TokensFileError('token revoke: --name is required');
    if (!revokeToken(cmd.file, cmd.name)) throw new TokensFileError(`no token named '${cmd.name}' in ${cmd.file} (sealab token list shows the names)`);
    cmd.note(`revoked token '${cmd.name}': servers refuse it from their next request`);
    return;
  }
  throw new TokensFileError('usage: sealab token create --name N --scopes read,write [--expires-days D] | token list | token revoke --name N');
}
