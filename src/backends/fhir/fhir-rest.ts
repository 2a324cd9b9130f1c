/**
 * Owns talking FHIR REST: a small typed FHIR R4 client on the package's one
 * HTTP layer (`sendAuthorized`): read, create, update with `If-Match`, delete,
 * batches, `/metadata`, and searches (a `SearchRequest`, sent by
 * fhir-search.ts). It never logs and never puts a response body into an
 * error message (bodies hold patient data; fhir-answers.ts reads answers).
 */
import type { Bundle } from 'fhir/r4.js';
import type { FhirAuth } from '../../transport/auth.js';
import { createFhirAuth } from '../../transport/auth-options.js';
import { parseBreakerOptions, type CircuitBreaker } from '../../transport/breaker.js';
import {
  origin,
  parseBaseUrl,
  parseTimeout,
  type HttpRequest,
  type HttpResponse,
} from '../../transport/http.js';
import { sendAuthorized } from '../../transport/authorized-send.js';
import { parseRetryOptions, type RetryPolicy } from '../../transport/retry.js';
import { explainTlsFailure, FhirTls } from '../../transport/tls.js';
import { badResponse, deleteOutcome, expectOutcome, expectResource } from './fhir-answers.js';
import { isFhirId } from './fhir-id.js';
import {
  probeSearch,
  searchPage,
  searchPages,
  type PageRequest,
  type SearchPage,
} from './fhir-search.js';
import type {
  DeleteOutcome,
  FhirRestOptions,
  HeaderMap,
  ResourceJson,
  SendOptions,
  UpdateOutcome,
} from './fhir-types.js';
import { isHapi } from './hapi.js';
import type { IdSet } from './id-set.js';
import { formatSearchQuery, type SearchParameter, type SearchRequest } from './search-request.js';

export type {
  DeleteOutcome,
  FhirRestOptions,
  HeaderMap,
  ResourceJson,
  UpdateOutcome,
} from './fhir-types.js';
type FhirBundle = Bundle<ResourceJson>;

const FHIR_JSON = 'application/fhir+json';

export class FhirRestClient {
  readonly baseUrl: string;
  private readonly headers: HeaderMap;
  private readonly authorize?: FhirRestOptions['authorize'];
  readonly auth?: FhirAuth;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  /** @internal The `tls` option checked, with its agent; undefined when not set. */
  readonly tls?: FhirTls;
  /** The circuit breaker of this server, when the `breaker` option is on. */
  readonly breaker?: CircuitBreaker;
  private poweredBy?: string;
  /** The server's clock minus ours, from the last answer's `Date` header. */
  private serverClockOffsetMs?: number;

  constructor(options: FhirRestOptions) {
    this.baseUrl = parseBaseUrl('FhirStorage', options.baseUrl);
    this.headers = { ...options.headers };
    this.authorize = options.authorize;
    this.timeoutMs = parseTimeout('FhirStorage', options.timeoutMs, 10_000);
    this.retry = parseRetryOptions('FhirStorage', options.retry);
    this.tls = FhirTls.create('FhirStorage', options.tls, this.baseUrl);
    this.breaker = parseBreakerOptions('FhirStorage', options.breaker, origin(this.baseUrl));
    if (options.auth !== undefined) {
      if (options.authorize) throw new TypeError('FhirStorage: give auth or authorize, not both');
      this.auth = createFhirAuth(options.auth, {
        baseUrl: this.baseUrl,
        timeoutMs: this.timeoutMs,
        retry: this.retry,
        tls: this.tls,
      });
    }
  }

  /**
   * One FHIR request, sent by the transport (authorized-send.ts): GET, DELETE,
   * a search form, a PUT with `If-Match` and a create with `If-None-Exist` may
   * be sent again on a transient failure; any other create or a Bundle only
   * after a 429 (refused before any work), else once. `once`: never again. A
   * 401 with a token that can be renewed gets one new token and one more try.
   * @internal for fhir-search.ts; everyone else calls the typed methods.
   */
  async send<T>(
    method: HttpRequest['method'],
    url: string,
    extra: HeaderMap,
    body: unknown,
    { interaction, timeoutMs = this.timeoutMs, once = false, form }: SendOptions,
  ): Promise<HttpResponse<T>> {
    const custom = this.authorize ? await this.authorize() : {};
    const request: HttpRequest = {
      method,
      url,
      headers: { accept: FHIR_JSON, ...this.headers, ...custom, ...extra },
      body,
      form,
      contentType: FHIR_JSON,
      timeoutMs,
      httpsAgent: this.tls?.agent,
      interaction,
    };
    const needs = { policy: this.retry, once, breaker: this.breaker, auth: this.auth };
    const res = await sendAuthorized<T>(request, needs).catch((error) => {
      throw explainTlsFailure(error, this.baseUrl, this.tls);
    });
    this.poweredBy ??= res.headers.get('x-powered-by') ?? undefined;
    const serverDate = Date.parse(res.headers.get('date') ?? '');
    if (!Number.isNaN(serverDate)) this.serverClockOffsetMs = serverDate - Date.now();
    return res;
  }

