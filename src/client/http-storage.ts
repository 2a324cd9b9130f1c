/**
 * `HealthcareStorage` against a remote HTTP facade (contract §3), so a Node
 * application can use a facade with the same interface as a local backend.
 * Every request goes through the package's one HTTP layer, `sendHttpRequest`.
 */
import {
  APIError,
  ConflictError,
  StorageUnavailableError,
  ValidationError,
  type ValidationIssue,
} from '../api/errors.js';
import type {
  HealthcareStorage,
  Lookup,
  PatientInput,
  PatientLink,
  PatientRecord,
  ProviderInput,
  ProviderRecord,
} from '../api/types.js';
import { validateId, validateSourcePair } from '../api/validation.js';
import { problemTypes } from '../http/problem.js';
import {
  parseBaseUrl,
  parseTimeout,
  sendHttpRequest,
  type HttpRequest,
  type HttpResponse,
} from '../transport/http.js';

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

type Collection = 'patients' | 'providers';

/** Ids that cannot travel as one path segment (URL parsers resolve dot segments); no store has them. */
const unsendableId = (id: string): boolean =>
  id === '' || id === '.' || id === '..' || /^%2e(%2e)?$/i.test(id);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The facade's answer is this kind of problem (a 404 may also be a wrong base URL, a 409 a write conflict). */
function isProblem(response: HttpResponse, type: string): boolean {
  return isPlainObject(response.body) && response.body.type === type;
}
const isMissing = (response: HttpResponse): boolean =>
  response.status === 404 && isProblem(response, problemTypes.notFound);

function serialiseLookupValue(value: unknown): unknown {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (Array.isArray(value)) return value.map(serialiseLookupValue);
  return value;
}

