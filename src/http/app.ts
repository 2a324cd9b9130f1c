/**
 * The HTTP facade (contract §3): the storage API over HTTP, as an Express 5 app.
 * Validation comes from the library's one validation module; every error is
 * RFC 9457 problem+json; logs carry no patient data.
 */
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { pino, type Logger } from 'pino';
import { comparisons } from '../api/comparisons.js';
import { ValidationError, type ValidationIssue } from '../api/errors.js';
import { parseKeyword } from '../api/filters.js';
import { defaultModels, type ModelSpec, type Models } from '../api/models.js';
import type { HealthcareStorage, Lookup, PatientLink } from '../api/types.js';
import { validateLookups, validateRecordInput } from '../api/validation.js';
import { bearerAuth } from './auth.js';
import { docsRouter } from './docs.js';
import { noteError, requestLogging, requestState, setRoute } from './logging.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  HttpProblem,
  httpProblem,
  problemFor,
  problemTypes,
  sendProblem,
  type Problem,
} from './problem.js';
import { TimeoutError, withTimeout } from '../shared/timeout.js';

export interface CreateAppOptions {
  storage: HealthcareStorage;
  /** When non-empty, every route but `/healthz` needs `Authorization: Bearer <one of them>`. */
  apiTokens?: readonly string[];
  /** Largest accepted request body (bytes, or a string such as `'1mb'`); default `'1mb'`. */
  bodyLimit?: string | number;
  /** Where the request log goes; default a pino logger on stdout. */
  logger?: Logger;
  /** How long `/readyz` waits for `storage.checkReady()`; default 2000 ms. */
  readyTimeoutMs?: number;
}

type StoredRecord = Record<string, string | null>;

/** One model's storage operations, so patients and providers share their routes. */
interface RecordOps {
  model: ModelSpec;
  collection: 'patients' | 'providers';
  get(id: string, source?: string): Promise<StoredRecord | null>;
  create(data: StoredRecord): Promise<StoredRecord>;
  update(id: string, data: StoredRecord): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  filter(lookups: Lookup[]): Promise<StoredRecord[]>;
}

const searchParams = (req: Request): URLSearchParams =>
  new URL(req.originalUrl, 'http://facade.invalid').searchParams;

/** Rejects query parameters a route does not take, and repeated ones. */
function singleQueryValues(req: Request, allowed: readonly string[]): Map<string, string> {
  const params = searchParams(req);
  const issues: ValidationIssue[] = [];
  const values = new Map<string, string>();
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    if (!allowed.includes(key)) {
      issues.push({ field: key, message: 'is not a query parameter of this route' });
    } else if (all.length > 1) {
      issues.push({ field: key, message: 'is given more than once' });
    } else {
      values.set(key, all[0]!);
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return values;
}

/** `name__like=Jo&name__in=A&name__in=B&status=A` → validated lookup triples; issues name the query key. */
export function queryStringLookups(model: ModelSpec, params: URLSearchParams): Lookup[] {
  const issues: ValidationIssue[] = [];
  const lookups: Lookup[] = [];
  const keys: string[] = [];
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    let field: string;
    let operator: Lookup[1];
    try {
      [field, operator] = parseKeyword(key);
    } catch (error) {
      if (error instanceof ValidationError) {
        issues.push(...error.issues);
        continue;
      }
      throw error;
    }
    if (operator !== comparisons.IN && values.length > 1) {
      issues.push({
        field: key,
        message: 'is given more than once (only __in takes several values)',
      });
      continue;
    }
    lookups.push([field, operator, operator === comparisons.IN ? values : values[0]!]);
    keys.push(key);
  }
  try {
    validateLookups(model, lookups);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues) {
      const index = /^lookups\[(\d+)\]$/.exec(issue.field ?? '')?.[1];
      issues.push({ ...issue, field: index === undefined ? issue.field : keys[Number(index)] });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return lookups;
}

/** The `lookups` of a `_search` body, validated. */
function searchBodyLookups(model: ModelSpec, body: unknown): Lookup[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError(
      'the search body must be a JSON object {"lookups": [[field, operator, value], ...]}',
    );
  }
  const extra = Object.keys(body).filter((k) => k !== 'lookups');
  if (extra.length) {
    throw new ValidationError(
      extra.map((field) => ({ field, message: 'is not a search parameter' })),
    );
  }
  // No `lookups` is every record; a `lookups` that is not an array (null included) is an error.
  const lookups = 'lookups' in body ? body.lookups : [];
  if (!Array.isArray(lookups)) {
    throw new ValidationError([
      { field: 'lookups', message: 'must be an array of [field, operator, value]' },
    ]);
  }
  validateLookups(model, lookups);
  return lookups as Lookup[];
}

