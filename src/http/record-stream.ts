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
import { auditRecords } from './audit/gate.js';

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

/** The most records one streamed page holds (and one audit event names). */
export const MAX_STREAM_PAGE = 1000;

const tick = Symbol('tick');
const nextMacrotask = (): Promise<typeof tick> =>
  new Promise((resolve) => setImmediate(() => resolve(tick)));

/**
 * The records in pages: a page is what the storage has ready (it yields its
 * fetched FHIR page record by record without waiting), at most `max`. The
 * next record is asked for while the page is sent.
 */
export async function* readyPages<T>(records: AsyncIterable<T>, max: number): AsyncGenerator<T[]> {
  const iterator = records[Symbol.asyncIterator]();
  const ask = (): Promise<IteratorResult<T>> => {
    const next = iterator.next();
    next.catch(() => {}); // awaited below; not an unhandled rejection while a page is sent
    return next;
  };
  try {
    let pending = ask();
    for (let step = await pending; !step.done; step = await pending) {
      const page = [step.value];
      pending = ask();
      while (page.length < max) {
        const ready = await Promise.race([pending, nextMacrotask()]);
        if (ready === tick || ready.done) break;
        page.push(ready.value);
        pending = ask();
      }
      yield page;
    }
  } finally {
    await iterator.return?.();
  }
}

/**
 * Streams every record (array or NDJSON by the Accept header), a page at a
 * time, each page audited before it is written; throws what the storage throws.
 */
export async function sendRecordStream(
  req: Request,
  res: Response,
  records: AsyncIterable<StoredRecord>,
): Promise<void> {
  const ndjson = req.accepts(['application/json', NDJSON]) === NDJSON;
  let first = true;
  for await (const page of readyPages(records, MAX_STREAM_PAGE)) {
    await auditRecords(res, page);
    if (first) res.status(200).type(ndjson ? NDJSON : 'application/json');
    const texts = page.map((record) => JSON.stringify(record));
    const chunk = ndjson ? `${texts.join('\n')}\n` : `${first ? '[' : ','}${texts.join(',')}`;
    first = false;
    if (!(await writeWithBackpressure(res, chunk))) return; // the client left
  }
  if (first) res.status(200).type(ndjson ? NDJSON : 'application/json');
  res.end(ndjson ? '' : first ? '[]' : ']');
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
