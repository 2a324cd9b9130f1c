/**
 * The OpenAPI 3.1 document of the facade, generated from the same model
 * specs (`storage.models ?? defaultModels`) that validate requests: a field
 * mapped into a model appears here with no other change.
 */
import { comparisonOperators } from '../api/comparisons.js';
import { keywordSuffixes } from '../api/filters.js';
import type { FieldSpec, ModelSpec, Models } from '../api/models.js';
import { problemContentType } from './problem.js';

type Schema = Record<string, unknown>;

export interface OpenApiOptions {
  models: Models;
  /** Document bearer authentication (when `API_TOKENS` is configured). */
  bearerAuth: boolean;
  /** `info.version`. */
  version?: string;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A string with something in it besides white space (the validation module rejects blanks). */
const nonBlank: Schema = { type: 'string', pattern: '\\S' };

function stringSchema(spec: FieldSpec): Schema {
  const schema: Schema = { type: 'string' };
  if (spec.kind === 'date') schema.format = 'date';
  if (spec.kind === 'datetime') schema.format = 'date-time';
  if (spec.enum) schema.enum = [...spec.enum];
  if (spec.required) schema.minLength = 1;
  if (spec.kind === 'string' && !spec.enum) schema.pattern = nonBlank.pattern;
  return schema;
}

/** A field as returned: generated, required and defaulted fields are never null. */
function recordFieldSchema(spec: FieldSpec): Schema {
  const base = stringSchema(spec);
  const nullable = !(spec.readOnly || spec.required || spec.default !== undefined);
  const schema: Schema = nullable
    ? { ...base, type: ['string', 'null'], ...(spec.enum ? { enum: [...spec.enum, null] } : {}) }
    : { ...base };
  if (spec.readOnly) schema.readOnly = true;
  if (spec.default !== undefined) schema.default = spec.default;
  if (spec.description) schema.description = spec.description;
  return schema;
}

const title = (model: ModelSpec): string => model.name[0]!.toUpperCase() + model.name.slice(1);

function recordSchema(model: ModelSpec): Schema {
  const properties: Record<string, Schema> = {};
  for (const [field, spec] of Object.entries(model.fields))
    properties[field] = recordFieldSchema(spec);
  return {
    type: 'object',
    description: `A ${model.name} as stored: every field present, null when unset.`,
    properties,
    required: Object.keys(model.fields),
    additionalProperties: false,
  };
}

function inputSchema(model: ModelSpec, mode: 'create' | 'update'): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [field, spec] of Object.entries(model.fields)) {
    if (spec.readOnly) continue;
    const schema = recordFieldSchema(spec);
    delete schema.readOnly;
    if (mode === 'update') delete schema.default;
    properties[field] = schema;
    if (mode === 'create' && spec.required) required.push(field);
  }
  return {
    type: 'object',
    description:
      mode === 'create'
        ? `The fields of a new ${model.name}; generated fields (id, created_date, updated_date) cannot be set.`
        : `The ${model.name} fields to change (partial update); generated fields cannot be set.`,
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function lookupSchema(model: ModelSpec): Schema {
  return {
    type: 'array',
    description: '[field, operator, value]; IN takes an array of values.',
    prefixItems: [
      { type: 'string', enum: Object.keys(model.fields) },
      { type: 'string', enum: [...comparisonOperators] },
      { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    ],
    minItems: 3,
    maxItems: 3,
  };
}

function problemSchemas(): Record<string, Schema> {
  return {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details.',
      properties: {
        type: { type: 'string', format: 'uri-reference' },
        title: { type: 'string' },
        status: { type: 'integer', minimum: 400, maximum: 599 },
        detail: { type: 'string' },
      },
      required: ['type', 'title', 'status', 'detail'],
    },
    ValidationProblem: {
      allOf: [
        ref('Problem'),
        {
          type: 'object',
          properties: {
            status: { const: 400 },
            issues: {
              type: 'array',
              items: {
                type: 'object',
                properties: { field: { type: 'string' }, message: { type: 'string' } },
                required: ['message'],
                additionalProperties: false,
              },
            },
          },
          required: ['issues'],
        },
      ],
    },
  };
}

const problemResponse = (description: string, schema = 'Problem'): Schema => ({
  description,
  content: { [problemContentType]: { schema: ref(schema) } },
});

const commonResponses = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '404': { $ref: '#/components/responses/NotFound' },
  '405': { $ref: '#/components/responses/MethodNotAllowed' },
  '409': { $ref: '#/components/responses/Conflict' },
  '413': { $ref: '#/components/responses/ContentTooLarge' },
  '415': { $ref: '#/components/responses/UnsupportedMediaType' },
  '500': { $ref: '#/components/responses/InternalError' },
  '501': { $ref: '#/components/responses/NotImplemented' },
  '502': { $ref: '#/components/responses/BadGateway' },
  '503': { $ref: '#/components/responses/Unavailable' },
  '504': { $ref: '#/components/responses/GatewayTimeout' },
} as const;