function linkBody(body: unknown): PatientLink {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError(
      'a link must be a JSON object {"source_id": "...", "source_name": "..."}',
    );
  }
  const issues: ValidationIssue[] = [];
  const record = body as Record<string, unknown>;
  for (const field of ['source_id', 'source_name']) {
    if (typeof record[field] !== 'string')
      issues.push({ field, message: 'is required and must be a string' });
  }
  for (const field of Object.keys(record)) {
    if (field !== 'source_id' && field !== 'source_name') {
      issues.push({ field, message: 'is not a field of a link' });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return { source_id: record.source_id as string, source_name: record.source_name as string };
}

const notFound = (detail: string): HttpProblem =>
  new HttpProblem({ type: problemTypes.notFound, title: 'Not Found', status: 404, detail });

/** Route handler: records the route pattern for the log, passes rejections to the error handler. */
function handle(fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return async (req, res) => {
    setRoute(req, res);
    await fn(req, res);
  };
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

/** The media types a body route accepts: JSON; a PATCH also as a JSON merge patch (RFC 7396), which is what it does. */
const jsonTypes = ['application/json'];
const patchTypes = ['application/json', 'application/merge-patch+json'];

/** A body of another type than `types` is 415, before anything is read. */
function jsonBody(limit: string | number, types: string[]): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !req.is(types)) {
      next(new HttpProblem(httpProblem(415, `The request body must be ${types.join(' or ')}.`)));
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit, strict: false, type: types })];
}

interface BodyParsers {
  json: RequestHandler[];
  patch: RequestHandler[];
}

