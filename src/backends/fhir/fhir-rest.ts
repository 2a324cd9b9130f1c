/**
 * Owns talking FHIR REST: a small typed FHIR R4 client on the package's one HTTP layer
 * (`sendHttpRequest`): read, search (following every `next` link), create,
 * update with `If-Match`, delete and `/metadata`. It never logs and never puts
 * a response body into an error message (bodies hold patient data).
 */
import type { Bundle, Coding, Identifier, Meta } from 'fhir/r4.js';
import { BadStorageResponseError } from '../../api/errors.js';
import { isPlainObject } from '../../shared/plain-object.js';
import { FhirAuth, type FhirAuthOptions } from '../../transport/auth.js';
import {
  parseBreakerOptions,
  type BreakerOptions,
  type CircuitBreaker,
} from '../../transport/breaker.js';
import type { Interaction } from '../../transport/events.js';
import {
  origin,
  parseBaseUrl,
  parseTimeout,
  type HttpRequest,
  type HttpResponse,
} from '../../transport/http.js';
import {
  parseRetryOptions,
  sendWithRetry,
  type RetryOptions,
  type RetryPolicy,
} from '../../transport/retry.js';
import type { FhirTlsOptions } from '../../transport/tls-options.js';
import { explainTlsFailure, FhirTls } from '../../transport/tls.js';
import { isHapi } from './hapi.js';
import { IdSet } from './id-set.js';

/**
 * A resource as this backend handles it: the R4 elements it reads directly
 * are typed; the rest is JSON that mappings address by path and that an
 * update must carry back untouched.
 */
export interface ResourceJson {
  resourceType: string;
  id?: string;
  meta?: Meta;
  identifier?: Identifier[];
  [element: string]: unknown;
}
type FhirBundle = Bundle<ResourceJson>;

export type HeaderMap = Record<string, string>;

export interface FhirRestOptions {
  /** The server's base URL, e.g. `http://localhost:8080/fhir` (no trailing slash needed). */
  baseUrl: string;
  /** Extra headers on every request. */
  headers?: HeaderMap;
  /** Called before every request; its headers (e.g. `Authorization`) are added. */
  authorize?: () => Promise<HeaderMap> | HeaderMap;
  /** Credentials for the FHIR server: bearer, basic, OAuth 2.0 client credentials or SMART Backend Services. */
  auth?: FhirAuthOptions;
  /** Retries of GET, DELETE and If-Match PUT on transient failures, and of every request after a 429 (default 5 attempts within 10 s); `false`: none. */
  retry?: RetryOptions | false;
  /** Per request, default 10000. */
  timeoutMs?: number;
  /**
   * TLS to an https:// server: CA certificates to trust instead of the system's,
   * and a client certificate and key (mutual TLS), as PEM text or Buffers.
   * Used for every request to the server's origin (a token endpoint elsewhere
   * gets the system's CAs and no client certificate). An http:// base URL
   * with `tls` is refused.
   */
  tls?: FhirTlsOptions;
  /**
   * Fail fast while the server is down: after `failureThreshold` (default 5)
   * consecutive connection failures or timeouts, requests fail at once with
   * `CircuitOpenError` for `openMs` (default 5000), then one probe request
   * decides. Default `false` (off) in the library; the facade turns it on.
   */
  breaker?: BreakerOptions | false;
}

/**
 * A FHIR logical id that a URL can name: `[A-Za-z0-9\-.]{1,64}`, except `.` and
 * `..`, which the pattern allows but URL normalisation removes as dot segments
 * (`Patient/..` is the base URL itself; no encoding survives it). Anything else
 * is never put into a URL: such an id names no resource we can reach. So is
 * `metadata`: HAPI routes `[type]/metadata` as the capabilities operation and
 * refuses every verb there, so no resource can have that id on it.
 */
const fhirIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;
const unreachableIds = new Set(['.', '..', 'metadata']);
export function isFhirId(id: unknown): id is string {
  return typeof id === 'string' && fhirIdPattern.test(id) && !unreachableIds.has(id);
}