  /**
   * The server's time now by its last answer's `Date` header, or `undefined`
   * when no answer had one. Never late: the header is truncated to the second
   * and was written before we read it.
   */
  serverNow(): number | undefined {
    return this.serverClockOffsetMs === undefined
      ? undefined
      : Date.now() + this.serverClockOffsetMs;
  }

  /**
   * Whether searches may carry `_offset=0`: HAPI (known by its `X-Powered-By`
   * on any answer so far) then answers a page with one bounded query instead
   * of starting its search coordinator. Other servers may reject `_offset`.
   */
  get answersOffsetQueries(): boolean {
    return isHapi(this.poweredBy);
  }

  private resourceUrl(type: string, id?: string): string {
    if (id !== undefined && !isFhirId(id)) throw new Error('not a FHIR id'); // callers check first
    return id === undefined ? `${this.baseUrl}/${type}` : `${this.baseUrl}/${type}/${id}`;
  }

  /** GET [base]/type/id: the resource, or `null` when it does not exist or was deleted. */
  async read(type: string, id: string): Promise<ResourceJson | null> {
    const res = await this.send('GET', this.resourceUrl(type, id), {}, undefined, {
      interaction: 'read',
    });
    if (res.status === 404 || res.status === 410) {
      expectOutcome('GET', res);
      return null;
    }
    if (res.status !== 200) badResponse('GET', res.status);
    return expectResource('GET', res, type, id);
  }

  /**
   * One search page: the first of a request, or a later one by its `next`
   * URL (fhir-search.ts): the matches of the type searched, and the checked
   * `next` link when there is more.
   */
  searchPage(page: PageRequest): Promise<SearchPage> {
    return searchPage(this, page);
  }

  /** A search, then every `next` page, a page at a time; each id once (and not in `seen`). */
  searchPages(request: SearchRequest, seen?: IdSet): AsyncGenerator<ResourceJson[]> {
    return searchPages(this, request, seen);
  }

  /** The request sent once, for what the server makes of it: only the status counts (capability probes). */
  probeSearch(request: SearchRequest): Promise<number> {
    return probeSearch(this, request);
  }

  /**
   * POST [base] with a `batch` (or `transaction`) Bundle of the given
   * entries: each entry's answer (`response.status` such as `201 Created`,
   * and `response.location` such as `Patient/123/_history/1`), in order. A
   * refused transaction is a `BadStorageResponseError` with its status. Sent
   * once: a lost answer is the caller's to look for.
   */
  async batch(
    entries: readonly { request: { method: string; url: string }; resource?: ResourceJson }[],
    type: 'batch' | 'transaction' = 'batch',
  ): Promise<{ status: string; location?: string; outcome?: unknown }[]> {
    const bundle = { resourceType: 'Bundle', type, entry: entries };
    const res = await this.send<FhirBundle>(
      'POST',
      this.baseUrl,
      { prefer: 'return=minimal' },
      bundle,
      // a Bundle is many writes: HAPI takes seconds for a few hundred on a busy machine
      { timeoutMs: Math.max(this.timeoutMs, 120_000), interaction: type },
    );
    if (res.status !== 200) badResponse('POST', res.status, `a refused ${type}`);
    const answers = res.body?.entry;
    if (
      res.body?.resourceType !== 'Bundle' ||
      !Array.isArray(answers) ||
      answers.length !== entries.length
    )
      badResponse('POST', res.status, 'a body that is not the batch-response Bundle');
    return answers.map((entry) => ({
      status: String(entry?.response?.status ?? ''),
      ...(typeof entry?.response?.location === 'string'
        ? { location: entry.response.location }
        : {}),
      outcome: entry?.response?.outcome,
    }));
  }

