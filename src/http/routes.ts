/**
 * The facade's routes, declared once (contract §3). Each entry is at the same
 * time the OpenAPI operation (`openapi.ts` documents this table), the shape
 * of the request the facade checks (`request-shape.ts`) and the handler
 * (`app.ts` mounts this table). The record routes come from one loop over the
 * model specs; links only for linkable models.
 */
import type { Request, Response } from 'express';
import { ValidationError } from '../api/errors.js';
import type { ModelSpec } from '../api/models.js';
import { linksOf, methodSuffix, storeOf } from '../api/record-store.js';
import type { HealthcareStorage, Lookup } from '../api/types.js';
import { TimeoutError, withTimeout } from '../shared/timeout.js';
import { noteError } from './logging.js';
import {
  HttpProblem,
  httpProblem,
  problemTypes,
  retryAfterSeconds,
  sendProblem,
} from './problem.js';
import { scopeResourceType, type Permission } from './scopes.js';
import { CircuitOpenError } from '../transport/breaker.js';
import {
  MAX_PAGE_LIMIT,
  NDJSON,
  parseListing,
  sendRecordPage,
  sendRecordStream,
} from './record-stream.js';
import {
  inputSchema,
  lookupSchema,
  nonBlank,
  problemSchemas,
  recordSchema,
  ref,
  type Schema,
} from './schemas.js';

export type Method = 'get' | 'post' | 'patch' | 'delete';

/** A query parameter a route takes (at most once each). */
export interface QueryParameter {
  name: string;
  required?: boolean;
  description?: string;
  schema: Schema;
}

/**
 * What the facade itself checks of a JSON body: an object holding only these
 * members. Record bodies have no envelope: the storage checks them, once.
 */
export interface Envelope {
  /** The detail when the body is not a JSON object. */
  notAnObject: string;
  /** The issue message of a member that is not one of `members`. */
  unknownMember: string;
  members: Readonly<
    Record<
      string,
      { schema: Schema; required?: boolean; /** issue if not an array */ array?: string }
    >
  >;
}

export interface BodySpec {
  /** The accepted media types (another is 415). */
  types: readonly string[];
  /** Its schema's name in `components.schemas`. */
  schema: string;
  description?: string;
  envelope?: Envelope;
}

/** Lookup keywords of a query string (`name__like=Jo`), in the order given, with the key of each. */
export interface KeywordLookups {
  lookups: Lookup[];
  keys: string[];
}

/** A request that passed the route's shape check, as a handler sees it. */
export interface RouteCall {
  req: Request;
  res: Response;
  params: Record<string, string>;
  query: ReadonlyMap<string, string>;
  keywordLookups: KeywordLookups;
  body: unknown;
}

/** What handlers need of the running app. */
export interface RouteContext {
  storage: HealthcareStorage;
  readyTimeoutMs: number;
  openApiJson: string;
}

/** Error statuses a route documents (the OpenAPI document adds 401 when tokens are set). */
export type ErrorCode =
  '400' | '404' | '409' | '413' | '415' | '500' | '501' | '502' | '503' | '504';

export interface RouteSpec {
  method: Method;
  /** The OpenAPI path template, e.g. `/patients/{id}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Descriptions of the path parameters. */
  pathParameters?: Readonly<Record<string, string>>;
  query?: readonly QueryParameter[];
  /** Other query parameters are lookup keywords on this model. */
  lookups?: ModelSpec;
  body?: BodySpec;
  /** Success responses, by status. */
  responses: Readonly<Record<string, Schema>>;
  errors: readonly ErrorCode[];
  /** Also documents the storage failures (500, 502, 503, 504); default true. */
  usesStorage?: boolean;
  /** Served without a bearer token. */
  public?: boolean;
  /** The SMART permission the route needs on a resource type (contract §6); none: any authenticated caller. */
  access?: { resourceType: string; permission: Permission };
  handle(call: RouteCall, context: RouteContext): Promise<void> | void;
}

/** The routes and the component schemas they refer to. */
export interface FacadeApi {
  routes: RouteSpec[];
  schemas: Record<string, Schema>;
  tags: string[];
}

/** The media types a body route accepts: JSON; a PATCH also as a JSON merge patch (RFC 7396), which is what it does. */
const jsonTypes = ['application/json'];
const patchTypes = ['application/json', 'application/merge-patch+json'];

export const json = (schema: Schema): Schema => ({ 'application/json': { schema } });
const titled = (model: ModelSpec): string => methodSuffix(model.name);

