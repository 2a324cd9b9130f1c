/**
 * Owns which requests are record accesses: the record routes of `routes.ts`
 * (every route under a model's collection), each with its audit action. An
 * Express router built from the same route table matches a request the way
 * the app will, before authentication and everything else, and gates its
 * response (gate.ts); other requests pass untouched. A record route this
 * table has no action for stops the app from being created, so a new route
 * cannot go unaudited.
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import type { ModelSpec } from '../../api/models.js';
import { routesByPath } from '../route-paths.js';
import type { RouteSpec } from '../routes.js';
import { asId, type AuditAction, type AuditTarget } from './event.js';
import { gateResponse, type AuditRecorder } from './gate.js';

/** A record route's action, by method and path below the collection. */
const actions: Readonly<Record<string, AuditAction>> = {
  'get ': 'search',
  'post ': 'create',
  'post /_search': 'search',
  'get /{id}': 'read',
  'patch /{id}': 'update',
  'delete /{id}': 'delete',
  'get /{id}/links': 'read-links',
  'post /{id}/links': 'link',
  'delete /{id}/links': 'unlink',
};

/** The route's audit target, or `undefined` for a route under no model's collection. */
export function auditTarget(
  route: RouteSpec,
  models: readonly ModelSpec[],
): AuditTarget | undefined {
  for (const model of models) {
    const collection = `/${model.name}s`;
    if (route.path !== collection && !route.path.startsWith(`${collection}/`)) continue;
    const action = actions[`${route.method} ${route.path.slice(collection.length)}`];
    if (!action) {
      throw new Error(
        `${route.method.toUpperCase()} ${route.path} is a record route with no audit action (src/http/audit/route-targets.ts)`,
      );
    }
    return { model, action, queryParameters: (route.query ?? []).map((p) => p.name) };
  }
  return undefined;
}

/**
 * Marks each request to a record route for the trail. Paths are tried in
 * the order `app.ts` mounts them; a method a matched path does not declare
 * (405) is no record access.
 */
export function auditRouter(
  routes: readonly RouteSpec[],
  models: readonly ModelSpec[],
  recorder: AuditRecorder,
  logger: Logger,
): Router {
  const router = express.Router();
  for (const [path, declared] of routesByPath(routes)) {
    const matched = router.route(path);
    for (const route of declared) {
      const target = auditTarget(route, models);
      if (!target) continue;
      matched[route.method]((req, res, next) => {
        gateResponse(req, res, { target, pathId: asId(req.params.id) }, recorder, logger);
        next('router');
      });
    }
    matched.all((_req, _res, next) => next('router'));
  }
  return router;
}
