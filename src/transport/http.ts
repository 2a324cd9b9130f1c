/**
 * The package's one HTTP layer (global fetch): a bounded time per request,
 * and failures of the far side turned into `StorageUnavailableError`s that
 * say what went wrong without carrying any body (which may hold patient data).
 */
import { StorageUnavailableError } from '../api/errors.js';

/**
 * A client's base URL option: absolute http(s), without query, fragment or
 * trailing slash. `owner` names the class in the error (`FhirStorage`, …).
 */
export function parseBaseUrl(owner: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = new URL(String(value));
  } catch {
    url = undefined;
  }
  if (
    typeof value !== 'string' ||
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:')
  ) {
    throw new TypeError(`${owner}: baseUrl must be an absolute http(s) URL`);
  }
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}

/** A client's timeout option in ms: a positive number, `fallback` when not given. */
export function parseTimeout(owner: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${owner}: timeoutMs must be a positive number of milliseconds`);
  }
  return value;
}

/** Statuses that say "not now" rather than "no": too many requests, bad gateway, unavailable, gateway timeout. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as `application/x-www-form-urlencoded` (an OAuth token request, a FHIR `_search`); instead of `body`. Pairs may repeat a name. */
  form?: Record<string, string> | readonly (readonly [string, string])[];
  /** Content type of the body (default `application/json`). */
  contentType?: string;
  timeoutMs: number;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; `undefined` when the body is empty. */
  body: T | undefined;
  /** Set by the retry layer: how many times the request was sent (more than 1: an earlier try may have been applied). */
  attempts?: number;
}

/** Who is answering, for error messages: the origin only, never the path or query. */
export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the server';
  }
}

/** Headers and payload of a request as fetch takes them. */
function prepare(request: HttpRequest): { headers: Record<string, string>; payload?: string } {
  const headers: Record<string, string> = { ...request.headers };
  let payload: string | undefined;
  if (request.form !== undefined) {
    const form = request.form;
    payload = new URLSearchParams(
      Array.isArray(form)
        ? (form as readonly (readonly [string, string])[]).map(([k, v]): [string, string] => [k, v])
        : (form as Record<string, string>),
    ).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (request.body !== undefined) {
    payload = JSON.stringify(request.body);
    headers['content-type'] ??= request.contentType ?? 'application/json';
  }
  return { headers, payload };
}

/** A failure of the far side (or of our deadline) as the typed error. */
function transportFailure(
  request: HttpRequest,
  error: unknown,
  timedOut: boolean,
): StorageUnavailableError {
  const where = origin(request.url);
  if (timedOut) {
    return new StorageUnavailableError(
      'timeout',
      `${where} did not answer ${request.method} within ${request.timeoutMs} ms`,
      undefined,
      { cause: error },
    );
  }
  return new StorageUnavailableError(
    'unreachable',
    `${where} is unreachable (${request.method})`,
    undefined,
    { cause: error },
  );
}

/** A response whose body is read as it arrives (`lines`), each read within the request's timeout. */
export interface HttpStream {
  status: number;
  headers: Headers;
  /** The body's lines (without line ends) as they arrive; a body cut short rejects. */
  lines(): AsyncGenerator<string>;
  /** The whole body as JSON (`undefined` when empty or not JSON): for an answer that is not a stream. */
  json<T = unknown>(): Promise<T | undefined>;
  /** Stops reading and releases the connection. */
  cancel(): Promise<void>;
}

/** Races `step` against a fresh deadline of `timeoutMs`, aborting `controller` when it passes. */
async function withinDeadline<T>(
  step: Promise<T>,
  controller: AbortController,
  timeoutMs: number,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error('deadline'));
    }, timeoutMs);
  });
  try {
    return await Promise.race([step, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends a request and hands back the body as a stream: the headers must
 * arrive within the timeout, and then each further piece of the body.
 */
export async function openHttpStream(request: HttpRequest): Promise<HttpStream> {
  const { headers, payload } = prepare(request);
  const controller = new AbortController();
  const guard = <T>(step: Promise<T>): Promise<T> =>
    withinDeadline(step, controller, request.timeoutMs).catch((error: unknown) => {
      throw transportFailure(request, error, controller.signal.aborted);
    });
  const response = await guard(
    fetch(request.url, {
      method: request.method,
      headers,
      body: payload,
      signal: controller.signal,
      redirect: 'error',
    }),
  );
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const decoder = new TextDecoder();
  return {
    status: response.status,
    headers: response.headers,
    async *lines() {
      let buffered = '';
      reader = response.body?.getReader();
      for (;;) {
        const chunk = reader ? await guard(reader.read()) : { done: true as const };
        if (chunk.done) break;
        buffered += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n')) >= 0) {
          yield buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
        }
      }
      buffered += decoder.decode();
      if (buffered !== '') yield buffered;
    },
    async json<T>() {
      const text = await guard(response.text());
      try {
        return text.trim() === '' ? undefined : (JSON.parse(text) as T);
      } catch {
        return undefined;
      }
    },
    async cancel() {
      await (reader ?? response.body)?.cancel().catch(() => {});
    },
  };
}

export async function sendHttpRequest<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
  const { headers, payload } = prepare(request);
  const where = origin(request.url);
  // The deadline is ours, not only the fetch signal's: a body that stops
  // streaming after the headers was seen to ignore the abort and hang until
  // undici's own 300 s body timeout, so the whole exchange races the timer.
  const controller = new AbortController();
  let response: Response;
  let text: string;
  try {
    [response, text] = await withinDeadline(
      (async () => {
        const answer = await fetch(request.url, {
          method: request.method,
          headers,
          body: payload,
          signal: controller.signal,
          redirect: 'error',
        });
        return [answer, await answer.text()] as const;
      })(),
      controller,
      request.timeoutMs,
    );
  } catch (error) {
    throw transportFailure(request, error, controller.signal.aborted);
  }
  let body: T | undefined;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text) as T;
    } catch (error) {
      // A busy server or its gateway answers 429/5xx with a page of its own:
      // the status says all there is, and the retry layer decides on it.
      if (TRANSIENT_STATUSES.has(response.status)) {
        return { status: response.status, headers: response.headers, body: undefined };
      }
      throw new StorageUnavailableError(
        'bad-response',
        `${where} answered ${request.method} with status ${response.status} and a body that is not JSON`,
        response.status,
        { cause: error },
      );
    }
  }
  return { status: response.status, headers: response.headers, body };
}