function recordRoutes(app: Express, ops: RecordOps, bodies: BodyParsers, isPatient: boolean): void {
  const body = bodies.json;
  const base = `/${ops.collection}`;
  const what = ops.model.name === 'patient' ? 'The patient' : 'The provider';

  app
    .route(base)
    .get(
      handle(async (req, res) => {
        const lookups = queryStringLookups(ops.model, searchParams(req));
        res.json(await ops.filter(lookups));
      }),
    )
    .post(
      ...body,
      handle(async (req, res) => {
        singleQueryValues(req, []);
        const data = validateRecordInput(ops.model, req.body, 'create');
        const record = await ops.create(data);
        res
          .status(201)
          .location(`${base}/${encodeURIComponent(record.id ?? '')}`)
          .json(record);
      }),
    )
    .all(methodNotAllowed(['GET', 'POST']));

  app
    .route(`${base}/_search`)
    .post(
      ...body,
      handle(async (req, res) => {
        singleQueryValues(req, []);
        res.json(await ops.filter(searchBodyLookups(ops.model, req.body)));
      }),
    )
    .all(methodNotAllowed(['POST']));

  app
    .route(`${base}/:id`)
    .get(
      handle(async (req, res) => {
        const query = singleQueryValues(req, isPatient ? ['source'] : []);
        const source = query.get('source');
        const record = await ops.get(req.params.id as string, source);
        if (!record) {
          throw notFound(
            source === undefined
              ? `${what} does not exist.`
              : 'No patient is linked to that source id and name.',
          );
        }
        res.json(record);
      }),
    )
    .patch(
      ...bodies.patch,
      handle(async (req, res) => {
        singleQueryValues(req, []);
        const id = req.params.id as string;
        const data = validateRecordInput(ops.model, req.body, 'update');
        if (!(await ops.update(id, data))) throw notFound(`${what} does not exist.`);
        const record = await ops.get(id);
        if (!record) throw notFound(`${what} does not exist.`);
        res.json(record);
      }),
    )
    .delete(
      handle(async (req, res) => {
        singleQueryValues(req, []);
        if (!(await ops.delete(req.params.id as string))) throw notFound(`${what} does not exist.`);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed(['GET', 'PATCH', 'DELETE']));
}

function linkRoutes(app: Express, storage: HealthcareStorage, body: RequestHandler[]): void {
  app
    .route('/patients/:id/links')
    .get(
      handle(async (req, res) => {
        singleQueryValues(req, []);
        if (!storage.getPatientLinks) {
          throw new HttpProblem(httpProblem(501, 'This storage backend cannot list links.'));
        }
        const links = await storage.getPatientLinks(req.params.id as string);
        if (!links) throw notFound('The patient does not exist.');
        res.json(links.map((l) => ({ source_id: l.source_id, source_name: l.source_name })));
      }),
    )
    .post(
      ...body,
      handle(async (req, res) => {
        singleQueryValues(req, []);
        const id = req.params.id as string;
        const link = linkBody(req.body);
        if (await storage.linkPatient(id, link.source_id, link.source_name)) {
          res
            .status(201)
            .location(`/patients/${encodeURIComponent(id)}/links`)
            .json(link);
          return;
        }
        // linkPatient is false both when the patient is missing and when the pair is taken.
        if (!(await storage.getPatient(id))) throw notFound('The patient does not exist.');
        throw new HttpProblem({
          type: problemTypes.linkConflict,
          title: 'Already linked',
          status: 409,
          detail: 'This (source_id, source_name) pair is already linked to a patient.',
        });
      }),
    )
    .delete(
      handle(async (req, res) => {
        const query = singleQueryValues(req, ['source_id', 'source_name']);
        const issues: ValidationIssue[] = [];
        for (const field of ['source_id', 'source_name']) {
          if (!query.has(field)) issues.push({ field, message: 'is a required query parameter' });
        }
        if (issues.length) throw new ValidationError(issues);
        const removed = await storage.unlinkPatient(
          req.params.id as string,
          query.get('source_id')!,
          query.get('source_name')!,
        );
        if (!removed) throw notFound('The patient does not exist or has no such link.');
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed(['GET', 'POST', 'DELETE']));
}

export function createApp(options: CreateAppOptions): Express {
  const { storage } = options;
  const models: Models = storage.models ?? defaultModels;
  const tokens = [...(options.apiTokens ?? [])].filter((t) => t !== '');
  const logger = options.logger ?? pino({ name: 'healthcare-fhir' });
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;
  const limit = options.bodyLimit ?? '1mb';
  const bodies: BodyParsers = {
    json: jsonBody(limit, jsonTypes),
    patch: jsonBody(limit, patchTypes),
  };
  const openapi = JSON.stringify(buildOpenApiDocument({ models, bearerAuth: tokens.length > 0 }));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLogging(logger));

  app.get(
    '/healthz',
    handle((_req, res) => {
      res.json({ status: 'ok' });
    }),
  );
  if (tokens.length) app.use(bearerAuth(tokens, ['/healthz']));

  app.get(
    '/readyz',
    handle(async (_req, res) => {
      try {
        if (storage.checkReady) await withTimeout(storage.checkReady(), readyTimeoutMs);
      } catch (error) {
        noteError(res, error);
        const timedOut = error instanceof TimeoutError;
        sendProblem(res, {
          type: problemTypes.notReady,
          title: 'Not ready',
          status: 503,
          detail: timedOut
            ? `The storage (the FHIR server) did not answer the readiness check within ${readyTimeoutMs} ms.`
            : 'The storage (the FHIR server) is not ready.',
        });
        return;
      }
      res.json({ status: 'ready' });
    }),
  );
  app.get(
    '/openapi.json',
    handle((_req, res) => {
      res.type('application/json').send(openapi);
    }),
  );
  app.use(
    '/docs',
    (_req, res, next) => {
      requestState(res).route = '/docs';
      next();
    },
    docsRouter(),
  );

  const patients: RecordOps = {
    model: models.patient,
    collection: 'patients',
    get: (id, source) => storage.getPatient(id, source),
    create: (data) => storage.createPatient(data),
    update: (id, data) => storage.updatePatient(id, data),
    delete: (id) => storage.deletePatient(id),
    filter: (lookups) => storage.filterPatients(...lookups),
  };
  const providers: RecordOps = {
    model: models.provider,
    collection: 'providers',
    get: (id) => storage.getProvider(id),
    create: (data) => storage.createProvider(data),
    update: (id, data) => storage.updateProvider(id, data),
    delete: (id) => storage.deleteProvider(id),
    filter: (lookups) => storage.filterProviders(...lookups),
  };
  linkRoutes(app, storage, bodies.json);
  recordRoutes(app, patients, bodies, true);
  recordRoutes(app, providers, bodies, false);

  app.use((req, res) => {
    sendProblem(res, httpProblem(404, `There is no route for ${req.method} at this path.`));
  });

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    noteError(res, error);
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const problem: Problem = problemFor(error);
    if (problem.status === 500) {
      logger.error(
        { requestId: requestState(res).requestId, ...requestState(res).error },
        'unexpected error',
      );
    }
    sendProblem(res, problem);
  };
  app.use(errorHandler);
  return app;
}
