/**
 * Riding out a FHIR server's bad moments, as needs on the one retry loop
 * (retry-loop.ts: its backoff, budget and waits): one request sent again on
 * a connection error, a timeout, 429, 502,
 * 503 or 504, honouring `Retry-After` and the `RateLimit` header's reset
 * (`t=`), within a number of attempts and a total time. A 429 is a refusal
 * before any work (RFC 6585), so every request is sent again after it, creates
 * and transactions included. The others may come after the server did the work
 * (a gateway's 502/504 after forwarding, a 503 from a server that failed while
 * answering, a reset or a timeout after it wrote): only the caller knows whether
 * sending twice is harmless, so it says `idempotent`, and anything else is sent
 * once. When the budget is spent the answer is a `StorageUnavailableError`
 * (with `retryAfterMs` when the server said when to come back), never a
 * response to guess from.
 */
import { StorageUnavailableError } from '../api/errors.js';
import { CircuitOpenError, type CircuitBreaker } from './breaker.js';
import { sendExchange } from './exchange.js';
import { TRANSIENT_STATUSES, origin, type HttpRequest, type HttpResponse } from './http.js';
import { retrying, type RetryBudget } from './retry-loop.js';
import { serverWaitMs } from './server-wait.js';
import { isTlsFailure } from './tls-failures.js';

/** The `retry` option: `false` (or `maxAttempts: 1`) sends every request once. */
export interface RetryOptions {
  /** Attempts per request, the first included; default 5. */
  maxAttempts?: number;
  /** No attempt starts after this many ms since the first one (so giving up takes at most this plus one timeout); default 10000. */
  maxElapsedMs?: number;
}

/** The `retry` option checked: the budget of each request sent (retry-loop.ts). */
export interface RetryPolicy extends RetryBudget {
  readonly maxElapsedMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  maxElapsedMs: 10_000,
  baseDelayMs: 500,
  maxDelayMs: 4_000,
};

const NO_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 1 };

