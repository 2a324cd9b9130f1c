/**
 * Owns the order every backend streams records in and the opaque cursor that
 * resumes it: records come in ascending `updated_date` (ties in any order),
 * and a cursor is "after this `updated_date`, and not these ids that carry
 * exactly it". That is a keyset, not an offset: a write elsewhere never shifts
 * what a cursor points at (see docs/streaming.md for what is guaranteed).
 */
import { ValidationError } from './errors.js';
import type { StoredRecord } from './types.js';

export interface RecordCursor {
  /** The `updated_date` of the last record returned (ISO 8601). */
  after: string;
  /** Ids already returned whose `updated_date` is exactly `after`. */
  ids: readonly string[];
}

const timeOf = (record: StoredRecord): number => Date.parse(record.updated_date ?? '');

/** Streaming order: ascending `updated_date`, then id (for backends that can order ties). */
export function compareForStreaming(a: StoredRecord, b: StoredRecord): number {
  const byTime = timeOf(a) - timeOf(b);
  if (byTime !== 0) return byTime;
  const [x, y] = [a.id ?? '', b.id ?? ''];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether `record` comes after `cursor` (was not returned before it). */
export function isAfterCursor(record: StoredRecord, cursor: RecordCursor | undefined): boolean {
  if (!cursor) return true;
  const delta = timeOf(record) - Date.parse(cursor.after);
  return delta > 0 || (delta === 0 && !cursor.ids.includes(record.id ?? ''));
}

/** The cursor just past `record`, which came after `cursor` in streaming order. */
export function advanceCursor(
  cursor: RecordCursor | undefined,
  record: StoredRecord,
): RecordCursor {
  const after = record.updated_date ?? '';
  const id = record.id ?? '';
  if (cursor && Date.parse(cursor.after) === Date.parse(after))
    return { after: cursor.after, ids: [...cursor.ids, id] };
  return { after, ids: [id] };
}

/** The cursor as an opaque URL-safe token. */
export function encodeCursor(cursor: RecordCursor): string {
  return Buffer.from(JSON.stringify({ a: cursor.after, i: cursor.ids })).toString('base64url');
}

/** A token from `encodeCursor`; anything else is a ValidationError naming `field`. */
export function decodeCursor(token: string, field = 'cursor'): RecordCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const value = parsed as { a?: unknown; i?: unknown } | undefined;
  if (
    !value ||
    typeof value.a !== 'string' ||
    Number.isNaN(Date.parse(value.a)) ||
    !Array.isArray(value.i) ||
    !value.i.every((id) => typeof id === 'string')
  ) {
    throw new ValidationError([
      { field, message: 'is not a cursor this service returned (pass `next` back unchanged)' },
    ]);
  }
  return { after: value.a, ids: value.i };
}
