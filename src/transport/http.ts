/**
 * The package's one HTTP layer (node:http and node:https on keep-alive
 * agents): a bounded time per request, compressed answers decoded, and
 * failures of the far side turned into `StorageUnavailableError`s that say
 * what went wrong without carrying any body (which may hold patient data).
 */
import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';
import { StorageUnavailableError } from '../api/errors.js';
import { parseHttpUrl } from '../shared/http-url.js';
import { tlsFailureReason } from './tls-failures.js';
import { outgoingTraceHeaders } from '../shared/trace-context.js';
import type { Interaction } from './events.js';

/**
 * A client's base URL option: absolute http(s), without query, fragment or
 * trailing slash. `owner` names the class in the error (`FhirStorage`, …).
 */
export function parseBaseUrl(owner: string, value: unknown): string {
  const url = parseHttpUrl(value);
  if (!url) throw new TypeError(`${owner}: baseUrl must be an absolute http(s) URL`);
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
  /** @internal For an https: URL, an agent of its own TLS setup (CA, client certificate; tls.ts) instead of the shared one. */
  httpsAgent?: https.Agent;
  /** What the request does, for the metrics (default `other`). */
  interaction?: Interaction;
}

/** An answer's headers, looked up by name in any case (as `Headers.get`). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: ResponseHeaders;
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

/** Headers and payload of a request as sent. */
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
  const tls = tlsFailureReason(error);
  return new StorageUnavailableError(
    'unreachable',
    `${where} is unreachable (${request.method})${tls ? `: ${tls}` : ''}`,
    undefined,
    { cause: error },
  );
}

/** A response whose body is read as it arrives (`lines`), each read within the request's timeout. */
export interface HttpStream {
  status: number;
  headers: ResponseHeaders;
  /** The body's lines (without line ends) as they arrive; a body cut short rejects. */
  lines(): AsyncGenerator<string>;
  /** The whole body as JSON (`undefined` when empty or not JSON): for an answer that is not a stream. */
  json<T = unknown>(): Promise<T | undefined>;
  /** Stops reading and releases the connection. */
  cancel(): Promise<void>;
}

// Idle connections are closed after 4 s (undici's default too), well before
// servers drop them, so a reused connection is rarely one already closed.
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000 };
const agents = {
  'http:': new http.Agent(AGENT_OPTIONS),
  'https:': new https.Agent(AGENT_OPTIONS),
};

/** @internal A keep-alive https agent like the shared one, with TLS settings of its own (`secureContext`, …). */
export function createHttpsAgent(tls: https.AgentOptions): https.Agent {
  return new https.Agent({ ...AGENT_OPTIONS, ...tls });
}

/** Statuses a redirect comes with; like fetch's `redirect: 'error'`, we never follow one. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

class NodeResponseHeaders implements ResponseHeaders {
  constructor(private readonly raw: http.IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

interface Exchange {
  /** Settles with the status line and headers. */
  answer: Promise<http.IncomingMessage>;
  /** Destroys the request and its answer: whatever awaits either rejects. */
  abort(): void;
}

function start(request: HttpRequest): Exchange {
  const { headers, payload } = prepare(request);
  const url = new URL(request.url);
  const agent =
    url.protocol === 'https:' ? (request.httpsAgent ?? agents['https:']) : agents['http:'];
  const send = url.protocol === 'https:' ? https.request : http.request;
  headers['accept-encoding'] ??= 'gzip, deflate, br';
  Object.assign(headers, outgoingTraceHeaders()); // W3C trace context: a new span per request
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  const req = send(url, { method: request.method, headers, agent });
  const answer = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', (response) => {
      if (REDIRECT_STATUSES.has(response.statusCode ?? 0) && response.headers.location) {
        response.resume();
        reject(new Error(`redirected (${response.statusCode})`));
      } else {
        resolve(response);
      }
    });
    // kept for the request's whole life: a late error settles nothing and must not go unhandled
    req.on('error', reject);
  });
  req.end(payload);
  return { answer, abort: () => req.destroy(new Error('deadline')) };
}

interface ContentDecoder {
  /** For a body read as it arrives. */
  stream: () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;
  /** For a body read whole: one synchronous call, far cheaper for a small body than a stream. */
  whole: (data: Buffer) => Buffer;
}

