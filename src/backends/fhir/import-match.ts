/**
 * Owns matching the rows of a resumed import batch to the resources an
 * earlier run already wrote for it: by content (the record the row would
 * create against the record a resource holds, generated fields left out).
 * Rows of identical content are interchangeable; each resource pairs with at
 * most one row.
 */
import type { ModelSpec } from '../../api/models.js';
import type { StoredRecord } from '../../api/record-store.js';

/** A record's content as one comparable string: every field the store does not generate, in model order. */
export function contentKey(model: ModelSpec, record: StoredRecord): string {
  return JSON.stringify(
    Object.entries(model.fields)
      .filter(([, spec]) => !spec.readOnly)
      .map(([field]) => record[field] ?? null),
  );
}

export interface RowToMatch {
  content: string;
  /** The source ids the row links: a resource already carrying one is this row's. */
  sourceIds: readonly string[];
}

export interface ResourceToMatch<R> {
  content: string;
  /** The values of the resource's identifiers (links made by the earlier run). */
  identifierValues: readonly string[];
  resource: R;
}

/**
 * For each row, a distinct resource of the same content, or `undefined`.
 * First each row takes one already linked to one of its source ids (so a
 * resumed run links every pair to the resource the first run chose), then the
 * rest take the unclaimed ones, unlinked resources first.
 */
export function pairByContent<R>(
  rows: readonly RowToMatch[],
  found: readonly ResourceToMatch<R>[],
): (R | undefined)[] {
  const claimed = new Set<number>();
  const paired: (R | undefined)[] = rows.map(() => undefined);
  const take = (rowIndex: number, accept: (candidate: ResourceToMatch<R>) => boolean): void => {
    const row = rows[rowIndex]!;
    const index = found.findIndex(
      (candidate, i) => !claimed.has(i) && candidate.content === row.content && accept(candidate),
    );
    if (index < 0) return;
    claimed.add(index);
    paired[rowIndex] = found[index]!.resource;
  };
  rows.forEach((row, i) => {
    if (row.sourceIds.length)
      take(i, (c) => c.identifierValues.some((value) => row.sourceIds.includes(value)));
  });
  for (const unlinkedFirst of [true, false])
    rows.forEach((_, i) => {
      if (paired[i] === undefined)
        take(i, (c) => !unlinkedFirst || c.identifierValues.length === 0);
    });
  return paired;
}