/** The `retry` option, checked; `owner` names the class in the error. */
export function parseRetryOptions(owner: string, value: unknown): RetryPolicy {
  if (value === undefined) return DEFAULT_RETRY;
  if (value === false) return NO_RETRY;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${owner}: retry must be { maxAttempts, maxElapsedMs } or false`);
  }
  const { maxAttempts, maxElapsedMs, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new TypeError(`${owner}: retry has unknown option(s) ${unknown.join(', ')}`);
  }
  if (
    maxAttempts !== undefined &&
    (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1)
  ) {
    throw new TypeError(`${owner}: retry.maxAttempts must be an integer of at least 1`);
  }
  if (
    maxElapsedMs !== undefined &&
    (typeof maxElapsedMs !== 'number' || !Number.isFinite(maxElapsedMs) || maxElapsedMs < 0)
  ) {
    throw new TypeError(`${owner}: retry.maxElapsedMs must be a number of ms, 0 or more`);
  }
  return {
    ...DEFAULT_RETRY,
    maxAttempts: maxAttempts ?? DEFAULT_RETRY.maxAttempts,
    maxElapsedMs: maxElapsedMs ?? DEFAULT_RETRY.maxElapsedMs,
  };
}

/**
 * How long bulk work (an import's batches and links) waits, in all, for a
 * server that keeps throttling it (429 past the retry budget) before that
 * piece of work fails: the server's quota paces the import instead of failing
 * its rows.
 */
export const THROTTLE_PATIENCE_MS = 10 * 60_000;

/** A 429 that outlasted the retry budget: the server's wait (or a second), else `undefined`. */
function throttledWaitMs(error: unknown): number | undefined {
  return error instanceof StorageUnavailableError && error.upstreamStatus === 429
    ? (error.retryAfterMs ?? 1000)
    : undefined;
}

/**
 * Runs `work` again while it fails with a 429 that outlasted the retry budget,
 * after the server's wait, for up to `patienceMs` in all. Only for work that a
 * refused request leaves undone, so running it again is harmless: a 429 is a
 * refusal before any work (RFC 6585).
 */
export function waitingOutThrottle<T>(
  work: () => Promise<T>,
  patienceMs = THROTTLE_PATIENCE_MS,
): Promise<T> {
  return retrying<T, unknown>(
    async () => {
      try {
        return { done: await work() };
      } catch (error) {
        const wait = throttledWaitMs(error);
        if (wait === undefined) throw error;
        return { failed: error, waitMs: wait };
      }
    },
    {
      budget: { maxAttempts: Infinity, maxWaitedMs: patienceMs, baseDelayMs: 0, maxDelayMs: 0 },
      giveUp: (error) => {
        throw error;
      },
    },
  );
}

/** The error for a transient status that outlived the budget (or came on a request sent once). */
function transientStatusError(
  request: HttpRequest,
  status: number,
  attempts: number,
  elapsedMs: number,
  retryAfter?: number,
): StorageUnavailableError {
  const tries = attempts === 1 ? 'once' : `${attempts} times in ${Math.round(elapsedMs)} ms`;
  const error = new StorageUnavailableError(
    status === 504 ? 'timeout' : 'unreachable',
    `${origin(request.url)} answered ${request.method} with ${status} (${tries})`,
    status,
  );
  if (retryAfter !== undefined) error.retryAfterMs = retryAfter;
  return error;
}

/**
 * Sends `request`, again while it fails transiently and the policy allows: a
 * 429 whatever the request, anything else only when it is `idempotent`. A
 * response with another status (401, 404, 500, …) is returned for the caller
 * to judge; a transient status that outlives the budget becomes `unreachable`
 * (`timeout` for 504), carrying the server's wait when it gave one. Each attempt passes
 * `breaker` (when given): once it is open, the request ends at once with its
 * `CircuitOpenError`, unsent.
 */
export function sendWithRetry<T = unknown>(
  request: HttpRequest,
  policy: RetryPolicy,
  idempotent: boolean,
  breaker?: CircuitBreaker,
): Promise<HttpResponse<T>> {
  const started = performance.now();
  return retrying<HttpResponse<T>, StorageUnavailableError>(
    async (attempt, earlier) => {
      try {
        const response = await sendExchange<T>(request, breaker);
        if (!TRANSIENT_STATUSES.has(response.status))
          return { done: { ...response, attempts: attempt } };
        const asked = serverWaitMs(response.status, response.headers);
        const elapsed = performance.now() - started;
        return {
          failed: transientStatusError(request, response.status, attempt, elapsed, asked),
          waitMs: asked,
          // a 429 is refused before any work: safe to send again, whatever the request
          final: !idempotent && response.status !== 429,
        };
      } catch (error) {
        // sent before: that try's failure says what may have happened, not "not sent"
        if (error instanceof CircuitOpenError) throw earlier ?? error;
        if (!isTransientFailure(error)) throw error;
        return { failed: error, final: !idempotent };
      }
    },
    {
      budget: policy,
      giveUp: (failure, attempts, spent) => {
        if (attempts === 1 || failure.upstreamStatus !== undefined) throw failure;
        throw new StorageUnavailableError(
          failure.kind,
          `${failure.message}, ${attempts} attempts in ${Math.round(spent)} ms`,
          undefined,
          { cause: failure },
        );
      },
      report: (failure) => ({
        interaction: request.interaction ?? 'other',
        status: failure.upstreamStatus ?? (failure.kind === 'timeout' ? 'timeout' : 'unreachable'),
      }),
    },
  );
}

/** A connection error or a timeout, worth another try; a certificate is not trusted by waiting. */
function isTransientFailure(error: unknown): error is StorageUnavailableError {
  return (
    error instanceof StorageUnavailableError &&
    (error.kind === 'unreachable' || error.kind === 'timeout') &&
    !isTlsFailure(error.cause)
  );
}
