/**
 * Owns the scope tag (`FHIR_SCOPE_TAG`): written on every resource we write,
 * and required by every search we send, which also pages by `_count` (the
 * page size: the user's, else the server's largest, see page-size.ts).
 */
import type { RecordCursor } from '../../api/record-cursor.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { firstKeysetQuery, keysetPages } from './keyset-pages.js';
import type { PageSize } from './page-size.js';
import { queryPairs, type SearchParameter } from './search-plan.js';

export interface ScopeTag {
  system: string;
  code: string;
}

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

  private scoped(params: readonly SearchParameter[]): [string, string][] {
    const scoped: SearchParameter[] = [...params];
    if (this.tag) scoped.push({ name: '_tag', system: this.tag.system, values: [this.tag.code] });
    return queryPairs(scoped);
  }

  /** The query of a search for the parameters: theirs, the scope tag, `_count`. */
  query(params: readonly SearchParameter[]): [string, string][] {
    return [...this.scoped(params), ['_count', String(this.pageSize.size)]];
  }

  /** The query of a filter's first page (keyset-paged, see keyset-pages.ts). */
  firstPageQuery(params: readonly SearchParameter[]): [string, string][] {
    return firstKeysetQuery(this.rest, this.scoped(params), this.pageSize.size);
  }

  /** Every match, a page at a time in ascending `_lastUpdated` (keyset-paged, see keyset-pages.ts). */
  pages(
    type: string,
    params: readonly SearchParameter[],
    options: { start?: RecordCursor; limit?: number },
  ): AsyncGenerator<ResourceJson[]> {
    return keysetPages(this.rest, type, this.scoped(params), {
      pageSize: this.pageSize,
      ...options,
    });
  }

  /** How many resources of `type` match the parameters and the scope tag (`undefined`: the server did not say). */
  count(type: string, params: readonly SearchParameter[]): Promise<number | undefined> {
    return this.rest.count(type, this.scoped(params));
  }

  /** Every resource of `type` matching the parameters and the scope tag, through every page. */
  search(type: string, params: readonly SearchParameter[]): Promise<ResourceJson[]> {
    return this.rest.search(type, this.query(params));
  }
}
