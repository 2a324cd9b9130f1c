/**
 * Riding out a FHIR server's bad moments: one request sent again, with
 * exponential backoff and jitter, on a connection error, a timeout, 429, 502,
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
import { events } from './events.js';
import { sendExchange } from './exchange.js';
import {
  TRANSIENT_STATUSES,
  origin,
  type HttpRequest,
  type HttpResponse,
  type ResponseHeaders,
} from './http.js';
import { isTlsFailure } from './tls-failures.js';

/** The `retry` option: `false` (or `maxAttempts: 1`) sends every request once. */
export interface RetryOptions {
  /** Attempts per request, the first included; default 5. */
  maxAttempts?: number;
  /** No attempt starts after this many ms since the first one (so giving up takes at most this plus one timeout); default 10000. */
  maxElapsedMs?: number;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly maxElapsedMs: number;
  /** The first backoff; each one after doubles, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
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

/** `Retry-After` (delta seconds or an HTTP date) in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(headers: ResponseHeaders, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * When a rate limit resets, in ms from now, from the `RateLimit` header
 * (draft-ietf-httpapi-ratelimit-headers: `"requests";r=0;t=60, "fhir";r=5;t=30`,
 * Medplum's form): the latest `t=` among the policies whose remaining `r` is
 * spent, else among all; or the older `RateLimit-Reset: <seconds>` header.
 */
export function rateLimitResetMs(headers: ResponseHeaders): number | undefined {
  const resets: { spent: boolean; seconds: number }[] = [];
  for (const item of (headers.get('ratelimit') ?? '').split(',')) {
    const params = new Map(
      item
        .split(';')
        .slice(1)
        .map((p): [string, string] => {
          const [key = '', value = ''] = p.trim().split('=');
          return [key, value];
        }),
    );
    const t = params.get('t');
    if (t === undefined || !/^\d+$/.test(t)) continue;
    const r = params.get('r');
    resets.push({ spent: r !== undefined && /^-?\d+$/.test(r) && Number(r) <= 0, seconds: +t });
  }
  const spent = resets.filter((x) => x.spent);
  const chosen = spent.length ? spent : resets;
  if (chosen.length) return Math.max(...chosen.map((x) => x.seconds)) * 1000;
  const legacy = headers.get('ratelimit-reset')?.trim();
  return legacy && /^\d+$/.test(legacy) ? Number(legacy) * 1000 : undefined;
}

/** How long the server asked us to wait: `Retry-After`, else (on a 429) the rate limit's reset. */
export function serverWaitMs(status: number, headers: ResponseHeaders): number | undefined {
  return retryAfterMs(headers) ?? (status === 429 ? rateLimitResetMs(headers) : undefined);
}

/** Backoff before attempt `attempt + 1` (attempt counts from 1): half fixed, half random ("equal jitter"). */
function backoffMs(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
export async function waitingOutThrottle<T>(
  work: () => Promise<T>,
  patienceMs = THROTTLE_PATIENCE_MS,
): Promise<T> {
  for (let waited = 0; ;) {
    try {
      return await work();
    } catch (error) {
      const wait = throttledWaitMs(error);
      if (wait === undefined || waited + wait > patienceMs) throw error;
      waited += wait;
      await sleep(wait);
    }
  }
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
export async function sendWithRetry<T = unknown>(
  request: HttpRequest,
  policy: RetryPolicy,
  idempotent: boolean,
  breaker?: CircuitBreaker,
): Promise<HttpResponse<T>> {
  const started = performance.now();
  let earlier: StorageUnavailableError | undefined;
  for (let attempt = 1; ; attempt++) {
    let waitMs: number;
    let failure: StorageUnavailableError;
    let maxAttempts = idempotent ? policy.maxAttempts : 1;
    try {
      const response = await sendExchange<T>(request, breaker);
      if (!TRANSIENT_STATUSES.has(response.status)) return { ...response, attempts: attempt };
      const asked = serverWaitMs(response.status, response.headers);
      // refused before any work: safe to send again, whatever the request
      if (response.status === 429) maxAttempts = policy.maxAttempts;
      failure = transientStatusError(
        request,
        response.status,
        attempt,
        performance.now() - started,
        asked,
      );
      waitMs = asked ?? backoffMs(policy, attempt);
    } catch (error) {
      // sent before: that try's failure says what may have happened, not "not sent"
      if (error instanceof CircuitOpenError) throw earlier ?? error;
      if (
        !(error instanceof StorageUnavailableError) ||
        (error.kind !== 'unreachable' && error.kind !== 'timeout') ||
        isTlsFailure(error.cause) // a certificate is not trusted by waiting
      ) {
        throw error;
      }
      failure = error;
      waitMs = backoffMs(policy, attempt);
    }
    const spent = performance.now() - started;
    if (attempt >= maxAttempts || spent + waitMs >= policy.maxElapsedMs) {
      if (attempt === 1 || failure.upstreamStatus !== undefined) throw failure;
      throw new StorageUnavailableError(
        failure.kind,
        `${failure.message}, ${attempt} attempts in ${Math.round(spent)} ms`,
        undefined,
        { cause: failure },
      );
    }
    earlier = failure;
    events.retry.publish({
      interaction: request.interaction ?? 'other',
      status: failure.upstreamStatus ?? (failure.kind === 'timeout' ? 'timeout' : 'unreachable'),
    });
    await sleep(waitMs);
  }
}
