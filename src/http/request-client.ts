/**
 * Who is calling the facade: set once by the authentication middleware, read by
 * scope checks, rate limits, the audit trail and the request log. Holds a name
 * and granted scopes, never a token.
 */
import type { Response } from 'express';

export interface RequestClient {
  /** A static client's name, a token's `client_id` (else `azp`, else `sub`), or `anonymous`. */
  readonly name: string;
  /** The SMART scopes granted, as written (`system/Patient.rs`, `user/*.read`, …). */
  readonly scopes: readonly string[];
}

/** The caller when the facade runs without authentication (loopback, or `ALLOW_ANONYMOUS=true`). */
export const ANONYMOUS_CLIENT: RequestClient = Object.freeze({
  name: 'anonymous',
  scopes: Object.freeze(['system/*.cruds']),
});

interface ClientLocals {
  client?: RequestClient;
}

export function setRequestClient(res: Response, client: RequestClient): void {
  (res.locals as ClientLocals).client = client;
}

/** The authenticated caller; `anonymous` (every scope) where no authentication is configured. */
export function requestClient(res: Response): RequestClient {
  return (res.locals as ClientLocals).client ?? ANONYMOUS_CLIENT;
}
