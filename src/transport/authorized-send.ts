/**
 * One request to the FHIR server as its callers declare it: whether it may be
 * sent twice follows from the request itself (`repeatable`), unless the caller
 * says `once`; the retry layer (retry.ts) then rides out transient faults, and
 * a 401 with a credential that can be renewed is answered by one new
 * credential and one more try, on the same retry loop (retry-loop.ts).
 */
import type { FhirAuth } from './auth.js';
import type { CircuitBreaker } from './breaker.js';
import type { HttpRequest, HttpResponse } from './http.js';
import { retrying } from './retry-loop.js';
import { sendWithRetry, type RetryPolicy } from './retry.js';

/** What a request needs from the transport, besides the request. */
export interface SendNeeds {
  readonly policy: RetryPolicy;
  /** Never sent again, whatever happens (a probe that reports now). */
  readonly once?: boolean;
  readonly breaker?: CircuitBreaker;
  /** The credential whose `Authorization` header goes with each try. */
  readonly auth?: FhirAuth;
}

/** A header of the request, by its name in any case. */
function hasHeader(request: HttpRequest, name: string): boolean {
  return Object.keys(request.headers ?? {}).some((key) => key.toLowerCase() === name);
}

/**
 * Whether sending the request twice is harmless, by what it is: a read or a
 * search (GET, or a POST `_search` with a form) changes nothing; a DELETE
 * deletes once; a PUT with `If-Match` applies to one version only; a create
 * with `If-None-Exist` creates at most once. Any other POST, a Bundle
 * included, may be applied twice, so it is sent again only after a 429.
 */
export function repeatable(request: HttpRequest): boolean {
  switch (request.method) {
    case 'GET':
    case 'DELETE':
      return true;
    case 'PUT':
      return hasHeader(request, 'if-match');
    case 'POST':
      return request.form !== undefined || hasHeader(request, 'if-none-exist');
    default:
      return false;
  }
}

/**
 * Sends `request` with the credential's `Authorization` header, tried again
 * as `needs` and the request allow. A 401 forgets the credential it was sent
 * with; when the credential can be renewed, one more try goes with a new one
 * (the server refused before doing anything, so even a create is safe to
 * resend). The answer is the last try's.
 */
export function sendAuthorized<T>(
  request: HttpRequest,
  needs: SendNeeds,
): Promise<HttpResponse<T>> {
  const { auth, once = false } = needs;
  const policy = once ? { ...needs.policy, maxAttempts: 1 } : needs.policy;
  const idempotent = !once && repeatable(request);
  return retrying<HttpResponse<T>, HttpResponse<T>>(
    async () => {
      const authorization = auth ? await auth.authorization() : undefined;
      const headers = authorization ? { ...request.headers, authorization } : request.headers;
      const res = await sendWithRetry<T>(
        { ...request, headers },
        policy,
        idempotent,
        needs.breaker,
      );
      if (res.status !== 401 || !authorization) return { done: res };
      auth?.invalidate(authorization);
      return { failed: res, waitMs: 0, final: !auth?.refreshable };
    },
    {
      budget: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
      giveUp: (res) => res,
    },
  );
}
