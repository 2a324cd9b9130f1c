/**
 * Owns what the routes of one model share: its names (`Patient`, `/patients`),
 * its store and links in the running app (named-methods.ts `storesOf`), the
 * 404s, the filter answer (schema, `limit`/`cursor`, streaming) and the
 * renaming of a storage's validation issues to what the request gave.
 */
import { ValidationError } from '../api/errors.js';
import type { ModelSpec } from '../api/models.js';
import { storesOf } from '../api/named-methods.js';
import { methodSuffix, storeNamed, type LinkStore, type RecordStore } from '../api/record-store.js';
import type { Lookup } from '../api/types.js';
import { HttpProblem, problemTypes } from './problem.js';
import {
  MAX_PAGE_LIMIT,
  NDJSON,
  parseListing,
  sendRecordPage,
  sendRecordStream,
} from './record-stream.js';
import type { QueryParameter, RouteCall, RouteContext, RouteSpec } from './route-types.js';
import { ref, type Schema } from './schemas.js';
import type { Permission } from './scopes.js';

/** One model's routes' shared parts. */
export interface ModelRouteParts {
  model: ModelSpec;
  /** `Patient`: in operation ids and schema names. */
  Name: string;
  /** `Patients`: the OpenAPI tag. */
  tag: string;
  /** `/patients`. */
  collection: string;
  /** The record schema (`#/components/schemas/Patient`). */
  record: Schema;
  /** The access a route needs on the model's resource type. */
  needs(permission: Permission): NonNullable<RouteSpec['access']>;
  /** The 404 of a missing record. */
  missing(): HttpProblem;
  store(context: RouteContext): RecordStore;
  links(context: RouteContext): LinkStore;
}

/** `patient` → `Patient`. */
export const titled = (model: ModelSpec): string => methodSuffix(model.name);

export const notFound = (detail: string): HttpProblem =>
  new HttpProblem({ type: problemTypes.notFound, title: 'Not Found', status: 404, detail });

export function modelRouteParts(model: ModelSpec, resourceType: string): ModelRouteParts {
  const Name = titled(model);
  return {
    model,
    Name,
    tag: `${Name}s`,
    collection: `/${model.name}s`,
    record: ref(Name),
    needs: (permission) => ({ resourceType, permission }),
    missing: () => notFound(`The ${model.name} does not exist.`),
    store: (context) => storeNamed(storesOf(context.storage).stores, model.name, 'the storage'),
    links(context) {
      const found = storesOf(context.storage).links[model.name];
      if (!found) throw new TypeError(`the storage has no links of ${model.name}s`);
      return found;
    },
  };
}

/** Runs a storage call, naming each validation issue's field as the request gave it (`rename` maps the storage's name). */
export async function namingIssues<T>(
  rename: (field: string) => string | undefined,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      error.issues.map((issue) => {
        const field = issue.field === undefined ? undefined : rename(issue.field);
        return field === undefined ? issue : { ...issue, field };
      }),
    );
  }
}

/** The storage checks lookups by position (`lookups[2]`); over a query string the issue names the key. */
export const queryKeyOf =
  (keys: readonly string[]) =>
  (field: string): string | undefined => {
    const index = /^lookups\[(\d+)\]$/.exec(field)?.[1];
    return index === undefined ? undefined : keys[Number(index)];
  };

/** The 200 of a filter: the array (streamed), NDJSON, or a page with `limit` (record-stream.ts). */
export function listingSchema({ model, record }: ModelRouteParts): Schema {
  return {
    description:
      `The matching ${model.name}s. Without \`limit\`: a JSON array written as the records arrive ` +
      '(with `Accept: application/x-ndjson`, one record per line). If the storage fails after the ' +
      'first record was sent, the connection is cut before the end of the body (no closing `]` / ' +
      'no last line), so a partial answer never parses as complete. With `limit`: one page ' +
      '`{"items", "next"}`; records come in ascending updated_date.',
    content: {
      'application/json': {
        schema: {
          oneOf: [
            { type: 'array', items: record },
            {
              type: 'object',
              required: ['items', 'next'],
              additionalProperties: false,
              properties: {
                items: { type: 'array', items: record },
                next: {
                  type: ['string', 'null'],
                  description: 'The cursor of the next page; null on the last page.',
                },
              },
            },
          ],
        },
      },
      [NDJSON]: { schema: record },
    },
  };
}

/** The query parameters of a filter's answer: `limit` and `cursor`. */
export const listingQuery: readonly QueryParameter[] = [
  {
    name: 'limit',
    description: `Answer one page of at most this many records (1 to ${MAX_PAGE_LIMIT}) as {"items", "next"}.`,
    schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT },
  },
  {
    name: 'cursor',
    description: 'The `next` of the previous page, unchanged (opaque). Needs `limit`.',
    schema: { type: 'string' },
  },
];

/** Streams (or pages) the records of `store` matching `lookups`. */
export async function sendFiltered(
  { req, res, query }: RouteCall,
  store: RecordStore,
  lookups: Lookup[],
): Promise<void> {
  const asked = parseListing(query.get('limit'), query.get('cursor'));
  if (asked.kind === 'page')
    await sendRecordPage(
      res,
      // one record past the page tells whether there is a next one
      store.iterate(lookups, { after: asked.after, limit: asked.limit + 1 }),
      asked,
    );
  else await sendRecordStream(req, res, store.iterate(lookups));
}