const GZIP: ContentDecoder = {
  stream: () => zlib.createGunzip(),
  whole: (data) => zlib.gunzipSync(data),
};

const CONTENT_DECODERS: Record<string, ContentDecoder> = {
  gzip: GZIP,
  'x-gzip': GZIP,
  deflate: { stream: () => zlib.createInflate(), whole: (data) => zlib.inflateSync(data) },
  br: {
    stream: () => zlib.createBrotliDecompress(),
    whole: (data) => zlib.brotliDecompressSync(data),
  },
};

/** The decoder of an answer's Content-Encoding (gzip, deflate, br); none for identity or anything else. */
function contentDecoder(response: http.IncomingMessage): ContentDecoder | undefined {
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  return Object.hasOwn(CONTENT_DECODERS, encoding) ? CONTENT_DECODERS[encoding] : undefined;
}

/** The body as it arrives, decoded; a failure of either side (a connection cut, bad data) reaches the reader. */
function decodedStream(response: http.IncomingMessage): Readable {
  const decoder = contentDecoder(response)?.stream();
  return decoder ? pipeline(response, decoder, () => {}) : response;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs steps of one exchange, each within `timeoutMs` of its start; a failure is the typed error. */
function deadlineGuard(request: HttpRequest, exchange: Exchange) {
  let timedOut = false;
  return async <T>(step: Promise<T>): Promise<T> => {
    const timer = setTimeout(() => {
      timedOut = true;
      exchange.abort();
    }, request.timeoutMs);
    try {
      return await step;
    } catch (error) {
      throw transportFailure(request, error, timedOut);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Sends a request and hands back the body as a stream: the headers must
 * arrive within the timeout, and then each further piece of the body.
 */
export async function openHttpStream(request: HttpRequest): Promise<HttpStream> {
  const exchange = start(request);
  const guard = deadlineGuard(request, exchange);
  const response = await guard(exchange.answer);
  const body = decodedStream(response);
  return {
    status: response.statusCode ?? 0,
    headers: new NodeResponseHeaders(response.headers),
    async *lines() {
      const chunks = body[Symbol.asyncIterator]();
      const decoder = new StringDecoder('utf8');
      let buffered = '';
      for (;;) {
        const chunk = await guard(chunks.next() as Promise<IteratorResult<Buffer>>);
        if (chunk.done) break;
        buffered += decoder.write(chunk.value);
        let end: number;
        while ((end = buffered.indexOf('\n')) >= 0) {
          yield buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
        }
      }
      buffered += decoder.end();
      if (buffered !== '') yield buffered;
    },
    async json<T>() {
      const text = (await guard(readAll(body))).toString('utf8');
      try {
        return text.trim() === '' ? undefined : (JSON.parse(text) as T);
      } catch {
        return undefined;
      }
    },
    cancel() {
      if (!response.complete) {
        body.destroy();
        response.destroy();
      }
      return Promise.resolve();
    },
  };
}

export async function sendHttpRequest<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
  const where = origin(request.url);
  const exchange = start(request);
  // One deadline for the whole exchange: the headers and all of the body.
  const guard = deadlineGuard(request, exchange);
  const [response, data] = await guard(
    exchange.answer.then(async (answer) => [answer, await readAll(answer)] as const),
  );
  const status = response.statusCode ?? 0;
  const headers = new NodeResponseHeaders(response.headers);
  let text: string;
  try {
    text = (contentDecoder(response)?.whole(data) ?? data).toString('utf8');
  } catch (error) {
    throw new StorageUnavailableError(
      'bad-response',
      `${where} answered ${request.method} with status ${status} and a body that is not ${response.headers['content-encoding']} data`,
      status,
      { cause: error },
    );
  }
  let body: T | undefined;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text) as T;
    } catch (error) {
      // A busy server or its gateway answers 429/5xx with a page of its own:
      // the status says all there is, and the retry layer decides on it.
      if (TRANSIENT_STATUSES.has(status)) return { status, headers, body: undefined };
      throw new StorageUnavailableError(
        'bad-response',
        `${where} answered ${request.method} with status ${status} and a body that is not JSON`,
        status,
        { cause: error },
      );
    }
  }
  return { status, headers, body };
}
