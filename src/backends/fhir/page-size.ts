/**
 * Owns the page size (`_count`) of searches: the one the user set
 * (`pageSize`, `FHIR_PAGE_SIZE`), asked for exactly; else the largest page
 * the server gives, up to `LARGEST_PAGE`. Servers cap `_count` silently (HAPI
 * answers fewer entries than asked, with a `next` link whose `_count` is its
 * cap: 200 in its starter settings, 1,000 in the bundled `tuned` profile), so
 * the cap is learned from the first answer that shows it and asked for from
 * then on: one search per page the server is willing to give.
 */

/** The largest page asked for when the user set none (a page of records is held in memory at once). */
export const LARGEST_PAGE = 1000;

export class PageSize {
  private cap?: number;

  /** `fixed`: the page size the user set (never learned); else learned, up to `LARGEST_PAGE`. */
  constructor(private readonly fixed?: number) {}

  /** Whether the size is the user's (`pageSize`, `FHIR_PAGE_SIZE`). */
  get isFixed(): boolean {
    return this.fixed !== undefined;
  }

  /** The records one page brings: the user's size, else the server's cap once known, else `LARGEST_PAGE`. */
  get size(): number {
    return this.fixed ?? this.cap ?? LARGEST_PAGE;
  }

  /** The `_count` to ask when a page should bring `wanted` records: no more than the server gives. */
  ask(wanted: number): number {
    return this.cap === undefined ? wanted : Math.min(wanted, this.cap);
  }

  /**
   * Learns the server's cap from an answer to `_count=asked` that has a next
   * page: the `_count` of its `next` link when it has one, else the number of
   * entries. Only ever lowers it; a user's size is kept as is.
   */
  learn(asked: number, entries: number, next: string | undefined): void {
    if (this.fixed !== undefined || next === undefined) return;
    const linked = Number(countOf(next) ?? NaN);
    const cap = Number.isInteger(linked) && linked > 0 ? linked : entries;
    if (cap > 0 && cap < asked) this.cap = Math.min(cap, this.cap ?? cap);
  }
}

/** The `_count` parameter of a URL, if any. */
function countOf(url: string): string | null {
  try {
    return new URL(url).searchParams.get('_count');
  } catch {
    return null;
  }
}
