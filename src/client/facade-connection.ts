/**
 * Owns talking to a remote HTTP facade (contract §3): one request with the
 * bearer token and deadline, through the package's one HTTP layer
 * (`sendHttpRequest`), and turning the facade's answers (problem documents,
 * statuses, bodies) into the library's results and errors.
 */
import {
  APIError,
  ConflictError,
  StorageUnavailableError,
  ValidationError,
  type StorageFailureKind,
  type ValidationIssue,
} from '../api/errors.js';
import {
  problemTypes,
  storageFailureKindOf,
  validationProblem,
  writeConflictProblem,
} from '../api/problem-types.js';
import { isPlainObject } from '../shared/plain-object.js';
import {
  parseBaseUrl,
  parseTimeout,
  openHttpStream,
  sendHttpRequest,
  type HttpRequest,
  type HttpResponse,
} from '../transport/http.js';

const NDJSON = 'application/x-ndjson';

export interface HttpStorageOptions {
  /** The facade's base URL, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A bearer token of the facade's `API_TOKENS`. */
  token?: string;
  /** Per-request time limit (default 30000 ms). */
  timeoutMs?: number;
}

interface ProblemBody {
  type?: unknown;
  title?: unknown;
  detail?: unknown;
  issues?: unknown;
}

/** The facade's answer is this kind of problem (a 404 may also be a wrong base URL, a 409 a write conflict). */
export function isProblem(response: HttpResponse, type: string): boolean {
  return isPlainObject(response.body) && response.body.type === type;
}
export const isMissing = (response: HttpResponse): boolean =>
  response.status === 404 && isProblem(response, problemTypes.notFound);

/** What a storage failure says when the facade's problem gives no detail. */
const storageFailureDetails: Record<StorageFailureKind, string> = {
  'bad-response': 'the storage gave a bad answer',
  unreachable: 'the storage is unreachable',
  timeout: 'the storage timed out',
};

/** A validation problem's issues, as the library's ValidationIssue list. */
function issuesOf(problem: ProblemBody): ValidationIssue[] {
  if (!Array.isArray(problem.issues)) return [];
  return (problem.issues as unknown[]).filter(isPlainObject).map((i) => {
    const issue: ValidationIssue = {
      message: typeof i.message === 'string' ? i.message : 'invalid',
    };
    if (typeof i.field === 'string') issue.field = i.field;
    return issue;
  });
}

export class FacadeConnection {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: HttpStorageOptions) {
    this.baseUrl = parseBaseUrl('HttpStorage', options.baseUrl);
    this.token = options.token;
    this.timeoutMs = parseTimeout('HttpStorage', options.timeoutMs, 30_000);
  }

  private requestOf(
    method: HttpRequest['method'],
    path: string,
    body: unknown,
    accept = 'application/json, application/problem+json',
  ): HttpRequest {
    const headers: Record<string, string> = { accept };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    return {
      method,
      url: `${this.baseUrl}${path}`,
      headers,
      ...(body !== undefined ? { body } : {}),
      timeoutMs: this.timeoutMs,
    };
  }

  request<T>(
    method: HttpRequest['method'],
    path: string,
    body?: unknown,
  ): Promise<HttpResponse<T>> {
    return sendHttpRequest<T>(this.requestOf(method, path, body));
  }

  /**
   * A request answered with NDJSON: each record as its line arrives. An error
   * answer is the failure it stands for; a stream the facade cut short (it
   * does so when the storage fails mid-answer) rejects with
   * `StorageUnavailableError`; it never ends as if complete.
   */
  async *records<T>(
    method: HttpRequest['method'],
    path: string,
    body?: unknown,
  ): AsyncGenerator<T> {
    const stream = await openHttpStream(
      this.requestOf(method, path, body, `${NDJSON}, application/problem+json`),
    );
    if (stream.status !== 200) {
      const answer = { status: stream.status, headers: stream.headers, body: await stream.json() };
      throw this.failure(answer, method);
    }
    try {
      if (stream.headers.get('content-type')?.split(';')[0]?.trim() !== NDJSON) {
        throw new StorageUnavailableError(
          'bad-response',
          `the facade answered ${method} without NDJSON`,
          stream.status,
        );
      }
      for await (const line of stream.lines()) {
        if (line.trim() === '') continue;
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          record = undefined;
        }
        if (!isPlainObject(record))
          throw new StorageUnavailableError(
            'bad-response',
            'the facade sent a line that is not a JSON record (a stream cut short?)',
            stream.status,
          );
        yield record as T;
      }
    } finally {
      await stream.cancel();
    }
  }

  /**
   * A request about one record: `null` when the facade answers that the record
   * is missing, the response when its status is one of `ok`, else the failure.
   */
  async recordRequest(
    method: HttpRequest['method'],
    path: string,
    ok: readonly number[],
    body?: unknown,
  ): Promise<HttpResponse | null> {
    const response = await this.request(method, path, body);
    if (isMissing(response)) return null;
    if (!ok.includes(response.status)) throw this.failure(response, method);
    return response;
  }

  /** The error for an answer the caller did not expect. */
  failure(response: HttpResponse, method: string): Error {
    const problem = (isPlainObject(response.body) ? response.body : {}) as ProblemBody;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const status = response.status;
    const kind = storageFailureKindOf(status);
    if (kind)
      return new StorageUnavailableError(kind, detail ?? storageFailureDetails[kind], status);
    switch (status) {
      case validationProblem.status: {
        const issues = issuesOf(problem);
        return new ValidationError(
          issues.length ? issues : (detail ?? 'the facade rejected the request'),
        );
      }
      case 401:
      case 403:
        return new APIError(
          `the facade refused the request (${status}): ${detail ?? 'check the bearer token'}`,
        );
      case 404:
        return new APIError(
          `the facade answered ${method} with 404 without naming a missing record: is ${this.baseUrl} the facade's base URL?`,
        );
      case writeConflictProblem.status:
        return new ConflictError(detail ?? 'the facade reported a conflict');
      case 413:
      case 415:
        return new APIError(`the facade rejected the request body (${status})`);
      default:
        return new StorageUnavailableError(
          'bad-response',
          `the facade answered ${method} with unexpected status ${status}`,
          status,
        );
    }
  }

  /** The answer's body as a record, or a bad-response error. */
  record<T>(response: HttpResponse, method: string): T {
    if (!isPlainObject(response.body)) {
      throw new StorageUnavailableError(
        'bad-response',
        `the facade answered ${method} without a record`,
        response.status,
      );
    }
    return response.body as T;
  }

  /** The answer's body as a list, or a bad-response error. */
  list<T>(response: HttpResponse, method: string): T[] {
    if (!Array.isArray(response.body)) {
      throw new StorageUnavailableError(
        'bad-response',
        `the facade answered ${method} without a list`,
        response.status,
      );
    }
    return response.body as T[];
  }
}
