/**
 * Owns the types of the FHIR REST client's surface: a resource as this
 * backend handles it, the client's options, and what an update or a delete
 * can come to, and how one request is sent (fhir-rest.ts sends;
 * fhir-answers.ts reads the answers).
 */
import type { Meta, Identifier } from 'fhir/r4.js';
import type { FhirAuthOptions } from '../../transport/auth.js';
import type { BreakerOptions } from '../../transport/breaker.js';
import type { Interaction } from '../../transport/events.js';
import type { HttpRequest } from '../../transport/http.js';
import type { RetryOptions } from '../../transport/retry.js';
import type { FhirTlsOptions } from '../../transport/tls-options.js';

/**
 * A resource as this backend handles it: the R4 elements it reads directly
 * are typed; the rest is JSON that mappings address by path and that an
 * update must carry back untouched.
 */
export interface ResourceJson {
  resourceType: string;
  id?: string;
  meta?: Meta;
  identifier?: Identifier[];
  [element: string]: unknown;
}

export type HeaderMap = Record<string, string>;

export interface FhirRestOptions {
  /** The server's base URL, e.g. `http://localhost:8080/fhir` (no trailing slash needed). */
  baseUrl: string;
  /** Extra headers on every request. */
  headers?: HeaderMap;
  /** Called before every request; its headers (e.g. `Authorization`) are added. */
  authorize?: () => Promise<HeaderMap> | HeaderMap;
  /** Credentials for the FHIR server: bearer, basic, OAuth 2.0 client credentials or SMART Backend Services. */
  auth?: FhirAuthOptions;
  /** Retries of GET, DELETE and If-Match PUT on transient failures, and of every request after a 429 (default 5 attempts within 10 s); `false`: none. */
  retry?: RetryOptions | false;
  /** Per request, default 10000. */
  timeoutMs?: number;
  /**
   * TLS to an https:// server: CA certificates to trust instead of the system's,
   * and a client certificate and key (mutual TLS), as PEM text or Buffers.
   * Used for every request to the server's origin (a token endpoint elsewhere
   * gets the system's CAs and no client certificate). An http:// base URL
   * with `tls` is refused.
   */
  tls?: FhirTlsOptions;
  /**
   * Fail fast while the server is down: after `failureThreshold` (default 5)
   * consecutive connection failures or timeouts, requests fail at once with
   * `CircuitOpenError` for `openMs` (default 5000), then one probe request
   * decides. Default `false` (off) in the library; the facade turns it on.
   */
  breaker?: BreakerOptions | false;
}

export type UpdateOutcome =
  | { kind: 'updated'; resource: ResourceJson }
  /**
   * 412 (or 409): the version we read is no longer current. `resent`: the PUT
   * was sent more than once (an earlier answer was lost), so the stale version
   * may be our own write having landed.
   */
  | { kind: 'conflict'; resent: boolean; status: 409 | 412 }
  /** The PUT created the resource (it had been deleted meanwhile); the caller decides what to do. */
  | { kind: 'created'; resource: ResourceJson };

/** `conflict`: 409/412 (its status), a concurrent write won (HAPI-0823 on HAPI); the resource is still there. */
export type DeleteOutcome = 'deleted' | 'missing' | { conflict: 409 | 412 };

/** How one request is sent (FhirRestClient#send). */
export interface SendOptions {
  interaction: Interaction;
  /** Default: the client's timeout. */
  timeoutMs?: number;
  /** Never sent again (a readiness probe reports now). */
  once?: boolean;
  /** A form body (POST `_search`). */
  form?: HttpRequest['form'];
}