export class HttpStorage implements HealthcareStorage {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: HttpStorageOptions) {
    this.baseUrl = parseBaseUrl('HttpStorage', options.baseUrl);
    this.token = options.token;
    this.timeoutMs = parseTimeout('HttpStorage', options.timeoutMs, 30_000);
  }

  private async request<T>(
    method: HttpRequest['method'],
    path: string,
    body?: unknown,
  ): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
    };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    return sendHttpRequest<T>({
      method,
      url: `${this.baseUrl}${path}`,
      headers,
      ...(body !== undefined ? { body } : {}),
      timeoutMs: this.timeoutMs,
    });
  }

  /**
   * A request about one record: `null` when the facade answers that the record
   * is missing, the response when its status is one of `ok`, else the failure.
   */
  private async recordRequest(
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
  private failure(response: HttpResponse, method: string): Error {
    const problem = (isPlainObject(response.body) ? response.body : {}) as ProblemBody;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const status = response.status;
    switch (status) {
      case 400: {
        const issues = Array.isArray(problem.issues)
          ? (problem.issues as unknown[]).filter(isPlainObject).map((i) => {
              const issue: ValidationIssue = { message: String(i.message ?? 'invalid') };
              if (typeof i.field === 'string') issue.field = i.field;
              return issue;
            })
          : [];
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
      case 409:
        return new ConflictError(detail ?? 'the facade reported a conflict');
      case 413:
      case 415:
        return new APIError(`the facade rejected the request body (${status})`);
      case 502:
        return new StorageUnavailableError(
          'bad-response',
          detail ?? 'the storage gave a bad answer',
          status,
        );
      case 503:
        return new StorageUnavailableError(
          'unreachable',
          detail ?? 'the storage is unreachable',
          status,
        );
      case 504:
        return new StorageUnavailableError('timeout', detail ?? 'the storage timed out', status);
      default:
        return new StorageUnavailableError(
          'bad-response',
          `the facade answered ${method} with unexpected status ${status}`,
          status,
        );
    }
  }

  private record<T>(response: HttpResponse, method: string): T {
    if (!isPlainObject(response.body)) {
      throw new StorageUnavailableError(
        'bad-response',
        `the facade answered ${method} without a record`,
        response.status,
      );
    }
    return response.body as T;
  }

  private list<T>(response: HttpResponse, method: string): T[] {
    if (!Array.isArray(response.body)) {
      throw new StorageUnavailableError(
        'bad-response',
        `the facade answered ${method} without a list`,
        response.status,
      );
    }
    return response.body as T[];
  }

  private static path(collection: Collection, id: string, suffix = ''): string {
    return `/${collection}/${encodeURIComponent(id)}${suffix}`;
  }

  private async getRecord<T>(
    collection: Collection,
    id: string,
    source?: string | null,
  ): Promise<T | null> {
    validateId(id);
    if (source !== undefined && source !== null) validateSourcePair(id, source);
    if (unsendableId(id)) return null;
    const query =
      source !== undefined && source !== null ? `?source=${encodeURIComponent(source)}` : '';
    const response = await this.recordRequest(
      'GET',
      HttpStorage.path(collection, id) + query,
      [200],
    );
    return response && this.record<T>(response, 'GET');
  }

  private async createRecord<T>(collection: Collection, data: unknown): Promise<T> {
    const response = await this.request('POST', `/${collection}`, data ?? null);
    if (response.status !== 201) throw this.failure(response, 'POST');
    return this.record<T>(response, 'POST');
  }

  private async updateRecord(collection: Collection, id: string, data: unknown): Promise<boolean> {
    validateId(id);
    if (unsendableId(id)) {
      // Still reject bad input the way every backend does, before saying "not found".
      if (!isPlainObject(data))
        throw new ValidationError('an update must be a JSON object of fields');
      return false;
    }
    const response = await this.recordRequest(
      'PATCH',
      HttpStorage.path(collection, id),
      [200],
      data ?? null,
    );
    return response !== null;
  }

  private async deleteRecord(collection: Collection, id: string): Promise<boolean> {
    validateId(id);
    if (unsendableId(id)) return false;
    const response = await this.recordRequest(
      'DELETE',
      HttpStorage.path(collection, id),
      [204, 200],
    );
    return response !== null;
  }

  private async filterRecords<T>(collection: Collection, lookups: Lookup[]): Promise<T[]> {
    const body = {
      lookups: lookups.map((lookup) =>
        Array.isArray(lookup) ? lookup.map(serialiseLookupValue) : lookup,
      ),
    };
    const response = await this.request('POST', `/${collection}/_search`, body);
    if (response.status !== 200) throw this.failure(response, 'POST');
    return this.list<T>(response, 'POST');
  }

  getPatient(id: string, source?: string | null): Promise<PatientRecord | null> {
    return this.getRecord<PatientRecord>('patients', id, source);
  }

  createPatient(data: PatientInput): Promise<PatientRecord> {
    return this.createRecord<PatientRecord>('patients', data);
  }

  updatePatient(id: string, data: PatientInput): Promise<boolean> {
    return this.updateRecord('patients', id, data);
  }

  deletePatient(id: string): Promise<boolean> {
    return this.deleteRecord('patients', id);
  }

  filterPatients(...lookups: Lookup[]): Promise<PatientRecord[]> {
    return this.filterRecords<PatientRecord>('patients', lookups);
  }

  async linkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    validateId(id);
    validateSourcePair(sourceId, sourceName);
    if (unsendableId(id)) return false;
    const response = await this.request('POST', HttpStorage.path('patients', id, '/links'), {
      source_id: sourceId,
      source_name: sourceName,
    });
    if (isMissing(response)) return false;
    if (response.status === 409 && isProblem(response, problemTypes.linkConflict)) return false;
    if (response.status !== 201 && response.status !== 200) throw this.failure(response, 'POST');
    return true;
  }

  async unlinkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    validateId(id);
    validateSourcePair(sourceId, sourceName);
    if (unsendableId(id)) return false;
    const query = `?source_id=${encodeURIComponent(sourceId)}&source_name=${encodeURIComponent(sourceName)}`;
    const response = await this.recordRequest(
      'DELETE',
      HttpStorage.path('patients', id, '/links') + query,
      [204, 200],
    );
    return response !== null;
  }

  async getPatientLinks(id: string): Promise<PatientLink[] | null> {
    validateId(id);
    if (unsendableId(id)) return null;
    const response = await this.recordRequest(
      'GET',
      HttpStorage.path('patients', id, '/links'),
      [200],
    );
    return response && this.list<PatientLink>(response, 'GET');
  }

  getProvider(id: string): Promise<ProviderRecord | null> {
    return this.getRecord<ProviderRecord>('providers', id);
  }

  createProvider(data: ProviderInput): Promise<ProviderRecord> {
    return this.createRecord<ProviderRecord>('providers', data);
  }

  updateProvider(id: string, data: ProviderInput): Promise<boolean> {
    return this.updateRecord('providers', id, data);
  }

  deleteProvider(id: string): Promise<boolean> {
    return this.deleteRecord('providers', id);
  }

  filterProviders(...lookups: Lookup[]): Promise<ProviderRecord[]> {
    return this.filterRecords<ProviderRecord>('providers', lookups);
  }

  /** Resolves when the facade's `/readyz` answers 200 (the storage behind it is ready). */
  async checkReady(): Promise<void> {
    const response = await this.request('GET', '/readyz');
    if (response.status !== 200) throw this.failure(response, 'GET');
  }

  async close(): Promise<void> {}
}
