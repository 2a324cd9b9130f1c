/**
 * A real OAuth 2.0 authorization server for the auth tests: panva's
 * `oidc-provider` (OpenID Certified), on a loopback port, with the client
 * credentials grant for three clients: one with a client secret
 * (`client_secret_basic`) and two SMART backend clients authenticating with
 * `private_key_jwt`, one signing RS384 and one ES384 (their key pairs are made
 * here, per run). Access tokens are JWTs (RFC 9068) for one resource, the FHIR
 * proxy's base URL, chosen by resource indicator (RFC 8707) so a resource
 * server can verify them offline against the provider's JWKS.
 *
 * Options for the facade's own access-control tests: more scopes and
 * resources to issue tokens for, `token()` (client credentials with a scope
 * and resource), `rotateSigningKey()` (a new signing key published and used
 * while the server runs) and a count of key set fetches.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, exportPKCS8, type JWK } from 'jose';
import Provider, { errors } from 'oidc-provider';

export const SMART_SCOPES = 'system/Patient.cruds system/Practitioner.cruds';

export interface SmartClientKeys {
  clientId: string;
  keyId: string;
  algorithm: 'RS384' | 'ES384';
  /** PKCS#8 PEM of the private key. */
  privatePem: string;
  /** The private key as a JWK (with kid and alg). */
  privateJwk: JWK;
}

export interface OAuthServer {
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** The audience of every access token: the protected FHIR base URL. */
  resource: string;
  secretClient: { clientId: string; clientSecret: string };
  smartClients: { RS384: SmartClientKeys; ES384: SmartClientKeys };
  /** Lifetime of the tokens issued from now on, in seconds. */
  setTokenTtl(seconds: number): void;
  /** Tokens issued so far (successful token requests). */
  readonly issued: number;
  /** GET /jwks requests so far. */
  readonly jwksFetches: number;
  /** The `kid` tokens are signed with now. */
  readonly signingKeyId: string;
  /** A client-credentials access token (JWT) of the secret client with these scopes, for `resource` (default the main one). */
  token(scope: string, resource?: string): Promise<string>;
  /** Publishes a new signing key (kept: the old one) and signs every later token with it. */
  rotateSigningKey(): Promise<void>;
  stop(): Promise<void>;
}

export interface OAuthServerOptions {
  /** Scopes the provider may grant (default SMART_SCOPES). */
  scopes?: readonly string[];
  /** Resources besides `resource` that tokens may be asked for (a token for another audience). */
  otherResources?: readonly string[];
  /** Publish discovery only as RFC 8414 `oauth-authorization-server` (openid-configuration is then 404). */
  oauthMetadataOnly?: boolean;
}

async function signingKey(kid: string): Promise<JWK> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(pair.privateKey)), kid, alg: 'RS256', use: 'sig' };
}

async function smartClient(
  clientId: string,
  algorithm: 'RS384' | 'ES384',
): Promise<{ keys: SmartClientKeys; publicJwk: JWK }> {
  const pair = await generateKeyPair(algorithm, { extractable: true });
  const keyId = `${clientId}-key`;
  const publicJwk = {
    ...(await exportJWK(pair.publicKey)),
    kid: keyId,
    alg: algorithm,
    use: 'sig',
  };
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid: keyId, alg: algorithm };
  return {
    keys: {
      clientId,
      keyId,
      algorithm,
      privatePem: await exportPKCS8(pair.privateKey),
      privateJwk,
    },
    publicJwk,
  };
}

/** Starts the provider; `resource` is the audience its tokens are for (the proxy's FHIR base URL). */
export async function startOAuthServer(
  resource: string,
  options: OAuthServerOptions = {},
): Promise<OAuthServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let signingKeys = [await signingKey('provider-signing')];
  const scopes = options.scopes ?? SMART_SCOPES.split(' ');
  const resources = [resource, ...(options.otherResources ?? [])];
  const rs = await smartClient('smart-rs384', 'RS384');
  const es = await smartClient('smart-es384', 'ES384');
  const secretClient = { clientId: 'fhir-secret-client', clientSecret: `s3cret-${Date.now()}` };
  let ttl = 300;

  const newProvider = (): Provider =>
    new Provider(issuer, {
      clients: [
        {
          client_id: secretClient.clientId,
          client_secret: secretClient.clientSecret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        ...[rs, es].map(({ keys, publicJwk }) => ({
          client_id: keys.clientId,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'private_key_jwt' as const,
          token_endpoint_auth_signing_alg: keys.algorithm,
          jwks: { keys: [publicJwk] },
        })),
      ],
      jwks: { keys: signingKeys },
      scopes: [...scopes],
      clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
      enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384'] },
      cookies: { keys: [`cookie-${Date.now()}`] },
      ttl: { ClientCredentials: () => ttl },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // A token request without `resource` is for the FHIR server.
          defaultResource: () => resource,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, indicator) => {
            if (!resources.includes(indicator)) throw new errors.InvalidTarget();
            return {
              scope: scopes.join(' '),
              audience: indicator,
              accessTokenTTL: ttl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
    });
  let issued = 0;
  let jwksFetches = 0;
  let handler: ReturnType<Provider['callback']>;
  const install = () => {
    const provider = newProvider();
    provider.on('grant.success', () => issued++);
    handler = provider.callback();
  };
  install();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/jwks')) jwksFetches++;
    if (options.oauthMetadataOnly) {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(404).end();
        return;
      }
      // oidc-provider publishes one metadata document; the same one under the RFC 8414 name.
      if (req.url === '/.well-known/oauth-authorization-server')
        req.url = '/.well-known/openid-configuration';
    }
    void handler(req, res);
  });

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    resource,
    secretClient,
    smartClients: { RS384: rs.keys, ES384: es.keys },
    setTokenTtl: (seconds) => (ttl = seconds),
    get issued() {
      return issued;
    },
    get jwksFetches() {
      return jwksFetches;
    },
    get signingKeyId() {
      return signingKeys[0]!.kid!;
    },
    async token(scope, forResource = resource) {
      const answer = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${secretClient.clientId}:${secretClient.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope,
          resource: forResource,
        }),
      });
      const body = (await answer.json()) as { access_token?: string };
      if (!answer.ok || !body.access_token)
        throw new Error(`token request failed: ${answer.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async rotateSigningKey() {
      signingKeys = [
        await signingKey(`provider-signing-${signingKeys.length + 1}`),
        ...signingKeys,
      ];
      install();
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
