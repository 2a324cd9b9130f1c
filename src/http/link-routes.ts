/**
 * Owns the link routes of a linkable model (contract §3): list, link and
 * unlink at `/<model>s/{id}/links`, over the model's link store.
 */
import { notFound, type ModelRouteParts } from './model-route-parts.js';
import { HttpProblem, httpProblem, problemTypes } from './problem.js';
import { json, jsonTypes, type Envelope, type RouteSpec } from './route-types.js';
import { nonBlank, ref } from './schemas.js';

/** The body of `POST /<model>s/{id}/links`. */
export const linkEnvelope: Envelope = {
  notAnObject: 'a link must be a JSON object {"source_id": "...", "source_name": "..."}',
  unknownMember: 'is not a field of a link',
  members: {
    source_id: { schema: nonBlank, required: true },
    source_name: { schema: nonBlank, required: true },
  },
};

const linksPath = ({ collection }: ModelRouteParts) => `${collection}/{id}/links`;
const linkId = ({ model }: ModelRouteParts) => ({ id: `The ${model.name} id.` });

function listLinksRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag } = parts;
  return {
    method: 'get',
    path: linksPath(parts),
    operationId: `list${Name}Links`,
    access: parts.needs('r'),
    tag,
    summary: `The ${model.name}'s links to identifiers in other systems.`,
    pathParameters: linkId(parts),
    responses: {
      '200': {
        description: 'The links.',
        content: json({ type: 'array', items: ref(`${Name}Link`) }),
      },
    },
    errors: ['400', '404', '501'],
    async handle({ res, params }, context) {
      const links = parts.links(context);
      if (!links.links)
        throw new HttpProblem(httpProblem(501, 'This storage backend cannot list links.'));
      const found = await links.links(params.id!);
      if (!found) throw parts.missing();
      res.json(found.map((l) => ({ source_id: l.source_id, source_name: l.source_name })));
    },
  };
}

function linkRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag, collection } = parts;
  return {
    method: 'post',
    path: linksPath(parts),
    operationId: `link${Name}`,
    access: parts.needs('u'),
    tag,
    summary: `Link the ${model.name} to a (source_id, source_name) pair.`,
    pathParameters: linkId(parts),
    body: { types: jsonTypes, schema: `${Name}Link`, envelope: linkEnvelope },
    responses: { '201': { description: 'Linked.', content: json(ref(`${Name}Link`)) } },
    errors: ['400', '404', '409', '413', '415'],
    async handle({ res, params, body }, context) {
      const { source_id, source_name } = body as { source_id: string; source_name: string };
      if (await parts.links(context).link(params.id!, source_id, source_name)) {
        res
          .status(201)
          .location(`${collection}/${encodeURIComponent(params.id!)}/links`)
          .json({ source_id, source_name });
        return;
      }
      // link is false both when the record is missing and when the pair is taken.
      if (!(await parts.store(context).get(params.id!))) throw parts.missing();
      throw new HttpProblem({
        type: problemTypes.linkConflict,
        title: 'Already linked',
        status: 409,
        detail: `This (source_id, source_name) pair is already linked to a ${model.name}.`,
      });
    },
  };
}

function unlinkRoute(parts: ModelRouteParts): RouteSpec {
  const { model, Name, tag } = parts;
  return {
    method: 'delete',
    path: linksPath(parts),
    operationId: `unlink${Name}`,
    access: parts.needs('u'),
    tag,
    summary: `Remove one link of the ${model.name}.`,
    pathParameters: linkId(parts),
    query: [
      { name: 'source_id', required: true, schema: nonBlank },
      { name: 'source_name', required: true, schema: nonBlank },
    ],
    responses: { '204': { description: 'Unlinked.' } },
    errors: ['400', '404'],
    async handle({ res, params, query }, context) {
      const removed = await parts
        .links(context)
        .unlink(params.id!, query.get('source_id')!, query.get('source_name')!);
      if (!removed) throw notFound(`The ${model.name} does not exist or has no such link.`);
      res.status(204).end();
    },
  };
}

/** The link routes of a linkable model, in the table's order. */
export const linkRoutes = (parts: ModelRouteParts): RouteSpec[] =>
  [listLinksRoute, linkRoute, unlinkRoute].map((route) => route(parts));
