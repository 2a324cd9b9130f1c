/**
 * Owns the record routes of one model (contract §3): filter by query and by
 * `_search`, create, get (by a source id too on a linkable model), update and
 * delete, each an entry of the route table over the model's store.
 */
import type { Lookup } from '../api/types.js';
import {
  listingQuery,
  listingSchema,
  namingIssues,
  notFound,
  queryKeyOf,
  sendFiltered,
  type ModelRouteParts,
} from './model-route-parts.js';
import { json, jsonTypes, type Envelope, type RouteSpec } from './route-types.js';
import { nonBlank, ref } from './schemas.js';

/** A PATCH body: JSON, or the same as a JSON merge patch (RFC 7396), which is what it does. */
const patchTypes = ['application/json', 'application/merge-patch+json'];

/** `GET /{id}?source=` passes (id, source) as the storage's (source_id, source_name). */
const sourceLookupNames: Readonly<Record<string, string>> = {
  source_id: 'id',
  source_name: 'source',
};

/** The body of `POST /<model>s/_search`. */
export function searchEnvelope(Name: string): Envelope {
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

function filterRoute(parts: ModelRouteParts): RouteSpec {
  const { model, tag, collection } = parts;
  return {
    method: 'get',
    path: collection,
    operationId: `filter${tag}`,
    access: parts.needs('s'),
    tag,
    summary: `${tag} matching every lookup in the query string (all ${model.name}s when none).`,
    description:
      '`field=value` is EQUAL; `field__op=value` with op one of exact, like, in, lt, lte, gt, gte; ' +
      '`field__in` repeats once per value. Lookups are combined with AND.',
    lookups: model,
    query: listingQuery,
    responses: { '200': listingSchema(parts) },
    errors: ['400'],
    async handle(call, context) {
      const { lookups, keys } = call.keywordLookups;
      await namingIssues(queryKeyOf(keys), () => sendFiltered(call, parts.store(context), lookups));
    },
  };
}

function createRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag, collection } = parts;
  return {
    method: 'post',
    path: collection,
    operationId: `create${Name}`,
    access: parts.needs('c'),
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
        content: json(parts.record),
      },
    },
    errors: ['400', '409', '413', '415'],
    async handle({ res, body }, context) {
      const created = await parts.store(context).create(body);
      res
        .status(201)
        .location(`${collection}/${encodeURIComponent(created.id ?? '')}`)
        .json(created);
    },
  };
}

function searchRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag, collection } = parts;
  return {
    method: 'post',
    path: `${collection}/_search`,
    operationId: `search${tag}`,
    access: parts.needs('s'),
    tag,
    summary: `${tag} matching every lookup triple (all ${model.name}s when none).`,
    body: { types: jsonTypes, schema: `${Name}Search`, envelope: searchEnvelope(Name) },
    query: listingQuery,
    responses: { '200': listingSchema(parts) },
    errors: ['400', '413', '415'],
    async handle(call, context) {
      const lookups = (call.body as { lookups?: Lookup[] }).lookups ?? [];
      await sendFiltered(call, parts.store(context), lookups);
    },
  };
}

/** The `{id}` path parameter of a record route. */
const idParameter = ({ model }: ModelRouteParts) => ({
  id: `The ${model.name} id${model.linkable ? ', or a source id with `source`' : ''}.`,
});

function getRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag, collection } = parts;
  return {
    method: 'get',
    path: `${collection}/{id}`,
    operationId: `get${Name}`,
    access: parts.needs('r'),
    tag,
    summary: model.linkable
      ? `A ${model.name} by id, or with \`source\` the ${model.name} linked to that source id.`
      : `A ${model.name} by id.`,
    pathParameters: idParameter(parts),
    query: model.linkable
      ? [
          {
            name: 'source',
            description: `The source name: \`id\` is then a source id linked to the ${model.name}.`,
            schema: nonBlank,
          },
        ]
      : [],
    responses: { '200': { description: `The ${model.name}.`, content: json(parts.record) } },
    errors: ['400', '404'],
    async handle({ res, params, query }, context) {
      const source = query.get('source');
      const found =
        source === undefined
          ? await parts.store(context).get(params.id!)
          : await namingIssues(
              (field) =>
                Object.hasOwn(sourceLookupNames, field) ? sourceLookupNames[field] : undefined,
              () => parts.links(context).getLinked(params.id!, source),
            );
      if (!found) {
        if (source === undefined) throw parts.missing();
        throw notFound(`No ${model.name} is linked to that source id and name.`);
      }
      res.json(found);
    },
  };
}

function updateRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag, collection } = parts;
  return {
    method: 'patch',
    path: `${collection}/{id}`,
    operationId: `update${Name}`,
    access: parts.needs('u'),
    tag,
    summary: `Update some fields of a ${model.name}; answers the updated record.`,
    pathParameters: idParameter(parts),
    body: {
      types: patchTypes,
      schema: `${Name}Update`,
      description: 'As `application/json`, or as the same JSON merge patch (RFC 7396).',
    },
    responses: {
      '200': { description: `The updated ${model.name}.`, content: json(parts.record) },
    },
    errors: ['400', '404', '409', '413', '415'],
    async handle({ res, params, body }, context) {
      const updated = await parts.store(context).update(params.id!, body);
      if (!updated) throw parts.missing();
      res.json(updated);
    },
  };
}

function deleteRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag, collection } = parts;
  return {
    method: 'delete',
    path: `${collection}/{id}`,
    operationId: `delete${Name}`,
    access: parts.needs('d'),
    tag,
    summary: `Delete a ${model.name}.`,
    pathParameters: idParameter(parts),
    responses: { '204': { description: 'Deleted.' } },
    errors: ['400', '404', '409'],
    async handle({ res, params }, context) {
      if (!(await parts.store(context).delete(params.id!))) throw parts.missing();
      res.status(204).end();
    },
  };
}

/** The record routes of one model, in the table's order. */
export const recordRoutes = (parts: ModelRouteParts): RouteSpec[] =>
  [filterRoute, createRoute, searchRoute, getRoute, updateRoute, deleteRoute].map((route) =>
    route(parts),
  );
