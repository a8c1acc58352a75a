import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

/** The scopes the test authorization server grants for sealab (its resource server's scope list). */
const SEALAB_SCOPES = 'read write deploy admin approve';

export interface AuthorizationServer {
  issuer: string;
  /** The signing key the server publishes in its JWKS, so a test can sign tokens it would have issued, with other claims. */
  privateKey: CryptoKey;
  kid: string;
  /** Client credentials grant (client_secret_basic) for `resource` and `scope`: the access token, or the error body. */
  token(opts: { clientId?: string; secret?: string; resource: string; scope: string }): Promise<{ status: number; accessToken?: string; body: unknown }>;
  close(): Promise<void>;
}

export const CLIENT_ID = 'sealab-ci';
export const CLIENT_SECRET = 'a-client-secret-only-for-tests';

/**
 * A real OAuth authorization server (panva/oidc-provider) on a loopback ephemeral port: the client
 * credentials grant, resource indicators (RFC 8707) issuing JWT access tokens (RFC 9068) whose
 * audience is the requested resource, and one ES256 key the test holds too.
 */
export async function startAuthorizationServer(): Promise<AuthorizationServer> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'as-key-1';
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
        scope: SEALAB_SCOPES,
      },
    ],
    jwks: { keys: [jwk] },
    scopes: SEALAB_SCOPES.split(' '),
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => ({
          scope: SEALAB_SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    privateKey,
    kid,
    async token({ clientId = CLIENT_ID, secret = CLIENT_SECRET, resource, scope }) {
      const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
      const res = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
      });
      const body = (await res.json()) as { access_token?: string };
      return { status: res.status, body, ...(body.access_token ? { accessToken: body.access_token } : {}) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
