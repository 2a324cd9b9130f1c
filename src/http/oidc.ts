/**
 * JWT access tokens of one OAuth 2.0 / OpenID Connect issuer (contract §6,
 * `OIDC_ISSUER`): the key set is found by discovery (or `OIDC_JWKS_URI`),
 * signatures are checked by `jose` with asymmetric algorithms only, and
 * `iss`, `aud`, `exp`, `nbf` are checked. jose's remote key set refetches on
 * an unknown `kid` at most once per cooldown, so a rotated key is picked up
 * and a flood of foreign tokens cannot flood the issuer.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { RequestClient } from './request-client.js';

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** The key set's URL; unset: `jwks_uri` of the issuer's discovery document. */
  jwksUri?: string;
  /** Leeway for `exp`/`nbf`, in seconds (default 5). */
  clockToleranceSec?: number;
  /** The least time between two key set fetches for an unknown `kid`, in ms (default 30 s). */
  jwksCooldownMs?: number;
  /** Per fetch of the discovery document or key set, in ms (default 5 s). */
  fetchTimeoutMs?: number;
}

/** Only asymmetric signatures: an `HS256` token "signed" with a public key, or `alg: none`, is refused. */
export const ACCEPTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** The token is not one this facade accepts (401). */
export class InvalidToken extends Error {
  override name = 'InvalidToken';
}

/** The issuer's keys cannot be had right now (503): not the caller's fault. */
export class IssuerUnavailable extends Error {
  override name = 'IssuerUnavailable';
}

const wellKnown = ['openid-configuration', 'oauth-authorization-server'];

/** `<issuer>/.well-known/openid-configuration`, else RFC 8414's `oauth-authorization-server`. */
async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const base = issuer.replace(/\/+$/, '');
  for (const name of wellKnown) {
    const response = await fetch(`${base}/.well-known/${name}`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status === 404) continue;
    if (!response.ok) throw new IssuerUnavailable(`discovery answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== issuer || typeof document.jwks_uri !== 'string') {
      throw new IssuerUnavailable(
        `the discovery document at ${base}/.well-known/${name} does not name issuer ${issuer} and a jwks_uri`,
      );
    }
    return document.jwks_uri;
  }
  throw new IssuerUnavailable(`${issuer} publishes no discovery document`);
}

/** The caller's name: `client_id`, else `azp`, else `sub`. */
function clientName(payload: JWTPayload): string | undefined {
  for (const claim of ['client_id', 'azp', 'sub']) {
    const value = payload[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** Granted scopes: the `scope` claim (space-separated), else `scp` (a list or a string). */
function grantedScopes(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
  return list.filter((s): s is string => typeof s === 'string' && s !== '');
}

const invalidTokenErrors = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

export interface OidcVerifier {
  /** The caller a token stands for; throws InvalidToken or IssuerUnavailable. */
  verify(token: string): Promise<RequestClient>;
}

export function oidcVerifier(options: OidcOptions): OidcVerifier {
  const timeoutMs = options.fetchTimeoutMs ?? 5000;
  let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keys = () =>
    (keySet ??= (async () => {
      const uri = options.jwksUri ?? (await discoverJwksUri(options.issuer, timeoutMs));
      return createRemoteJWKSet(new URL(uri), {
        timeoutDuration: timeoutMs,
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
      });
    })().catch((error: unknown) => {
      keySet = undefined; // try discovery again on the next token
      throw error;
    }));
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, await keys(), {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ACCEPTED_ALGORITHMS,
          requiredClaims: ['exp'],
          clockTolerance: options.clockToleranceSec ?? 5,
        });
        const name = clientName(payload);
        if (name === undefined) throw new InvalidToken('the token names no client');
        return { name, scopes: grantedScopes(payload) };
      } catch (error) {
        if (error instanceof InvalidToken) throw error;
        if (invalidTokenErrors.some((kind) => error instanceof kind)) {
          throw new InvalidToken((error as Error).message, { cause: error });
        }
        throw new IssuerUnavailable(`the token's issuer keys could not be fetched`, {
          cause: error,
        });
      }
    },
  };
}