const notFound = (detail: string): HttpProblem =>
  new HttpProblem({ type: problemTypes.notFound, title: 'Not Found', status: 404, detail });

/** Runs a storage call, naming each validation issue's field as the request gave it (`rename` maps the storage's name). */
async function namingIssues<T>(
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
const queryKeyOf =
  (keys: readonly string[]) =>
  (field: string): string | undefined => {
    const index = /^lookups\[(\d+)\]$/.exec(field)?.[1];
    return index === undefined ? undefined : keys[Number(index)];
  };

/** `GET /{id}?source=` passes (id, source) as the storage's (source_id, source_name). */
const sourceLookupNames: Readonly<Record<string, string>> = {
  source_id: 'id',
  source_name: 'source',
};

/** The JSON Schema of an envelope body. */
export function envelopeSchema(envelope: Envelope): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [name, member] of Object.entries(envelope.members)) {
    properties[name] = member.schema;
    if (member.required) required.push(name);
  }
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function searchEnvelope(Name: string): Envelope {
  return {
    notAnObject:
      'the search body must be a JSON object {"lookups": [[field, operator, value], ...]}',
    unknownMember: 'is not a search parameter',
    // No `lookups` is every record; a `lookups` that is not an array (null included) is an error.
    members: {
      lookups: {
        schema: { type: 'array', items: ref(`${Name}Lookup`) },
        array: 'must be an array of [field, operator, value]',
      },
    },
  };
}

const linkEnvelope: Envelope = {
  notAnObject: 'a link must be a JSON object {"source_id": "...", "source_name": "..."}',
  unknownMember: 'is not a field of a link',
  members: {
    source_id: { schema: nonBlank, required: true },
    source_name: { schema: nonBlank, required: true },
  },
};

