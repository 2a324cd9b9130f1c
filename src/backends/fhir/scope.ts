/**
 * Owns the scope tag (`FHIR_SCOPE_TAG`): written on every resource we write,
 * and required by every search we send, which also pages by `_count` (the
 * page size: the user's, else the server's largest, see page-size.ts).
 */
import type { RecordCursor } from '../../api/record-cursor.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { everyMatch } from './fhir-search.js';
import { keysetPages, keysetRequest } from './keyset-pages.js';
import type { PageSize } from './page-size.js';
import type { SearchParameter, SearchRequest, TagCoding } from './search-request.js';

export type ScopeTag = TagCoding;

export class Scope {
  constructor(
    private readonly rest: FhirRestClient,
    private readonly pageSize: PageSize,
    private readonly tag?: ScopeTag,
  ) {}

  /** Adds the scope tag (when configured) to `meta.tag`, keeping other tags. */
  tagResource(resource: ResourceJson): void {
    const tag = this.tag;
    if (!tag) return;
    const tags = ((resource.meta ??= {}).tag ??= []);
    if (!tags.some((t) => t.system === tag.system && t.code === tag.code)) tags.push({ ...tag });
  }

  /** The search for `params` (and `_elements`) in scope: the scope tag added when configured. */
  request(
    resourceType: string,
    params: readonly SearchParameter[],
    elements?: readonly string[],
  ): SearchRequest {
    return {
      resourceType,
      params,
      ...(elements ? { elements } : {}),
      ...(this.tag ? { tag: this.tag } : {}),
    };
  }

  /** A filter's first page request (keyset-paged, see keyset-pages.ts): what explain shows. */
  firstPage(search: SearchRequest): SearchRequest {
    return keysetRequest(this.rest, search, this.pageSize.size);
  }

  /** Every match, a page at a time in ascending `_lastUpdated` (keyset-paged, see keyset-pages.ts). */
  pages(
    search: SearchRequest,
    options: { start?: RecordCursor; limit?: number },
  ): AsyncGenerator<ResourceJson[]> {
    return keysetPages(this.rest, search, { pageSize: this.pageSize, ...options });
  }

  /**
   * Every match of a small search (links), through the server's `next` pages
   * of the page size; on HAPI from `_offset=0` (one bounded query, not its
   * search coordinator: 2–3 ms of a 7 ms lookup, see keyset-pages.ts).
   */
  search(search: SearchRequest): Promise<ResourceJson[]> {
    const offset = this.rest.answersOffsetQueries ? { offset: 0 } : {};
    return everyMatch(this.rest.searchPages({ ...search, ...offset, count: this.pageSize.size }));
  }
}