type Code = keyof typeof commonResponses;
const upstream: Code[] = ['500', '502', '503', '504'];

function responses(
  success: Record<string, Schema>,
  codes: Code[],
  auth: boolean,
): Record<string, Schema> {
  const all: Code[] = [...codes, ...(auth ? (['401'] as Code[]) : []), ...upstream];
  const result: Record<string, Schema> = { ...success };
  for (const code of all.sort()) result[code] = commonResponses[code];
  return result;
}

const json = (schema: Schema): Schema => ({ 'application/json': { schema } });
const jsonBody = (schema: Schema, description?: string): Schema => ({
  required: true,
  ...(description ? { description } : {}),
  content: json(schema),
});

function idParameter(name: string, description: string): Schema {
  return { name, in: 'path', required: true, description, schema: { type: 'string' } };
}

/** One query parameter per field and keyword suffix (`name`, `name__like`, `name__in`, …). */
function lookupParameters(model: ModelSpec): Schema[] {
  const params: Schema[] = [];
  for (const [field, spec] of Object.entries(model.fields)) {
    const valueSchema: Schema = { type: 'string' };
    if (spec.kind === 'date' || spec.kind === 'datetime') {
      valueSchema.description = 'YYYY-MM-DD or an ISO 8601 datetime with a zone.';
    }
    params.push({
      name: field,
      in: 'query',
      required: false,
      description: `${field} equals the value exactly.`,
      schema: valueSchema,
    });
    for (const [suffix, operator] of Object.entries(keywordSuffixes)) {
      const isIn = suffix === 'in';
      params.push({
        name: `${field}__${suffix}`,
        in: 'query',
        required: false,
        description: isIn
          ? `${field} is one of the values (repeat the parameter once per value).`
          : `${field} ${operator} value.`,
        ...(isIn
          ? { schema: { type: 'array', items: valueSchema }, style: 'form', explode: true }
          : { schema: valueSchema }),
      });
    }
  }
  return params;
}

