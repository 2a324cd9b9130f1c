/**
 * Who is calling (contract §6): a bearer token is a static client's (from
 * `API_TOKENS` or `API_CLIENTS_FILE`, known by its SHA-256, compared in
 * constant time) or a JWT access token of the configured OIDC issuer. The
 * caller is set with `setRequestClient`; anything else is 401 with
 * `WWW-Authenticate`. Per-route scope checks are `requireScope`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { noteError } from './logging.js';
import { InvalidToken, oidcVerifier, type OidcOptions } from './oidc.js';
import { httpProblem, problemTypes, sendProblem } from './problem.js';
import { requestClient, setRequestClient, type RequestClient } from './request-client.js';
import { allows, scopeNeeded, type Permission } from './scopes.js';

/** A client known by a static token: its name, the token's SHA-256 (hex) and its scopes. */
export interface StaticClient {
  name: string;
  tokenSha256: string;
  scopes: readonly string[];
}

export interface AuthOptions {
  /** `API_TOKENS`: each a client with every scope, named `api-token-1`, `api-token-2`, … */
  apiTokens?: readonly string[];
  /** `API_CLIENTS_FILE`'s clients. */
  clients?: readonly StaticClient[];
  /** `OIDC_ISSUER` …: JWT access tokens of this issuer. */
  oidc?: OidcOptions;
}

const REALM = 'Bearer realm="healthcare-fhir"';
export const FULL_ACCESS = ['system/*.cruds'];

export const sha256Hex = (value: string): string =>
  createHash('sha256').update(value, 'utf8').digest('hex');

/** `API_TOKENS="a, b"` → `['a', 'b']` (blank entries dropped). */
export function parseApiTokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** Every static client: `API_TOKENS` as full-access `api-token-N`, then the clients file's. */
export function staticClients(options: AuthOptions): StaticClient[] {
  const tokens = (options.apiTokens ?? []).filter((t) => t !== '');
  return [
    ...tokens.map((token, i) => ({
      name: `api-token-${i + 1}`,
      tokenSha256: sha256Hex(token),
      scopes: FULL_ACCESS,
    })),
    ...(options.clients ?? []),
  ];
}

/** Whether any authentication is configured. */
export function authConfigured(options: AuthOptions): boolean {
  return staticClients(options).length > 0 || options.oidc !== undefined;
}

/** The static client whose token digest matches; every digest is compared, in constant time. */
function staticClientOf(
  presented: string,
  clients: readonly StaticClient[],
  digests: readonly Buffer[],
): StaticClient | undefined {
  const candidate = Buffer.from(sha256Hex(presented), 'hex');
  let found: StaticClient | undefined;
  digests.forEach((known, i) => {
    if (timingSafeEqual(candidate, known) && !found) found = clients[i];
  });
  return found;
}

function unauthorized(res: Response, presented: boolean): void {
  res.set('WWW-Authenticate', presented ? `${REALM}, error="invalid_token"` : REALM);
  sendProblem(
    res,
    httpProblem(
      401,
      presented
        ? 'The bearer token is not valid.'
        : 'This route needs an Authorization: Bearer <token> header.',
    ),
  );
}

/** Authenticates every request that reaches it (mount it after the public routes). */
export function authenticate(options: AuthOptions): RequestHandler {
  const clients = staticClients(options);
  const digests = clients.map((c) => Buffer.from(c.tokenSha256, 'hex'));
  const jwt = options.oidc ? oidcVerifier(options.oidc) : undefined;
  return async (req, res, next) => {
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match) return unauthorized(res, false);
    const token = match[1]!;
    const known = staticClientOf(token, clients, digests);
    let client: RequestClient | undefined = known && { name: known.name, scopes: known.scopes };
    if (!client && jwt && token.split('.').length === 3) {
      try {
        client = await jwt.verify(token);
      } catch (error) {
        if (!(error instanceof InvalidToken)) {
          noteError(res, error);
          sendProblem(res, {
            type: problemTypes.authUnavailable,
            title: 'Cannot check the token',
            status: 503,
            detail: "The token issuer's keys cannot be fetched now; retry later.",
          });
          return;
        }
      }
    }
    if (!client) return unauthorized(res, true);
    setRequestClient(res, client);
    next();
  };
}

/** 403 (naming the scope) unless the caller may do `permission` on `resourceType`. */
export function requireScope(resourceType: string, permission: Permission): RequestHandler {
  const needed = scopeNeeded(resourceType, permission);
  const v1 = permission === 'r' || permission === 's' ? 'read' : 'write';
  return (_req, res, next) => {
    if (allows(requestClient(res).scopes, resourceType, permission)) return next();
    res.set('WWW-Authenticate', `${REALM}, error="insufficient_scope", scope="${needed}"`);
    sendProblem(res, {
      type: problemTypes.forbidden,
      title: 'Forbidden',
      status: 403,
      detail:
        `This route needs the scope ${needed} (or one including it, such as ` +
        `user/${resourceType}.${permission}, system/*.${permission} or system/${resourceType}.${v1}).`,
    });
  };
}