function modelRoutes(
  model: ModelSpec,
  resourceType: string,
): { routes: RouteSpec[]; schemas: Record<string, Schema> } {
  const Name = titled(model);
  const tag = `${Name}s`;
  const collection = `/${model.name}s`;
  const what = `The ${model.name}`;
  const missing = (): HttpProblem => notFound(`${what} does not exist.`);
  const store = (context: RouteContext) => storeOf(context.storage, model);
  const links = (context: RouteContext) => linksOf(context.storage, model);
  const search = searchEnvelope(Name);
  const record = ref(Name);
  const needs = (permission: Permission) => ({ resourceType, permission });
  /** The 200 of a filter: the array (streamed), NDJSON, or a page with `limit` (record-stream.ts). */
  const listing: Schema = {
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
  const listingQuery: QueryParameter[] = [
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
  /** Streams (or pages) the records matching `lookups`. */
  const sendFiltered = async (
    { req, res, query }: RouteCall,
    context: RouteContext,
    lookups: Lookup[],
  ): Promise<void> => {
    const asked = parseListing(query.get('limit'), query.get('cursor'));
    if (asked.kind === 'page')
      await sendRecordPage(
        res,
        // one record past the page tells whether there is a next one
        store(context).iterate(lookups, { after: asked.after, limit: asked.limit + 1 }),
        asked,
      );
    else await sendRecordStream(req, res, store(context).iterate(lookups));
  };
  const schemas: Record<string, Schema> = {
    [Name]: recordSchema(model),
    [`${Name}Create`]: inputSchema(model, 'create'),
    [`${Name}Update`]: inputSchema(model, 'update'),
    [`${Name}Lookup`]: lookupSchema(model),
    [`${Name}Search`]: envelopeSchema(search),
  };
  const id = {
    id: `The ${model.name} id${model.linkable ? ', or a source id with `source`' : ''}.`,
  };

  const routes: RouteSpec[] = [
    {
      method: 'get',
      path: collection,
      operationId: `filter${tag}`,
      access: needs('s'),
      tag,
      summary: `${tag} matching every lookup in the query string (all ${model.name}s when none).`,
      description:
        '`field=value` is EQUAL; `field__op=value` with op one of exact, like, in, lt, lte, gt, gte; ' +
        '`field__in` repeats once per value. Lookups are combined with AND.',
      lookups: model,
      query: listingQuery,
      responses: { '200': listing },
      errors: ['400'],
      async handle(call, context) {
        const { lookups, keys } = call.keywordLookups;
        await namingIssues(queryKeyOf(keys), () => sendFiltered(call, context, lookups));
      },
    },
    {
      method: 'post',
      path: collection,
      operationId: `create${Name}`,
      access: needs('c'),
      tag,
      summary: `Create a ${model.name}.`,
      body: { types: jsonTypes, schema: `${Name}Create` },
      responses: {
        '201': {
          description: `The stored ${model.name}.`,
          headers: {
            Location: {
              description: `${collection}/{id} of the new record.`,
              schema: { type: 'string' },
            },
          },
          content: json(record),
        },
      },
      errors: ['400', '409', '413', '415'],
      async handle({ res, body }, context) {
        const created = await store(context).create(body);
        res
          .status(201)
          .location(`${collection}/${encodeURIComponent(created.id ?? '')}`)
          .json(created);
      },
    },
    {
      method: 'post',
      path: `${collection}/_search`,
      operationId: `search${tag}`,
      access: needs('s'),
      tag,
      summary: `${tag} matching every lookup triple (all ${model.name}s when none).`,
      body: { types: jsonTypes, schema: `${Name}Search`, envelope: search },
      query: listingQuery,
      responses: { '200': listing },
      errors: ['400', '413', '415'],
      async handle(call, context) {
        const lookups = ((call.body as { lookups?: Lookup[] }).lookups ?? []) as Lookup[];
        await sendFiltered(call, context, lookups);
      },
    },
    {
      method: 'get',
      path: `${collection}/{id}`,
      operationId: `get${Name}`,
      access: needs('r'),
      tag,
      summary: model.linkable
        ? `A ${model.name} by id, or with \`source\` the ${model.name} linked to that source id.`
        : `A ${model.name} by id.`,
      pathParameters: id,
      query: model.linkable
        ? [
            {
              name: 'source',
              description: `The source name: \`id\` is then a source id linked to the ${model.name}.`,
              schema: nonBlank,
            },
          ]
        : [],
      responses: { '200': { description: `The ${model.name}.`, content: json(record) } },
      errors: ['400', '404'],
      async handle({ res, params, query }, context) {
        const source = query.get('source');
        const found =
          source === undefined
            ? await store(context).get(params.id!)
            : await namingIssues(
                (field) =>
                  Object.hasOwn(sourceLookupNames, field) ? sourceLookupNames[field] : undefined,
                () => links(context).getLinked(params.id!, source),
              );
        if (!found) {
          if (source === undefined) throw missing();
          throw notFound(`No ${model.name} is linked to that source id and name.`);
        }
        res.json(found);
      },
    },
    {
      method: 'patch',
      path: `${collection}/{id}`,
      operationId: `update${Name}`,
      access: needs('u'),
      tag,
      summary: `Update some fields of a ${model.name}; answers the updated record.`,
      pathParameters: id,
      body: {
        types: patchTypes,
        schema: `${Name}Update`,
        description: 'As `application/json`, or as the same JSON merge patch (RFC 7396).',
      },
      responses: { '200': { description: `The updated ${model.name}.`, content: json(record) } },
      errors: ['400', '404', '409', '413', '415'],
      async handle({ res, params, body }, context) {
        const updated = await store(context).update(params.id!, body);
        if (!updated) throw missing();
        res.json(updated);
      },
    },
    {
      method: 'delete',
      path: `${collection}/{id}`,
      operationId: `delete${Name}`,
      access: needs('d'),
      tag,
      summary: `Delete a ${model.name}.`,
      pathParameters: id,
      responses: { '204': { description: 'Deleted.' } },
      errors: ['400', '404', '409'],
      async handle({ res, params }, context) {
        if (!(await store(context).delete(params.id!))) throw missing();
        res.status(204).end();
      },
    },
  ];
  if (!model.linkable) return { routes, schemas };

  schemas[`${Name}Link`] = envelopeSchema(linkEnvelope);
  const linksPath = `${collection}/{id}/links`;
  const linkId = { id: `The ${model.name} id.` };
  const listLinks = `get${Name}Links`;
  routes.push(
    {
      method: 'get',
      path: linksPath,
      operationId: `list${Name}Links`,
      access: needs('r'),
      tag,
      summary: `The ${model.name}'s links to identifiers in other systems.`,
      pathParameters: linkId,
      responses: {
        '200': {
          description: 'The links.',
          content: json({ type: 'array', items: ref(`${Name}Link`) }),
        },
      },
      errors: ['400', '404', '501'],
      async handle({ res, params }, context) {
        if (
          typeof (context.storage as unknown as Record<string, unknown>)[listLinks] !== 'function'
        ) {
          throw new HttpProblem(httpProblem(501, 'This storage backend cannot list links.'));
        }
        const found = await links(context).links(params.id!);
        if (!found) throw missing();
        res.json(found.map((l) => ({ source_id: l.source_id, source_name: l.source_name })));
      },
    },
    {
      method: 'post',
      path: linksPath,
      operationId: `link${Name}`,
      access: needs('u'),
      tag,
      summary: `Link the ${model.name} to a (source_id, source_name) pair.`,
      pathParameters: linkId,
      body: { types: jsonTypes, schema: `${Name}Link`, envelope: linkEnvelope },
      responses: { '201': { description: 'Linked.', content: json(ref(`${Name}Link`)) } },
      errors: ['400', '404', '409', '413', '415'],
      async handle({ res, params, body }, context) {
        const { source_id, source_name } = body as { source_id: string; source_name: string };
        if (await links(context).link(params.id!, source_id, source_name)) {
          res
            .status(201)
            .location(`${collection}/${encodeURIComponent(params.id!)}/links`)
            .json({ source_id, source_name });
          return;
        }
        // link is false both when the record is missing and when the pair is taken.
        if (!(await store(context).get(params.id!))) throw missing();
        throw new HttpProblem({
          type: problemTypes.linkConflict,
          title: 'Already linked',
          status: 409,
          detail: `This (source_id, source_name) pair is already linked to a ${model.name}.`,
        });
      },
    },
    {
      method: 'delete',
      path: linksPath,
      operationId: `unlink${Name}`,
      access: needs('u'),
      tag,
      summary: `Remove one link of the ${model.name}.`,
      pathParameters: linkId,
      query: [
        { name: 'source_id', required: true, schema: nonBlank },
        { name: 'source_name', required: true, schema: nonBlank },
      ],
      responses: { '204': { description: 'Unlinked.' } },
      errors: ['400', '404'],
      async handle({ res, params, query }, context) {
        const removed = await links(context).unlink(
          params.id!,
          query.get('source_id')!,
          query.get('source_name')!,
        );
        if (!removed) throw notFound(`The ${model.name} does not exist or has no such link.`);
        res.status(204).end();
      },
    },
  );
  return { routes, schemas };
}

const statusSchema = (status: string): Schema =>
  json({ type: 'object', properties: { status: { const: status } }, required: ['status'] });

const operationRoutes: RouteSpec[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    tag: 'Operations',
    summary: 'Liveness: 200 while the process is up.',
    public: true,
    usesStorage: false,
    responses: { '200': { description: 'Up.', content: statusSchema('ok') } },
    errors: [],
    handle({ res }) {
      res.json({ status: 'ok' });
    },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    tag: 'Operations',
    summary: 'Readiness: 200 when the storage (the FHIR server) answers.',
    usesStorage: false,
    responses: { '200': { description: 'Ready.', content: statusSchema('ready') } },
    errors: ['503'],
    async handle({ res }, { storage, readyTimeoutMs }) {
      try {
        if (storage.checkReady) await withTimeout(storage.checkReady(), readyTimeoutMs);
      } catch (error) {
        noteError(res, error);
        const retryAfter = retryAfterSeconds(error);
        if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
        sendProblem(res, {
          type: problemTypes.notReady,
          title: 'Not ready',
          status: 503,
          detail:
            error instanceof TimeoutError
              ? `The storage (the FHIR server) did not answer the readiness check within ${readyTimeoutMs} ms.`
              : error instanceof CircuitOpenError
                ? `The storage (the FHIR server) is not ready: the circuit breaker is ${error.state} after consecutive failures; requests are answered 503 without being sent.`
                : 'The storage (the FHIR server) is not ready.',
        });
        return;
      }
      res.json({ status: 'ready' });
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'Operations',
    summary: 'This document.',
    usesStorage: false,
    responses: {
      '200': { description: 'The OpenAPI 3.1 document.', content: json({ type: 'object' }) },
    },
    errors: [],
    handle({ res }, { openApiJson }) {
      res.type('application/json').send(openApiJson);
    },
  },
];

/**
 * The facade's API for these models: their record routes, then the operational routes.
 * `resourceTypeOf` names the FHIR type a model's scopes are checked against (default scopeResourceType).
 */
export function facadeApi(
  models: readonly ModelSpec[],
  resourceTypeOf: (model: ModelSpec) => string = scopeResourceType,
): FacadeApi {
  const routes: RouteSpec[] = [];
  const schemas: Record<string, Schema> = {};
  for (const model of models) {
    const declared = modelRoutes(model, resourceTypeOf(model));
    routes.push(...declared.routes);
    Object.assign(schemas, declared.schemas);
  }
  routes.push(...operationRoutes);
  Object.assign(schemas, problemSchemas());
  return { routes, schemas, tags: [...models.map((m) => `${titled(m)}s`), 'Operations'] };
}
