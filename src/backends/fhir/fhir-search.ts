/**
 * Owns sending searches (a `SearchRequest`, formatted by search-request.ts):
 * one page (GET, or POST `_search` when the URL would be too long), every
 * page by the server's `next` links (followed only below our base URL, never
 * twice), and a probe whose status alone counts. FhirRestClient exposes these
 * as its search methods.
 */
import type { Bundle } from 'fhir/r4.js';
import { isPlainObject } from '../../shared/plain-object.js';
import type { HttpResponse } from '../../transport/http.js';
import type { Interaction } from '../../transport/events.js';
import { badResponse } from './fhir-answers.js';
import { isFhirId } from './fhir-id.js';
import type { HeaderMap, ResourceJson } from './fhir-types.js';
import { IdSet } from './id-set.js';
import {
  formatSearchQuery,
  searchParameters,
  type QueryParameter,
  type SearchRequest,
} from './search-request.js';

/** What a search needs of the client: its base URL and its one way of sending (retries, auth, TLS). */
export interface SearchSender {
  readonly baseUrl: string;
  send<T>(
    method: 'GET' | 'POST',
    url: string,
    extra: HeaderMap,
    body: undefined,
    options: { interaction: Interaction; form?: readonly QueryParameter[] },
  ): Promise<HttpResponse<T>>;
}

/** A page to read: the first of a request, or a later one by the server's `next` URL. */
export type PageRequest = SearchRequest | { resourceType: string; url: string };

/** One page's matches, with its checked `next` link when there is more. */
export interface SearchPage {
  resources: ResourceJson[];
  next?: string;
}

/** The most pages one search may return: a server that keeps answering `next` forever is broken. */
const MAX_PAGES = 10_000;
/** The longest search URL sent as a GET; longer searches are POSTed to `_search` (proxies and servers cap request lines at 4–8 KB). */
const MAX_SEARCH_URL = 4096;
/** Every search runs now: HAPI would otherwise answer from its search cache (stock HAPI reuses results for 60 s). */
const NO_CACHE = { 'cache-control': 'no-cache' };

/** The URL of the request's first page (what `searchPage` sends as a GET). */
export function searchUrl(baseUrl: string, request: SearchRequest): string {
  const query = formatSearchQuery(request);
  return `${baseUrl}/${request.resourceType}${query ? `?${query}` : ''}`;
}

/** The request `searchPage` sends, as one line: `GET <url>`, or `POST <url>/_search` and its form body. */
export function describeSearch(baseUrl: string, request: SearchRequest): string {
  const url = searchUrl(baseUrl, request);
  return url.length > MAX_SEARCH_URL
    ? `POST ${baseUrl}/${request.resourceType}/_search with the form body ${formatSearchQuery(request)}`
    : `GET ${url}`;
}

/**
 * Sends one page's search: GET its URL, or POST `_search` with the request
 * as a form body when that URL would be too long (servers refuse long request
 * lines, HAPI's Jetty at about 8 KB); with `Cache-Control: no-cache`. The
 * answer must be a 200 searchset-shaped Bundle (a bad response otherwise).
 */
async function searchBundle(
  sender: SearchSender,
  page: PageRequest,
  url: string,
): Promise<Bundle<ResourceJson>> {
  const res =
    'url' in page || url.length <= MAX_SEARCH_URL
      ? await sender.send<Bundle<ResourceJson>>('GET', url, NO_CACHE, undefined, {
          interaction: 'search',
        })
      : await sender.send<Bundle<ResourceJson>>(
          'POST',
          `${sender.baseUrl}/${page.resourceType}/_search`,
          NO_CACHE,
          undefined,
          { form: searchParameters(page), interaction: 'search' },
        );
  if (res.status !== 200) badResponse('GET', res.status);
  const bundle = res.body;
  if (!bundle || bundle.resourceType !== 'Bundle' || (bundle.entry && !Array.isArray(bundle.entry)))
    badResponse('GET', res.status, 'a body that is not a Bundle');
  return bundle;
}

/**
 * A `next` link, followed only below our base URL (our headers carry
 * credentials; a link elsewhere is not our server's page) and only to a page
 * not read yet. A server that names itself otherwise (behind a proxy) must be
 * told its public address.
 */
function nextPage(baseUrl: string, next: unknown, visited: ReadonlySet<string>): string {
  let href: string;
  try {
    href = new URL(String(next), `${baseUrl}/`).href;
  } catch {
    badResponse('GET', 200, 'an invalid next link');
  }
  if (href !== baseUrl && !href.startsWith(`${baseUrl}/`) && !href.startsWith(`${baseUrl}?`))
    badResponse('GET', 200, 'a next link outside its base URL');
  if (visited.has(href)) badResponse('GET', 200, 'a next link to a page already read');
  return href;
}

/**
 * One search page (see `searchBundle`). Only resources of the type searched
 * come back (included resources and OperationOutcomes are skipped; a match of
 * another type is a bad response), with the page's checked `next` link.
 */
export async function searchPage(
  sender: SearchSender,
  page: PageRequest,
  visited: Set<string> = new Set(),
): Promise<SearchPage> {
  const type = page.resourceType;
  const url = 'url' in page ? page.url : searchUrl(sender.baseUrl, page);
  visited.add(url);
  const bundle = await searchBundle(sender, page, url);
  const resources: ResourceJson[] = [];
  for (const entry of bundle.entry ?? []) {
    const resource = (isPlainObject(entry) ? entry.resource : undefined) as
      ResourceJson | undefined;
    if (entry?.search?.mode === 'include' || resource?.resourceType === 'OperationOutcome')
      continue;
    if (!isPlainObject(resource) || resource.resourceType !== type || !isFhirId(resource.id))
      badResponse('GET', 200, `a search match that is not a ${type}`);
    resources.push(resource);
  }
  const next = Array.isArray(bundle.link)
    ? bundle.link.find((l) => l?.relation === 'next')?.url
    : undefined;
  return next === undefined
    ? { resources }
    : { resources, next: nextPage(sender.baseUrl, next, visited) };
}

/**
 * A search, then every `next` page, one page at a time as it arrives (in the
 * style of Medplum's `searchResourcePages`); each id once (across the pages,
 * and not in `seen`).
 */
export async function* searchPages(
  sender: SearchSender,
  request: SearchRequest,
  seen: IdSet = new IdSet(),
): AsyncGenerator<ResourceJson[]> {
  const visited = new Set<string>();
  let page: PageRequest | undefined = request;
  for (let count = 0; page; count++) {
    if (count >= MAX_PAGES) badResponse('GET', 200, `more than ${MAX_PAGES} pages`);
    const { resources, next } = await searchPage(sender, page, visited);
    yield resources.filter((r) => seen.add(r.id!));
    page = next === undefined ? undefined : { resourceType: request.resourceType, url: next };
  }
}

/** Every match of the pages (for small searches, e.g. of links). */
export async function everyMatch(pages: AsyncIterable<ResourceJson[]>): Promise<ResourceJson[]> {
  const result: ResourceJson[] = [];
  for await (const page of pages) result.push(...page);
  return result;
}

/** The request sent once as a GET, for what the server makes of it: only the status counts (capability probes). */
export async function probeSearch(sender: SearchSender, request: SearchRequest): Promise<number> {
  const res = await sender.send('GET', searchUrl(sender.baseUrl, request), NO_CACHE, undefined, {
    interaction: 'search',
  });
  return res.status;
}
