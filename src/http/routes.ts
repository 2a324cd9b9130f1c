/**
 * The facade's routes, declared once (contract §3). Each entry is at the same
 * time the OpenAPI operation (`openapi.ts` documents this table), the shape
 * of the request the facade checks (`request-shape.ts`) and the handler
 * (`app.ts` mounts this table). The record routes come from one loop over the
 * model specs (record-routes.ts); links only for linkable models
 * (link-routes.ts); then the operational routes (operation-routes.ts).
 */
import type { ModelSpec } from '../api/models.js';
import { linkEnvelope, linkRoutes } from './link-routes.js';
import { modelRouteParts, titled } from './model-route-parts.js';
import { operationRoutes } from './operation-routes.js';
import { recordRoutes, searchEnvelope } from './record-routes.js';
import { envelopeSchema, type FacadeApi, type RouteSpec } from './route-types.js';
import { inputSchema, lookupSchema, problemSchemas, recordSchema, type Schema } from './schemas.js';
import { scopeResourceType } from './scopes.js';

export type * from './route-types.js';
export { envelopeSchema, json } from './route-types.js';

/** The component schemas of one model: its record, create and update bodies, lookups, search (and link) bodies. */
function modelSchemas(model: ModelSpec): Record<string, Schema> {
  const Name = titled(model);
  return {
    [Name]: recordSchema(model),
    [`${Name}Create`]: inputSchema(model, 'create'),
    [`${Name}Update`]: inputSchema(model, 'update'),
    [`${Name}Lookup`]: lookupSchema(model),
    [`${Name}Search`]: envelopeSchema(searchEnvelope(Name)),
    ...(model.linkable ? { [`${Name}Link`]: envelopeSchema(linkEnvelope) } : {}),
  };
}

/** One model's routes: its record routes, then its link routes when it is linkable. */
function modelRoutes(model: ModelSpec, resourceType: string): RouteSpec[] {
  const parts = modelRouteParts(model, resourceType);
  return [...recordRoutes(parts), ...(model.linkable ? linkRoutes(parts) : [])];
}

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
    routes.push(...modelRoutes(model, resourceTypeOf(model)));
    Object.assign(schemas, modelSchemas(model));
  }
  routes.push(...operationRoutes);
  Object.assign(schemas, problemSchemas());
  return { routes, schemas, tags: [...models.map((m) => `${titled(m)}s`), 'Operations'] };
}
