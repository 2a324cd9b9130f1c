/**
 * The OpenAPI 3.1 document of the facade, generated from its one route
 * declaration (`routes.ts`): every route, parameter, body and response
 * documented here is the one the app mounts and checks.
 */
import { modelList, type ModelSpec, type Models } from '../api/models.js';
import { problemContentType } from './problem.js';
import { scopeNeeded } from './scopes.js';
import { facadeApi, type ErrorCode, type FacadeApi, type RouteSpec } from './routes.js';
import { lookupParameters, ref, type Schema } from './schemas.js';

export interface OpenApiOptions {
  models: Models;
  /** Models served beyond the contract's (a storage's `extraModels`). */
  extraModels?: readonly ModelSpec[];
  /** Document bearer authentication (when `API_TOKENS` is configured). */
  bearerAuth: boolean;
  /** `info.version`. */
  version?: string;
}

const problemResponse = (description: string, schema = 'Problem'): Schema => ({
  description,
  content: { [problemContentType]: { schema: ref(schema) } },
});

/** The shared error responses, by status. */
const errorResponses: Record<ErrorCode | '401' | '403' | '429', [name: string, response: Schema]> =
  {
    '400': [
      'BadRequest',
      problemResponse(
        'Invalid input (validation issues listed in `issues`), malformed JSON or bad query parameters.',
        'ValidationProblem',
      ),
    ],
    '401': [
      'Unauthorized',
      {
        ...problemResponse('Missing or wrong bearer token.'),
        headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
      },
    ],
    '403': [
      'Forbidden',
      problemResponse(
        'The token lacks the scope this route needs (`detail` names it; type `urn:healthcare-fhir:problem:forbidden`).',
      ),
    ],
    '404': ['NotFound', problemResponse('No such record (or route).')],
    '409': [
      'Conflict',
      problemResponse('The source pair is already linked, or a concurrent write conflict.'),
    ],
    '413': ['ContentTooLarge', problemResponse('The request body is over the configured limit.')],
    '415': [
      'UnsupportedMediaType',
      problemResponse(
        'The request body is not `application/json` (on PATCH also `application/merge-patch+json`).',
      ),
    ],
    '429': [
      'TooManyRequests',
      {
        ...problemResponse(
          "Over this client's rate limit or requests in flight; retry after `Retry-After` seconds.",
        ),
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
      },
    ],
    '500': ['InternalError', problemResponse('Unexpected error (no details are disclosed).')],
    '501': ['NotImplemented', problemResponse('The storage backend cannot list links.')],
    '502': ['BadGateway', problemResponse('The FHIR server gave an unexpected answer.')],
    '503': [
      'Unavailable',
      problemResponse('The FHIR server cannot be reached (or, for /readyz, is not ready).'),
    ],
    '504': ['GatewayTimeout', problemResponse('The FHIR server did not answer in time.')],
  };

const storageFailures: ErrorCode[] = ['500', '502', '503', '504'];

interface SecurityOptions {
  /** Document bearer authentication and scopes (when any authentication is configured). */
  bearerAuth: boolean;
  /** Document 429 (when `RATE_LIMIT` or the in-flight bound is set). */
  rateLimited?: boolean;
}

/** The operation's `security`: none for public routes; with auth, the bearer scheme and the scope needed. */
function security(route: RouteSpec, bearerAuth: boolean): Schema {
  if (route.public) return { security: [] };
  if (!bearerAuth || !route.access) return {};
  const { resourceType, permission } = route.access;
  return { security: [{ bearerAuth: [scopeNeeded(resourceType, permission)] }] };
}

function operation(route: RouteSpec, { bearerAuth, rateLimited }: SecurityOptions): Schema {
  const parameters: Schema[] = [];
  for (const [name, description] of Object.entries(route.pathParameters ?? {})) {
    parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string' } });
  }
  for (const p of route.query ?? []) {
    parameters.push({
      name: p.name,
      in: 'query',
      required: p.required ?? false,
      ...(p.description ? { description: p.description } : {}),
      schema: p.schema,
    });
  }
  if (route.lookups) parameters.push(...lookupParameters(route.lookups));

  const codes = new Set<string>(route.errors);
  if (bearerAuth && !route.public) codes.add('401');
  if (bearerAuth && route.access) codes.add('403');
  if (rateLimited && !route.public) codes.add('429');
  if (route.usesStorage ?? true) for (const code of storageFailures) codes.add(code);
  const responses: Record<string, Schema> = { ...route.responses };
  for (const code of [...codes].sort()) {
    responses[code] = {
      $ref: `#/components/responses/${errorResponses[code as keyof typeof errorResponses][0]}`,
    };
  }
  return {
    tags: [route.tag],
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            ...(route.body.description ? { description: route.body.description } : {}),
            content: Object.fromEntries(
              route.body.types.map((type) => [type, { schema: ref(route.body!.schema) }]),
            ),
          },
        }
      : {}),
    ...security(route, bearerAuth),
    responses,
  };
}

/** The document of a declared API. */
export function openApiDocument(
  api: FacadeApi,
  options: SecurityOptions & { version?: string },
): Record<string, unknown> {
  const { bearerAuth } = options;
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of api.routes) {
    (paths[route.path] ??= {})[route.method] = operation(route, options);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'healthcare-fhir',
      version: options.version ?? '0.1.0',
      description:
        'Patient and provider records kept in a FHIR R4 server, over HTTP. Every error is ' +
        '`application/problem+json` (RFC 9457).',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: api.tags.map((name) => ({ name })),
    paths,
    components: {
      schemas: api.schemas,
      responses: Object.fromEntries(Object.values(errorResponses)),
      ...(bearerAuth
        ? {
            securitySchemes: {
              bearerAuth: {
                type: 'http',
                scheme: 'bearer',
                description:
                  'A static token (API_TOKENS, API_CLIENTS_FILE) or a JWT access token of OIDC_ISSUER. ' +
                  "Each operation's security lists the SMART scope it needs (a scope including it, such " +
                  'as user/, * or SMART v1 read/write, does too).',
              },
            },
          }
        : {}),
    },
    ...(bearerAuth ? { security: [{ bearerAuth: [] }] } : {}),
  };
}

/** The document of the facade serving these models. */
export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  return openApiDocument(
    facadeApi([...modelList(options.models), ...(options.extraModels ?? [])]),
    options,
  );
}
