/**
 * The HTTP facade (contract §3) as an Express 5 app: mounts the one route
 * declaration (`routes.ts`) behind request logging and bearer auth, answers
 * every error as RFC 9457 problem+json; logs carry no patient data.
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { defaultModels, modelList as listModels, type Models } from '../api/models.js';
import type { HealthcareStorage } from '../api/types.js';
import { authConfigured, authenticate, requireScope, type AuthOptions } from './auth.js';
import { clientLimits, type ClientLimits } from './client-limits.js';
import { scopeResourceType } from './scopes.js';
import { auditRouter } from './audit/route-targets.js';
import { auditReadiness, type AuditTrail } from './audit/trail.js';
import { docsRouter } from './docs.js';
import { noteError, requestLogging, requestState, setRoute } from './logging.js';
import { runWithTrace } from '../shared/trace-context.js';
import { openApiDocument } from './openapi.js';
import { HttpProblem, httpProblem, problemFor, retryAfterSeconds, sendProblem } from './problem.js';
import { checkEnvelope, checkQuery } from './request-shape.js';
import { routesByPath } from './route-paths.js';
import { facadeApi, type RouteContext, type RouteSpec } from './routes.js';

export interface CreateAppOptions extends AuthOptions {
  storage: HealthcareStorage;
  /** Per-client rate limit and bound on requests in flight (client-limits.ts); default none. */
  limits?: ClientLimits;
  /** Largest accepted request body (bytes, or a string such as `'1mb'`); default `'1mb'`. */
  bodyLimit?: string | number;
  /** Where the request log goes; default a pino logger on stdout. */
  logger?: Logger;
  /** How long `/readyz` waits for `storage.checkReady()`; default 2000 ms. */
  readyTimeoutMs?: number;
  /** The audit trail (contract §6): every record route's answer waits for its event. */
  audit?: AuditTrail;
}

/** Records the route pattern for the log first, so requests refused while their body is read are named too. */
const namesRoute: RequestHandler = (req, res, next) => {
  setRoute(req, res);
  next();
};

/** A body of another type than `types` is 415, before anything is read; then it is parsed as JSON. */
function jsonBody(limit: string | number, types: readonly string[]): RequestHandler[] {
  const requireType: RequestHandler = (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !req.is([...types])) {
      next(new HttpProblem(httpProblem(415, `The request body must be ${types.join(' or ')}.`)));
      return;
    }
    next();
  };
  return [requireType, express.json({ limit, strict: false, type: [...types] })];
}

function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
  return (req, res) => {
    setRoute(req, res);
    res.set('Allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    sendProblem(
      res,
      httpProblem(405, `${req.method} is not supported here; use ${allowed.join(', ')}.`),
    );
  };
}

/** Mounts routes by path, in declaration order; other methods on a declared path are 405. */
function mount(
  app: Express,
  routes: readonly RouteSpec[],
  context: RouteContext,
  limit: string | number,
): void {
  for (const [path, declared] of routesByPath(routes)) {
    const mounted = app.route(path);
    for (const route of declared) {
      const handler: RequestHandler = async (req, res) => {
        const shape = checkQuery(route, req);
        if (route.body?.envelope) checkEnvelope(route.body.envelope, req.body);
        // every FHIR request the handler makes carries the call's trace
        await runWithTrace(requestState(res).trace, () =>
          route.handle(
            { req, res, params: req.params as Record<string, string>, body: req.body, ...shape },
            context,
          ),
        );
      };
      const body = route.body ? jsonBody(limit, route.body.types) : [];
      const scope = route.access
        ? [requireScope(route.access.resourceType, route.access.permission)]
        : [];
      mounted[route.method](namesRoute, ...scope, ...body, handler);
    }
    mounted.all(methodNotAllowed(declared.map((r) => r.method.toUpperCase())));
  }
}

/** The answer to any error a handler threw: its problem document, logged when unexpected (a 500). */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    noteError(res, error);
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const problem = problemFor(error);
    const retryAfter = retryAfterSeconds(error);
    if (retryAfter !== undefined) res.set('retry-after', String(retryAfter));
    if (problem.status === 500) {
      logger.error(
        { requestId: requestState(res).requestId, ...requestState(res).error },
        'unexpected error',
      );
    }
    sendProblem(res, problem);
  };
}

export function createApp(options: CreateAppOptions): Express {
  const { storage } = options;
  const models: Models = storage.models ?? defaultModels;
  const secured = authConfigured(options);
  const logger = options.logger ?? pino({ name: 'healthcare-fhir' });
  const modelList = [...listModels(models), ...(storage.extraModels ?? [])];
  const api = facadeApi(
    modelList,
    (model) => storage.fhirResourceType?.(model.name) ?? scopeResourceType(model),
  );
  const context: RouteContext = {
    storage,
    readyTimeoutMs: options.readyTimeoutMs ?? 2000,
    openApiJson: JSON.stringify(
      openApiDocument(api, { bearerAuth: secured, rateLimited: options.limits !== undefined }),
    ),
  };
  const limit = options.bodyLimit ?? '1mb';

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogging(logger));
  if (options.audit) app.use(auditRouter(api.routes, modelList, options.audit, logger));
  mount(
    app,
    api.routes.filter((r) => r.public),
    context,
    limit,
  );
  // Every route from here on: who is calling (401 if unknown), then that client's limits.
  if (secured) app.use(authenticate(options));
  if (options.limits) app.use(clientLimits(options.limits));
  if (options.audit) app.get('/readyz', auditReadiness(options.audit));
  mount(
    app,
    api.routes.filter((r) => !r.public),
    context,
    limit,
  );
  app.use(
    '/docs',
    (_req, res, next) => {
      requestState(res).route = '/docs';
      next();
    },
    docsRouter(),
  );

  app.use((req, res) => {
    sendProblem(res, httpProblem(404, `There is no route for ${req.method} at this path.`));
  });

  app.use(errorHandler(logger));
  return app;
}
