/**
 * Owns how the facade answers a filter: a JSON array written record by
 * record as the storage yields them, one record per line for
 * `Accept: application/x-ndjson`, or with `?limit=N[&cursor=C]` one page
 * `{"items": [...], "next": cursor | null}`. Nothing is sent until the first
 * record (or the end) arrives, so a failure before it is an ordinary problem
 * answer. A failure after it cannot change the status any more: the
 * connection is then cut without the final chunk (no closing `]`, no last
 * newline), which every HTTP client reports as an error, so a partial answer
 * never reads as a complete one.
 */
import type { Request, Response } from 'express';
import { ValidationError } from '../api/errors.js';
import {
  advanceCursor,
  decodeCursor,
  encodeCursor,
  type RecordCursor,
} from '../api/record-cursor.js';
import type { StoredRecord } from '../api/record-store.js';

export const NDJSON = 'application/x-ndjson';
/** The largest `limit` a page may ask for. */
export const MAX_PAGE_LIMIT = 1000;

/** What a filter route was asked for: everything streamed, or one page. */
export type Listing = { kind: 'stream' } | { kind: 'page'; limit: number; after?: RecordCursor };

/** `limit` and `cursor` of the query (already separated from the lookups). */
export function parseListing(limit: string | undefined, cursor: string | undefined): Listing {
  if (limit === undefined) {
    if (cursor !== undefined)
      throw new ValidationError([{ field: 'cursor', message: 'needs `limit`' }]);
    return { kind: 'stream' };
  }
  const n = /^[1-9][0-9]*$/.test(limit) ? Number(limit) : NaN;
  if (!(n <= MAX_PAGE_LIMIT))
    throw new ValidationError([
      { field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` },
    ]);
  return cursor === undefined
    ? { kind: 'page', limit: n }
    : { kind: 'page', limit: n, after: decodeCursor(cursor) };
}

/** Resolves when the response can take more (or is gone: then `false`). */
function writeWithBackpressure(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Streams every record (array or NDJSON by the Accept header); throws what the storage throws. */
export async function sendRecordStream(
  req: Request,
  res: Response,
  records: AsyncIterable<StoredRecord>,
): Promise<void> {
  const ndjson = req.accepts(['application/json', NDJSON]) === NDJSON;
  const iterator = records[Symbol.asyncIterator]();
  try {
    let step = await iterator.next();
    res.status(200).type(ndjson ? NDJSON : 'application/json');
    let first = true;
    const open = ndjson ? '' : '[';
    while (!step.done) {
      const text = JSON.stringify(step.value);
      const chunk = ndjson ? `${text}\n` : `${first ? open : ','}${text}`;
      first = false;
      if (!(await writeWithBackpressure(res, chunk))) return; // the client left
      step = await iterator.next();
    }
    res.end(ndjson ? '' : first ? '[]' : ']');
  } finally {
    await iterator.return?.();
  }
}

/** One page of at most `limit` records after `after`, and the cursor of the next page. */
export async function sendRecordPage(
  res: Response,
  records: AsyncIterable<StoredRecord>,
  listing: Extract<Listing, { kind: 'page' }>,
): Promise<void> {
  const items: StoredRecord[] = [];
  let cursor = listing.after;
  let more = false;
  for await (const record of records) {
    if (items.length === listing.limit) {
      more = true;
      break;
    }
    items.push(record);
    cursor = advanceCursor(cursor, record);
  }
  res.json({ items, next: more && cursor ? encodeCursor(cursor) : null });
}
