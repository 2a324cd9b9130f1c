/**
 * Owns how a search is paged: by a `_lastUpdated` keyset, not by offsets or
 * the server's `next` links. Each page is a fresh search sorted by
 * `_lastUpdated` from the last time seen (`ge T`), so a write elsewhere never
 * shifts a page boundary: an update moves its record to the end (returned
 * once, de-duplicated by id), a create lands at the end, a delete removes only
 * itself. A run of records sharing one time that fills a whole page is read
 * on its own (`_lastUpdated=T`, every page), then the keyset goes on past it
 * (`gt T`). A page after the first asks for the page size plus the records
 * it will read again (those at `T`), so where the server's maximum page size
 * leaves room a filter takes ⌈matches ÷ page size⌉ requests; where it does
 * not (HAPI's starter default caps `_count` at 200, the default page size;
 * the bundled `stock` profile keeps that cap, `tuned` allows 1,000), each
 * later page brings page size − 1 new records. Unless the user sets a page
 * size, it is the server's cap, learned from the first answer (page-size.ts).
 * On HAPI each search carries
 * `_offset=0`, which makes HAPI answer with one bounded SQL query instead of starting its search coordinator
 * (whose second page costs ~500 ms), and sorts ties by `_id` too
 * (`_sort=_lastUpdated,_id`): then the records a page would read again are a
 * prefix of that time's run, and the next page skips all but the last of them
 * (`_offset`), checking that it comes first (the anchor). Anything else first
 * means the run changed under us (a record of it updated or deleted): that
 * page is asked again from the run's start. So a run of a transaction's
 * records shared across pages is not read twice. A server that does not sort by
 * `_lastUpdated` is detected on the first unsorted page; the search then
 * follows its `next` links instead (still each id once).
 */
import type { RecordCursor } from '../../api/record-cursor.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { IdSet } from './id-set.js';
import type { PageSize } from './page-size.js';
import type { SearchRequest } from './search-request.js';

export interface KeysetOptions {
  /** The page size, learned from the answers unless the user set one (page-size.ts). */
  pageSize: PageSize;
  /** Resume after this cursor. */
  start?: RecordCursor;
  /** The caller reads at most this many records: no page need be larger. */
  limit?: number;
}

const timeOf = (resource: ResourceJson): number => Date.parse(resource.meta?.lastUpdated ?? '');

function isSorted(resources: readonly ResourceJson[]): boolean {
  for (let i = 0; i < resources.length; i++) {
    const time = timeOf(resources[i]!);
    if (Number.isNaN(time) || (i > 0 && time < timeOf(resources[i - 1]!))) return false;
  }
  return true;
}

/** `count` records of the search, and on HAPI `_offset` (0 unless skipping); decided per page: the first answer may be what tells us the server is HAPI. */
function counted(
  rest: FhirRestClient,
  request: SearchRequest,
  count: number,
  skip = 0,
): SearchRequest {
  return { ...request, count, ...(rest.answersOffsetQueries ? { offset: skip } : {}) };
}

/** A keyset page's request: the search sorted by `_lastUpdated` (on HAPI, ties by `_id`), from `lastUpdated` on. */
export function keysetRequest(
  rest: FhirRestClient,
  search: SearchRequest,
  count: number,
  lastUpdated?: SearchRequest['lastUpdated'],
  skip = 0,
): SearchRequest {
  const sort = rest.answersOffsetQueries
    ? (['_lastUpdated', '_id'] as const)
    : ['_lastUpdated' as const];
  return counted(rest, { ...search, lastUpdated, sort }, count, skip);
}

/** Where the next keyset page starts: `ge` the last time, reading again the records seen at it. */
interface Continuation {
  lower: SearchRequest['lastUpdated'];
  /** Records the next page reads again: those of the last page at its last time. */
  rereads: number;
  /** The last record seen, when the run it ends is a prefix in the server's `_lastUpdated,_id` order. */
  anchor?: string;
}

/** The next page's request: past the anchored prefix of the last run where there is one (see the header). */
function nextPage(
  rest: FhirRestClient,
  search: SearchRequest,
  pageSize: PageSize,
  wanted: number,
  at: Continuation,
): { request: SearchRequest; asked: number; skip: number } {
  const skip = at.anchor !== undefined && rest.answersOffsetQueries ? at.rereads - 1 : 0;
  const asked = pageSize.ask(wanted + at.rereads - skip);
  return { request: keysetRequest(rest, search, asked, at.lower, skip), asked, skip };
}

/** Pages of the search's matches in ascending `_lastUpdated`, each id once. */
export async function* keysetPages(
  rest: FhirRestClient,
  search: SearchRequest,
  options: KeysetOptions,
): AsyncGenerator<ResourceJson[]> {
  const { pageSize } = options;
  const size = () => Math.min(pageSize.size, options.limit ?? Infinity);
  const seen = new IdSet(options.start?.ids);
  const fresh = (resources: ResourceJson[]) => resources.filter((r) => seen.add(r.id!));
  let at: Continuation = {
    lower: options.start ? { prefix: 'ge', instant: options.start.after } : undefined,
    rereads: options.start?.ids.length ?? 0,
  };
  for (;;) {
    const { request, asked, skip } = nextPage(rest, search, pageSize, size(), at);
    const { resources, next } = await rest.searchPage(request);
    if (skip > 0 && resources[0]?.id !== at.anchor) {
      // the run changed since the last page: ask again from its start
      at = { ...at, anchor: undefined };
      continue;
    }
    pageSize.learn(asked, resources.length, next);
    if (!isSorted(resources)) {
      // the server ignores _sort: its own paging, from the start, each id once
      yield* rest.searchPages({ ...search, count: size() }, seen);
      return;
    }
    yield fresh(resources);
    if (next === undefined || resources.length === 0) return;
    const last = resources[resources.length - 1]!;
    const lastTime = last.meta!.lastUpdated!;
    if (timeOf(resources[0]!) < timeOf(last)) {
      const tieOrdered = request.sort?.includes('_id') === true;
      at = {
        lower: { prefix: 'ge', instant: lastTime },
        rereads: resources.filter((r) => timeOf(r) === timeOf(last)).length,
        ...(tieOrdered ? { anchor: last.id } : {}),
      };
      continue;
    }
    // a whole page of one time: read every record of that time, then go past it
    const tie = counted(rest, { ...search, lastUpdated: { instant: lastTime } }, size());
    for await (const page of rest.searchPages(tie, seen)) yield page;
    at = { lower: { prefix: 'gt', instant: lastTime }, rereads: 0 };
  }
}