/** Percent-encodes a query component, keeping `:` readable (allowed in a query by RFC 3986). */
function encodeQueryComponent(text: string): string {
  return encodeURIComponent(text).replace(/%3A/gi, ':');
}

/** `[name, value]` pairs (values already FHIR-escaped, see search-plan.ts) → a query string. */
export function buildQuery(params: readonly (readonly [string, string])[]): string {
  return params.map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`).join('&');
}

export type UpdateOutcome =
  | { kind: 'updated'; resource: ResourceJson }
  /**
   * 412 (or 409): the version we read is no longer current. `resent`: the PUT
   * was sent more than once (an earlier answer was lost), so the stale version
   * may be our own write having landed.
   */
  | { kind: 'conflict'; resent: boolean }
  /** The PUT created the resource (it had been deleted meanwhile); the caller decides what to do. */
  | { kind: 'created'; resource: ResourceJson };

/** `conflict`: 409/412, a concurrent write won (HAPI-0823 on HAPI); the resource is still there. */
export type DeleteOutcome = 'deleted' | 'missing' | 'conflict';

const FHIR_JSON = 'application/fhir+json';
/** The most pages one search may return: a server that keeps answering `next` forever is broken. */
const MAX_PAGES = 10_000;
/** The longest search URL sent as a GET; longer searches are POSTed to `_search` (proxies and servers cap request lines at 4–8 KB). */
const MAX_SEARCH_URL = 4096;

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
      this.auth = FhirAuth.create(options.auth, {
        baseUrl: this.baseUrl,
        timeoutMs: this.timeoutMs,
        retry: this.retry,
        tls: this.tls,
      });
    }
  }

  /**
   * One FHIR request. GET, DELETE and a PUT with `If-Match` may be sent again
   * on a transient failure; a create or a Bundle only after a 429 (refused
   * before any work, retry.ts), else once. `once`: never again. A 401 with a token that can
   * be renewed is answered by one new token and one more try: the server
   * refused before doing anything, so even a create is safe to resend.
   */
  private async send<T>(
    method: HttpRequest['method'],
    url: string,
    extra: HeaderMap,
    body: unknown,
    {
      interaction,
      timeoutMs = this.timeoutMs,
      once = false,
      form,
      repeatable = false,
    }: {
      interaction: Interaction;
      timeoutMs?: number;
      once?: boolean;
      form?: HttpRequest['form'];
      /** Sending it twice is harmless (a conditional create). */
      repeatable?: boolean;
    },
  ): Promise<HttpResponse<T>> {
    const custom = this.authorize ? await this.authorize() : {};
    const headers: HeaderMap = { accept: FHIR_JSON, ...this.headers, ...custom, ...extra };
    // a search (GET, or POST _search with a form) changes nothing, so it may be repeated
    const idempotent =
      !once &&
      (repeatable ||
        method === 'GET' ||
        method === 'DELETE' ||
        form !== undefined ||
        (method === 'PUT' && 'if-match' in extra));
    const attempt = async (): Promise<HttpResponse<T>> => {
      const authorization = this.auth ? await this.auth.authorization() : undefined;
      const request = {
        method,
        url,
        headers: authorization ? { ...headers, authorization } : headers,
        body,
        form,
        contentType: FHIR_JSON,
        timeoutMs,
        httpsAgent: this.tls?.agent,
        interaction,
      };
      const policy = once ? { ...this.retry, maxAttempts: 1 } : this.retry;
      const res = await sendWithRetry<T>(request, policy, idempotent, this.breaker).catch(
        (error) => {
          throw explainTlsFailure(error, this.baseUrl, this.tls);
        },
      );
      if (res.status === 401 && authorization) this.auth?.invalidate(authorization);
      return res;
    };
    let res = await attempt();
    if (res.status === 401 && this.auth?.refreshable) res = await attempt();
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

  private badResponse(method: string, status: number, what = 'an unexpected status'): never {
    if (status === 401 || status === 403) {
      throw new BadStorageResponseError(
        `the FHIR server refused ${method} (${status}): check the auth configuration`,
        status,
      );
    }
    throw new BadStorageResponseError(
      `the FHIR server answered ${method} with ${what} (${status})`,
      status,
    );
  }

  /** The body as a resource of `type` (with the given `id` when one was asked for), else bad-response. */
  private expectResource(
    method: string,
    res: HttpResponse<unknown>,
    type: string,
    id?: string,
  ): ResourceJson {
    const body = res.body as ResourceJson | undefined;
    if (
      !isPlainObject(body) ||
      body.resourceType !== type ||
      !isFhirId(body.id) ||
      (id !== undefined && body.id !== id)
    ) {
      this.badResponse(method, res.status, `a body that is not the ${type} asked for`);
    }
    return body;
  }

  /**
   * 404/410 mean "no such resource" only from the FHIR server itself, which
   * says so in an OperationOutcome; any other body (a proxy's page, another
   * service behind a wrong base URL) is not an answer about the resource.
   */
  private expectOutcome(method: string, res: HttpResponse<unknown>): void {
    const body = res.body as { resourceType?: unknown } | undefined;
    if (!isPlainObject(body) || body.resourceType !== 'OperationOutcome') {
      this.badResponse(method, res.status, 'a body that is not an OperationOutcome');
    }
  }

  /** GET [base]/type/id: the resource, or `null` when it does not exist or was deleted. */
  async read(type: string, id: string): Promise<ResourceJson | null> {
    const res = await this.send('GET', this.resourceUrl(type, id), {}, undefined, {
      interaction: 'read',
    });
    if (res.status === 404 || res.status === 410) {
      this.expectOutcome('GET', res);
      return null;
    }
    if (res.status !== 200) this.badResponse('GET', res.status);
    return this.expectResource('GET', res, type, id);
  }

  /** The URL of the first page of a search (what `search` sends first). */
  searchUrl(type: string, params: readonly (readonly [string, string])[]): string {
    const query = buildQuery(params);
    return `${this.resourceUrl(type)}${query ? `?${query}` : ''}`;
  }

  /** The first request `search` sends, as one line: `GET <url>`, or `POST <url>/_search` and its form body. */
  describeSearch(type: string, params: readonly (readonly [string, string])[]): string {
    const url = this.searchUrl(type, params);
    return url.length > MAX_SEARCH_URL
      ? `POST ${this.resourceUrl(type)}/_search with the form body ${buildQuery(params)}`
      : `GET ${url}`;
  }

  /**
   * Sends one search: GET `url` (built from `params` for a first page, a
   * later page's `next` URL), or POST `_search` with `params` as a form body
   * when that URL would be too long (servers refuse long request lines,
   * HAPI's Jetty at about 8 KB); with `Cache-Control: no-cache`, so HAPI runs
   * it now instead of answering from its search cache (stock HAPI reuses
   * results for 60 s). The answer must be a 200 searchset-shaped Bundle (a
   * bad response otherwise).
   */
  private async searchBundle(
    type: string,
    url: string,
    params?: readonly (readonly [string, string])[],
  ): Promise<FhirBundle> {
    const noCache = { 'cache-control': 'no-cache' };
    const res =
      params && url.length > MAX_SEARCH_URL
        ? await this.send<FhirBundle>(
            'POST',
            `${this.resourceUrl(type)}/_search`,
            noCache,
            undefined,
            { form: params, interaction: 'search' },
          )
        : await this.send<FhirBundle>('GET', url, noCache, undefined, { interaction: 'search' });
    if (res.status !== 200) this.badResponse('GET', res.status);
    const bundle = res.body;
    if (
      !bundle ||
      bundle.resourceType !== 'Bundle' ||
      (bundle.entry && !Array.isArray(bundle.entry))
    ) {
      this.badResponse('GET', res.status, 'a body that is not a Bundle');
    }
    return bundle;
  }

  /**
   * How many resources match a search (`_summary=count` added), or `undefined`
   * when the server does not say (`total` is optional in a searchset).
   */
  async count(
    type: string,
    params: readonly (readonly [string, string])[],
  ): Promise<number | undefined> {
    const counted: (readonly [string, string])[] = [...params, ['_summary', 'count']];
    const { total } = await this.searchBundle(type, this.searchUrl(type, counted), counted);
    return Number.isInteger(total) && total! >= 0 ? total : undefined;
  }

  /**
   * One search page (see `searchBundle`): the first by its parameters, a
   * later one by its `next` URL. Only resources of `type` come back (included resources and
   * OperationOutcomes are skipped; a match of another type is a bad
   * response), with the page's checked `next` link when there is more.
   */
  async searchPage(
    type: string,
    page: { params: readonly (readonly [string, string])[] } | { url: string },
    visited: Set<string> = new Set(),
  ): Promise<{ resources: ResourceJson[]; next?: string }> {
    const url = 'url' in page ? page.url : this.searchUrl(type, page.params);
    visited.add(url);
    const bundle = await this.searchBundle(type, url, 'params' in page ? page.params : undefined);
    const resources: ResourceJson[] = [];
    for (const entry of bundle.entry ?? []) {
      const resource = (isPlainObject(entry) ? entry.resource : undefined) as
        ResourceJson | undefined;
      if (entry?.search?.mode === 'include' || resource?.resourceType === 'OperationOutcome')
        continue;
      if (!isPlainObject(resource) || resource.resourceType !== type || !isFhirId(resource.id))
        this.badResponse('GET', 200, `a search match that is not a ${type}`);
      resources.push(resource);
    }
    const next = Array.isArray(bundle.link)
      ? bundle.link.find((l) => l?.relation === 'next')?.url
      : undefined;
    return next === undefined ? { resources } : { resources, next: this.nextPage(next, visited) };
  }

  /**
   * A search, then every `next` page, one page at a time as it arrives;
   * each id once (across the pages, and not in `seen`).
   */
  async *searchLinkedPages(
    type: string,
    params: readonly (readonly [string, string])[],
    seen: IdSet = new IdSet(),
  ): AsyncGenerator<ResourceJson[]> {
    const visited = new Set<string>();
    let page: { params: typeof params } | { url: string } | undefined = { params };
    for (let count = 0; page; count++) {
      if (count >= MAX_PAGES) this.badResponse('GET', 200, `more than ${MAX_PAGES} pages`);
      const { resources, next } = await this.searchPage(type, page, visited);
      yield resources.filter((r) => seen.add(r.id!));
      page = next === undefined ? undefined : { url: next };
    }
  }

  /** Every match of a search, through every page (for small searches, e.g. of links). */
  async search(
    type: string,
    params: readonly (readonly [string, string])[],
  ): Promise<ResourceJson[]> {
    const result: ResourceJson[] = [];
    for await (const page of this.searchLinkedPages(type, params)) result.push(...page);
    return result;
  }

  /** GET [base]/type?params once, for what the server makes of it: only the status counts (capability probes). */
  async probeSearch(type: string, params: readonly (readonly [string, string])[]): Promise<number> {
    const res = await this.send(
      'GET',
      `${this.resourceUrl(type)}?${buildQuery(params)}`,
      { 'cache-control': 'no-cache' },
      undefined,
      { interaction: 'search' },
    );
    return res.status;
  }

  /**
   * A `next` link, followed only below our base URL (our headers carry
   * credentials; a link elsewhere is not our server's page) and only to a page
   * not read yet. A server that names itself otherwise (behind a proxy) must be
   * told its public address.
   */
  private nextPage(next: unknown, visited: ReadonlySet<string>): string {
    let href: string;
    try {
      href = new URL(String(next), `${this.baseUrl}/`).href;
    } catch {
      this.badResponse('GET', 200, 'an invalid next link');
    }
    if (
      href !== this.baseUrl &&
      !href.startsWith(`${this.baseUrl}/`) &&
      !href.startsWith(`${this.baseUrl}?`)
    ) {
      this.badResponse('GET', 200, 'a next link outside its base URL');
    }
    if (visited.has(href)) this.badResponse('GET', 200, 'a next link to a page already read');
    return href;
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
    if (res.status !== 200) this.badResponse('POST', res.status, `a refused ${type}`);
    const answers = res.body?.entry;
    if (
      res.body?.resourceType !== 'Bundle' ||
      !Array.isArray(answers) ||
      answers.length !== entries.length
    )
      this.badResponse('POST', res.status, 'a body that is not the batch-response Bundle');
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
    if (res.status !== 201 && res.status !== 200) this.badResponse('POST', res.status);
    return this.expectResource('POST', res, type);
  }

  /**
   * POST [base]/type with `If-None-Exist: <condition>` (a conditional create,
   * so it may be sent again): `created` when the server wrote it (201), else
   * the one resource matching the condition (200).
   */
  async createIfNoneExist(
    type: string,
    resource: ResourceJson,
    condition: readonly (readonly [string, string])[],
  ): Promise<{ created: boolean; resource: ResourceJson }> {
    const res = await this.send(
      'POST',
      this.resourceUrl(type),
      { prefer: 'return=representation', 'if-none-exist': buildQuery(condition) },
      resource,
      { repeatable: true, interaction: 'create' },
    );
    if (res.status !== 201 && res.status !== 200) this.badResponse('POST', res.status);
    return { created: res.status === 201, resource: this.expectResource('POST', res, type) };
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
      return { kind: 'conflict', resent: (res.attempts ?? 1) > 1 };
    if (res.status === 201)
      return { kind: 'created', resource: this.expectResource('PUT', res, type, resource.id) };
    if (res.status !== 200) this.badResponse('PUT', res.status);
    return { kind: 'updated', resource: this.expectResource('PUT', res, type, resource.id) };
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
    if (res.status !== 200 && res.status !== 201) this.badResponse('PUT', res.status);
    return this.expectResource('PUT', res, type, resource.id);
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
    const resent = (res.attempts ?? 1) > 1;
    if (res.status === 404 || res.status === 410) {
      this.expectOutcome('DELETE', res);
      return resent && res.status === 410 ? 'deleted' : 'missing';
    }
    if (res.status === 409 || res.status === 412) {
      this.expectOutcome('DELETE', res);
      return 'conflict';
    }
    if (res.status !== 200 && res.status !== 204 && res.status !== 202)
      this.badResponse('DELETE', res.status);
    if (res.body === undefined) return 'deleted';
    this.expectOutcome('DELETE', res);
    const codes: string[] = [];
    const issues = (res.body as { issue?: unknown }).issue;
    for (const issue of Array.isArray(issues)
      ? (issues as { severity?: unknown; details?: { coding?: Coding[] } }[])
      : []) {
      if (issue?.severity === 'error' || issue?.severity === 'fatal')
        this.badResponse('DELETE', res.status, 'an error OperationOutcome');
      for (const coding of issue?.details?.coding ?? [])
        if (typeof coding?.code === 'string') codes.push(coding.code);
    }
    if (codes.includes('SUCCESSFUL_DELETE_ALREADY_DELETED')) return resent ? 'deleted' : 'missing';
    if (codes.includes('SUCCESSFUL_DELETE_NOT_FOUND')) return 'missing';
    return 'deleted';
  }

  /** GET [base]/metadata (the CapabilityStatement); `once`: no retries (a readiness probe reports now). */
  async capabilities(timeoutMs = this.timeoutMs, once = false): Promise<ResourceJson> {
    const res = await this.send('GET', `${this.baseUrl}/metadata`, {}, undefined, {
      interaction: 'capabilities',
      timeoutMs,
      once,
    });
    if (res.status !== 200) this.badResponse('GET', res.status);
    const body = res.body as ResourceJson | undefined;
    if (!body || body.resourceType !== 'CapabilityStatement') {
      this.badResponse('GET', res.status, 'a body that is not a CapabilityStatement');
    }
    return body;
  }
}
