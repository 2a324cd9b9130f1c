/**
 * One exchange as the retry layer sends it: through the server's circuit
 * breaker when it has one, timed, and reported (`events.upstreamRequest`)
 * with its interaction and status, never its URL.
 */
import { StorageUnavailableError } from '../api/errors.js';
import type { CircuitBreaker } from './breaker.js';
import { events, type ExchangeStatus } from './events.js';
import { sendHttpRequest, type HttpRequest, type HttpResponse } from './http.js';

/** How an exchange ended, for the breaker and the metrics. */
function statusOfFailure(error: unknown): ExchangeStatus {
  if (error instanceof StorageUnavailableError) {
    if (error.upstreamStatus !== undefined) return error.upstreamStatus;
    if (error.kind === 'unreachable' || error.kind === 'timeout') return error.kind;
  }
  // the server answered, but not with something we could read (a bad encoding, …)
  return 0;
}

/** Sends one request once; `CircuitOpenError` (nothing sent) when `breaker` is open. */
export async function sendExchange<T>(
  request: HttpRequest,
  breaker?: CircuitBreaker,
): Promise<HttpResponse<T>> {
  const interaction = request.interaction ?? 'other';
  const admission = breaker?.admit(interaction);
  const started = performance.now();
  let status: ExchangeStatus = 'unreachable';
  try {
    const response = await sendHttpRequest<T>(request);
    status = response.status;
    return response;
  } catch (error) {
    status = statusOfFailure(error);
    throw error;
  } finally {
    admission?.settle(status);
    events.upstreamRequest.publish({
      interaction,
      status,
      durationS: (performance.now() - started) / 1000,
    });
  }
}
