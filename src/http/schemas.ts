/**
 * The JSON Schemas of the facade's bodies and query parameters, generated
 * from the model specs (`src/api/models.ts`): a field mapped into a model
 * appears in every schema with no other change.
 */
import { comparisonOperators } from '../api/comparisons.js';
import { keywordSuffixes } from '../api/filters.js';
import type { FieldSpec, ModelSpec } from '../api/models.js';

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A string with something in it besides white space (the validation module rejects blanks). */
export const nonBlank: Schema = { type: 'string', pattern: '\\S' };

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

export function recordSchema(model: ModelSpec): Schema {
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

export function inputSchema(model: ModelSpec, mode: 'create' | 'update'): Schema {
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

export function lookupSchema(model: ModelSpec): Schema {
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

/** One query parameter per field and keyword suffix (`name`, `name__like`, `name__in`, …). */
export function lookupParameters(model: ModelSpec): Schema[] {
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

export function problemSchemas(): Record<string, Schema> {
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