function modelPaths(model: ModelSpec, collection: string, auth: boolean): Record<string, Schema> {
  const Name = title(model);
  const tag = Name + 's';
  const isPatient = model.name === 'patient';
  const paths: Record<string, Schema> = {};
  paths[`/${collection}`] = {
    get: {
      tags: [tag],
      operationId: `filter${tag}`,
      summary: `${tag} matching every lookup in the query string (all ${collection} when none).`,
      description:
        '`field=value` is EQUAL; `field__op=value` with op one of exact, like, in, lt, lte, gt, gte; ' +
        '`field__in` repeats once per value. Lookups are combined with AND.',
      parameters: lookupParameters(model),
      responses: responses(
        {
          '200': {
            description: `The matching ${collection}.`,
            content: json({ type: 'array', items: ref(Name) }),
          },
        },
        ['400'],
        auth,
      ),
    },
    post: {
      tags: [tag],
      operationId: `create${Name}`,
      summary: `Create a ${model.name}.`,
      requestBody: jsonBody(ref(`${Name}Create`)),
      responses: responses(
        {
          '201': {
            description: `The stored ${model.name}.`,
            headers: {
              Location: {
                description: `/${collection}/{id} of the new record.`,
                schema: { type: 'string' },
              },
            },
            content: json(ref(Name)),
          },
        },
        ['400', '409', '413', '415'],
        auth,
      ),
    },
  };
  paths[`/${collection}/_search`] = {
    post: {
      tags: [tag],
      operationId: `search${tag}`,
      summary: `${tag} matching every lookup triple (all ${collection} when none).`,
      requestBody: jsonBody(ref(`${Name}Search`)),
      responses: responses(
        {
          '200': {
            description: `The matching ${collection}.`,
            content: json({ type: 'array', items: ref(Name) }),
          },
        },
        ['400', '413', '415'],
        auth,
      ),
    },
  };
  const idParam = idParameter(
    'id',
    `The ${model.name} id${isPatient ? ', or a source id with `source`' : ''}.`,
  );
  paths[`/${collection}/{id}`] = {
    parameters: [idParam],
    get: {
      tags: [tag],
      operationId: `get${Name}`,
      summary: isPatient
        ? 'A patient by id, or with `source` the patient linked to that source id.'
        : 'A provider by id.',
      ...(isPatient
        ? {
            parameters: [
              {
                name: 'source',
                in: 'query',
                required: false,
                description: 'The source name: `id` is then a source id linked to the patient.',
                schema: { type: 'string' },
              },
            ],
          }
        : {}),
      responses: responses(
        { '200': { description: `The ${model.name}.`, content: json(ref(Name)) } },
        ['400', '404'],
        auth,
      ),
    },
    patch: {
      tags: [tag],
      operationId: `update${Name}`,
      summary: `Update some fields of a ${model.name}; answers the updated record.`,
      requestBody: {
        required: true,
        description: 'As `application/json`, or as the same JSON merge patch (RFC 7396).',
        content: {
          'application/json': { schema: ref(`${Name}Update`) },
          'application/merge-patch+json': { schema: ref(`${Name}Update`) },
        },
      },
      responses: responses(
        { '200': { description: `The updated ${model.name}.`, content: json(ref(Name)) } },
        ['400', '404', '409', '413', '415'],
        auth,
      ),
    },
    delete: {
      tags: [tag],
      operationId: `delete${Name}`,
      summary: `Delete a ${model.name}.`,
      responses: responses({ '204': { description: 'Deleted.' } }, ['400', '404', '409'], auth),
    },
  };
  if (isPatient) {
    paths[`/${collection}/{id}/links`] = {
      parameters: [idParameter('id', 'The patient id.')],
      get: {
        tags: [tag],
        operationId: 'listPatientLinks',
        summary: "The patient's links to identifiers in other systems.",
        responses: responses(
          {
            '200': {
              description: 'The links.',
              content: json({ type: 'array', items: ref('PatientLink') }),
            },
          },
          ['400', '404', '501'],
          auth,
        ),
      },
      post: {
        tags: [tag],
        operationId: 'linkPatient',
        summary: 'Link the patient to a (source_id, source_name) pair.',
        requestBody: jsonBody(ref('PatientLink')),
        responses: responses(
          { '201': { description: 'Linked.', content: json(ref('PatientLink')) } },
          ['400', '404', '409', '413', '415'],
          auth,
        ),
      },
      delete: {
        tags: [tag],
        operationId: 'unlinkPatient',
        summary: 'Remove one link of the patient.',
        parameters: [
          { name: 'source_id', in: 'query', required: true, schema: nonBlank },
          { name: 'source_name', in: 'query', required: true, schema: nonBlank },
        ],
        responses: responses({ '204': { description: 'Unlinked.' } }, ['400', '404'], auth),
      },
    };
  }
  return paths;
}

