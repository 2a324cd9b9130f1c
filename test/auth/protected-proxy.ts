/**
 * The FHIR server as a protected EMR endpoint: a loopback proxy in front of
 * the real HAPI server that forwards a request only with valid credentials.
 * A bearer JWT must verify against the authorization server's JWKS (`jose`
 * createRemoteJWKSet + jwtVerify: signature, issuer, audience = this base URL,
 * expiry, `typ` at+jwt); a static bearer token or basic credentials can be
 * allowed too. It serves `/.well-known/smart-configuration` (public, as SMART
 * requires) naming the provider's token endpoint, can revoke the tokens it has
 * seen (to make a server refuse a token mid-session), and counts what it did.
 */
import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { forward, relay, readBody, startLoopbackProxy } from '../support/forward.js';

export interface ProtectedProxyConfig {
  issuer?: string;
  jwksUri?: string;
  tokenEndpoint?: string;
  /** A static bearer token this proxy accepts. */
  staticToken?: string;
  /** Basic credentials this proxy accepts. */
  basic?: { username: string; password: string };
}

export interface ProtectedProxy {
  baseUrl: string;
  configure(config: ProtectedProxyConfig): void;
  /** Every JWT id accepted so far is refused from now on (a server revoking live tokens). */
  revokeSeen(): void;
  /** Called before an authorised request is forwarded (tests use it to revoke mid-paging). */
  beforeForward?: (url: string) => void;
  /** Answers given: 401s, forwarded requests, and the bearer values seen (for leak checks). */
  readonly stats: { unauthorized: number; forwarded: number; tokensSeen: Set<string> };
  stop(): Promise<void>;
}

const same = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export async function startProtectedProxy(upstreamBase: string): Promise<ProtectedProxy> {
  let config: ProtectedProxyConfig = {};
  let jwks: JWTVerifyGetKey | undefined;
  const seenJti = new Set<string>();
  const revoked = new Set<string>();
  const stats = { unauthorized: 0, forwarded: 0, tokensSeen: new Set<string>() };

  async function authorised(header: string | undefined, audience: string): Promise<boolean> {
    if (!header) return false;
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'basic' && config.basic) {
      const expected = Buffer.from(`${config.basic.username}:${config.basic.password}`).toString(
        'base64',
      );
      return same(value, expected);
    }
    if (scheme?.toLowerCase() !== 'bearer') return false;
    stats.tokensSeen.add(value);
    if (config.staticToken && same(value, config.staticToken)) return true;
    if (!jwks || !config.issuer) return false;
    try {
      const { payload } = await jwtVerify(value, jwks, {
        issuer: config.issuer,
        audience,
        typ: 'at+jwt',
      });
      if (typeof payload.jti !== 'string' || revoked.has(payload.jti)) return false;
      seenJti.add(payload.jti);
      return true;
    } catch {
      return false;
    }
  }

  const proxy: ProtectedProxy = {
    baseUrl: '',
    stats,
    configure(next) {
      config = next;
      jwks = next.jwksUri ? createRemoteJWKSet(new URL(next.jwksUri)) : undefined;
    },
    revokeSeen() {
      for (const jti of seenJti) revoked.add(jti);
    },
    stop: async () => undefined,
  };

  const loop = await startLoopbackProxy(upstreamBase, async (req, body, res, host) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.endsWith('/.well-known/smart-configuration')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: config.issuer,
          jwks_uri: config.jwksUri,
          token_endpoint: config.tokenEndpoint,
          grant_types_supported: ['client_credentials'],
          token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
          token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
          capabilities: ['client-confidential-asymmetric', 'permission-v2'],
        }),
      );
      return;
    }
    if (!(await authorised(req.headers.authorization, proxy.baseUrl))) {
      stats.unauthorized++;
      res.writeHead(401, {
        'content-type': 'application/fhir+json',
        'www-authenticate': 'Bearer error="invalid_token"',
      });
      res.end(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'login' }],
        }),
      );
      return;
    }
    proxy.beforeForward?.(req.url ?? '');
    stats.forwarded++;
    const upstream = await forward(upstreamBase, req, body, host);
    relay(upstream, await readBody(upstream), res);
  });
  proxy.baseUrl = loop.baseUrl;
  proxy.stop = () => loop.stop();
  return proxy;
}
