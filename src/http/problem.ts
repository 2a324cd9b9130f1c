/**
 * RFC 9457 problem details: every error the facade answers with, and the one
 * place that maps the library's errors to HTTP statuses.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Response } from 'express';
import {
  APIError,
  ConflictError,
  StorageUnavailableError,
  ValidationError,
  type ValidationIssue,
} from '../api/errors.js';
import {
  storageFailureProblems,
  validationProblem,
  writeConflictProblem,
} from '../api/problem-types.js';
import { CircuitOpenError } from '../transport/breaker.js';

export const problemContentType = 'application/problem+json';

export { problemTypes } from '../api/problem-types.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  issues?: readonly ValidationIssue[];
}

const statusTitles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A problem with `type: about:blank`, titled by its status. */
export function httpProblem(status: number, detail: string, field?: string): Problem {
  const problem: Problem = {
    type: 'about:blank',
    title: statusTitles[status] ?? 'Error',
    status,
    detail,
  };
  // Every 400 lists its issues, so clients read one shape.
  if (status === 400) problem.issues = [field ? { field, message: detail } : { message: detail }];
  return problem;
}

/**
 * The `Retry-After` (whole seconds) to answer a storage failure with: when the
 * FHIR server said how long to wait (a 429 that outlasted the retry budget).
 */
export function retryAfterSeconds(error: unknown): number | undefined {
  if (!(error instanceof StorageUnavailableError) || error.retryAfterMs === undefined) return;
  return Math.max(1, Math.ceil(error.retryAfterMs / 1000));
}

export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).type(problemContentType).send(JSON.stringify(problem));
}

/**
 * Node answers requests it cannot parse (a request line or headers over its
 * ~16 KB limit, bad HTTP, a header timeout) itself, before the app, with an
 * empty body: answer those as problems too.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? httpProblem(
            431,
            'The request line or headers are too large; send long lookups with POST …/_search.',
          )
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? httpProblem(408, 'The request was not received in time.')
          : httpProblem(400, 'The request is not valid HTTP.');
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\n` +
        `Content-Type: ${problemContentType}; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Throw from a handler to answer with this problem. */
export class HttpProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'HttpProblem';
  }
}

/** What the access log may say about an error: its class and kind, never its message. */
export interface ErrorSummary {
  errorClass: string;
  errorKind?: string;
  upstreamStatus?: number;
}

export function summarizeError(error: unknown): ErrorSummary {
  const errorClass = error instanceof Error ? error.constructor.name || error.name : typeof error;
  const summary: ErrorSummary = { errorClass };
  if (error instanceof StorageUnavailableError) {
    summary.errorKind = error.kind;
    if (error.upstreamStatus !== undefined) summary.upstreamStatus = error.upstreamStatus;
  }
  const type = (error as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && /^[a-z.]+$/.test(type)) summary.errorKind = type;
  return summary;
}

/** zlib's error for bad gzip/deflate/br data, as body-parser hands it on (an http-errors 400 with zlib's errno). */
function isCorruptEncoding(error: unknown): boolean {
  const e = error as { status?: unknown; expose?: unknown; errno?: unknown } | null;
  return (
    error instanceof Error &&
    e!.status === 400 &&
    e!.expose === true &&
    typeof e!.errno === 'number'
  );
}

/** The problem for a storage failure: its kind's problem, with what the caller can do. */
function storageProblem(error: StorageUnavailableError): Problem {
  const problem = storageFailureProblems[error.kind];
  switch (error.kind) {
    case 'timeout':
      return {
        ...problem,
        detail: 'The storage backend (the FHIR server) did not answer in time.',
      };
    case 'unreachable':
      return {
        ...problem,
        detail:
          error instanceof CircuitOpenError
            ? 'The storage backend (the FHIR server) was found unreachable: requests are not sent to it until a probe finds it back; retry after the Retry-After delay.'
            : 'The storage backend (the FHIR server) cannot be reached.',
      };
    default:
      return {
        ...problem,
        detail: `The storage backend (the FHIR server) gave an unexpected answer${
          error.upstreamStatus ? ` (status ${error.upstreamStatus})` : ''
        }.`,
      };
  }
}

/** The problem for an error of reading the request (the router's or body-parser's), if it is one. */
function requestProblem(error: unknown): Problem | undefined {
  // The router rejects a path parameter that is not valid percent-encoding.
  if (error instanceof URIError && (error as { status?: unknown }).status === 400) {
    return httpProblem(400, 'The request path is not valid percent-encoding.');
  }
  // body-parser errors carry `type` and `status`.
  const bodyError = error as { type?: unknown; status?: unknown } | null;
  if (bodyError && typeof bodyError.type === 'string' && typeof bodyError.status === 'number') {
    switch (bodyError.type) {
      case 'entity.parse.failed':
        return httpProblem(400, 'The request body is not valid JSON.');
      case 'entity.too.large':
        return httpProblem(413, 'The request body is larger than the configured limit.');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return httpProblem(415, 'The request body must be JSON encoded as UTF-8.');
      case 'request.aborted':
        return httpProblem(400, 'The request was aborted while its body was read.');
      default:
        if (bodyError.status >= 400 && bodyError.status < 500) {
          return httpProblem(bodyError.status, 'The request body could not be read.');
        }
    }
  }
  // A body that is not data of its Content-Encoding: body-parser passes zlib's error on with status 400 and no `type`.
  if (isCorruptEncoding(error)) {
    return httpProblem(400, 'The request body is not valid data for its Content-Encoding.');
  }
  return undefined;
}

/** The problem for any error thrown while handling a request. */
export function problemFor(error: unknown): Problem {
  if (error instanceof HttpProblem) return error.problem;
  if (error instanceof ValidationError) {
    return {
      ...validationProblem,
      detail: error.message,
      issues: error.issues.map((i) => ({ ...i })),
    };
  }
  if (error instanceof StorageUnavailableError) return storageProblem(error);
  if (error instanceof ConflictError) {
    return {
      ...writeConflictProblem,
      detail: 'The record was changed concurrently too often; retry the request.',
    };
  }
  const requestError = requestProblem(error);
  if (requestError) return requestError;
  if (error instanceof APIError) return httpProblem(500, 'The request could not be completed.');
  return httpProblem(500, 'An unexpected error occurred.');
}