  /** POST [base]/type: the created resource as the server stored it. */
  async create(type: string, resource: ResourceJson): Promise<ResourceJson> {
    const res = await this.send(
      'POST',
      this.resourceUrl(type),
      { prefer: 'return=representation' },
      resource,
      { interaction: 'create' },
    );
    if (res.status !== 201 && res.status !== 200) badResponse('POST', res.status);
    return expectResource('POST', res, type);
  }

  /**
   * POST [base]/type with `If-None-Exist: <condition>` (a conditional create,
   * so it may be sent again): `created` when the server wrote it (201), else
   * the one resource matching the condition (200).
   */
  async createIfNoneExist(
    type: string,
    resource: ResourceJson,
    condition: readonly SearchParameter[],
  ): Promise<{ created: boolean; resource: ResourceJson }> {
    const res = await this.send(
      'POST',
      this.resourceUrl(type),
      {
        prefer: 'return=representation',
        'if-none-exist': formatSearchQuery({ resourceType: type, params: condition }),
      },
      resource,
      { interaction: 'create' },
    );
    if (res.status !== 201 && res.status !== 200) badResponse('POST', res.status);
    return { created: res.status === 201, resource: expectResource('POST', res, type) };
  }

  /** PUT [base]/type/id with `If-Match: W/"versionId"`. */
  async update(
    type: string,
    resource: ResourceJson & { id: string },
    versionId: string,
  ): Promise<UpdateOutcome> {
    const res = await this.send(
      'PUT',
      this.resourceUrl(type, resource.id),
      { 'if-match': `W/"${versionId}"`, prefer: 'return=representation' },
      resource,
      { interaction: 'update' },
    );
    if (res.status === 412 || res.status === 409)
      return { kind: 'conflict', resent: (res.attempts ?? 1) > 1, status: res.status };
    if (res.status === 201)
      return { kind: 'created', resource: expectResource('PUT', res, type, resource.id) };
    if (res.status !== 200) badResponse('PUT', res.status);
    return { kind: 'updated', resource: expectResource('PUT', res, type, resource.id) };
  }

  /**
   * PUT [base]/type/id without `If-Match`: creates or replaces the resource.
   * For definitional resources we own by id (SearchParameter); records always
   * go through `update`, which cannot re-create a deleted one by accident.
   */
  async put(type: string, resource: ResourceJson & { id: string }): Promise<ResourceJson> {
    const res = await this.send(
      'PUT',
      this.resourceUrl(type, resource.id),
      { prefer: 'return=representation' },
      resource,
      { interaction: 'update' },
    );
    if (res.status !== 200 && res.status !== 201) badResponse('PUT', res.status);
    return expectResource('PUT', res, type, resource.id);
  }

  /**
   * DELETE [base]/type/id. HAPI answers 200 in every case and tells in the
   * OperationOutcome's `hapi-fhir-storage-response-code` whether something was
   * deleted; 404/410 (other servers) also mean missing; 409/412 mean a
   * concurrent write won and the caller may send it again. A body other than an
   * OperationOutcome, or one reporting an error, is a bad response.
   * When the DELETE had to be sent again (the answer to an earlier try was
   * lost), "already deleted" / 410 is taken as our own delete having landed.
   * `versionId`: sent as `If-Match` (a server that honours it refuses a
   * DELETE of a newer version with 412).
   */
  async delete(type: string, id: string, versionId?: string): Promise<DeleteOutcome> {
    const res = await this.send<ResourceJson>(
      'DELETE',
      this.resourceUrl(type, id),
      versionId === undefined ? {} : { 'if-match': `W/"${versionId}"` },
      undefined,
      { interaction: 'delete' },
    );
    return deleteOutcome(res, (res.attempts ?? 1) > 1);
  }

  /** GET [base]/metadata (the CapabilityStatement); `once`: no retries (a readiness probe reports now). */
  async capabilities(timeoutMs = this.timeoutMs, once = false): Promise<ResourceJson> {
    const res = await this.send('GET', `${this.baseUrl}/metadata`, {}, undefined, {
      interaction: 'capabilities',
      timeoutMs,
      once,
    });
    if (res.status !== 200) badResponse('GET', res.status);
    const body = res.body as ResourceJson | undefined;
    if (!body || body.resourceType !== 'CapabilityStatement') {
      badResponse('GET', res.status, 'a body that is not a CapabilityStatement');
    }
    return body;
  }
}