export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const { models, bearerAuth } = options;
  const schemas: Record<string, Schema> = {};
  for (const model of [models.patient, models.provider]) {
    const Name = title(model);
    schemas[Name] = recordSchema(model);
    schemas[`${Name}Create`] = inputSchema(model, 'create');
    schemas[`${Name}Update`] = inputSchema(model, 'update');
    schemas[`${Name}Lookup`] = lookupSchema(model);
    schemas[`${Name}Search`] = {
      type: 'object',
      properties: { lookups: { type: 'array', items: ref(`${Name}Lookup`) } },
      additionalProperties: false,
    };
  }
  schemas.PatientLink = {
    type: 'object',
    properties: { source_id: nonBlank, source_name: nonBlank },
    required: ['source_id', 'source_name'],
    additionalProperties: false,
  };
  Object.assign(schemas, problemSchemas());

  const document: Record<string, unknown> = {
    openapi: '3.1.0',
    info: {
      title: 'healthcare-fhir',
      version: options.version ?? '0.1.0',
      description:
        'Patient and provider records kept in a FHIR R4 server, over HTTP. Every error is ' +
        '`application/problem+json` (RFC 9457).',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [{ name: 'Patients' }, { name: 'Providers' }, { name: 'Operations' }],
    paths: {
      ...modelPaths(models.patient, 'patients', bearerAuth),
      ...modelPaths(models.provider, 'providers', bearerAuth),
      '/healthz': {
        get: {
          tags: ['Operations'],
          operationId: 'healthz',
          summary: 'Liveness: 200 while the process is up.',
          security: [],
          responses: {
            '200': {
              description: 'Up.',
              content: json({
                type: 'object',
                properties: { status: { const: 'ok' } },
                required: ['status'],
              }),
            },
          },
        },
      },
      '/readyz': {
        get: {
          tags: ['Operations'],
          operationId: 'readyz',
          summary: 'Readiness: 200 when the storage (the FHIR server) answers.',
          responses: {
            '200': {
              description: 'Ready.',
              content: json({
                type: 'object',
                properties: { status: { const: 'ready' } },
                required: ['status'],
              }),
            },
            ...(bearerAuth ? { '401': commonResponses['401'] } : {}),
            '503': commonResponses['503'],
          },
        },
      },
      '/openapi.json': {
        get: {
          tags: ['Operations'],
          operationId: 'openapi',
          summary: 'This document.',
          responses: {
            '200': { description: 'The OpenAPI 3.1 document.', content: json({ type: 'object' }) },
            ...(bearerAuth ? { '401': commonResponses['401'] } : {}),
          },
        },
      },
    },
    components: {
      schemas,
      responses: {
        BadRequest: problemResponse(
          'Invalid input (validation issues listed in `issues`), malformed JSON or bad query parameters.',
          'ValidationProblem',
        ),
        Unauthorized: {
          ...problemResponse('Missing or wrong bearer token.'),
          headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
        },
        NotFound: problemResponse('No such record (or route).'),
        MethodNotAllowed: problemResponse('The route does not support this method.'),
        Conflict: problemResponse(
          'The source pair is already linked, or a concurrent write conflict.',
        ),
        ContentTooLarge: problemResponse('The request body is over the configured limit.'),
        UnsupportedMediaType: problemResponse(
          'The request body is not `application/json` (on PATCH also `application/merge-patch+json`).',
        ),
        InternalError: problemResponse('Unexpected error (no details are disclosed).'),
        NotImplemented: problemResponse('The storage backend cannot list links.'),
        BadGateway: problemResponse('The FHIR server gave an unexpected answer.'),
        Unavailable: problemResponse(
          'The FHIR server cannot be reached (or, for /readyz, is not ready).',
        ),
        GatewayTimeout: problemResponse('The FHIR server did not answer in time.'),
      },
      ...(bearerAuth
        ? {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token of API_TOKENS.' },
            },
          }
        : {}),
    },
    ...(bearerAuth ? { security: [{ bearerAuth: [] }] } : {}),
  };
  return document;
}
