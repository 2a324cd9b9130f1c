/**
 * The JSON Schemas of the facade's bodies and query parameters, generated
 * from the model specs (`src/api/models.ts`): a field mapped into a model
 * appears in every schema with no other change.
 */
import { comparisonOperators, comparisons, type ComparisonOperator } from '../api/comparisons.js';
import { keywordSuffixes } from '../api/filters.js';
import type { FieldSpec, ModelSpec } from '../api/models.js';
import { dateTimePattern } from '../api/validation.js';

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A string with something in it besides white space (the validation module rejects blanks). */
export const nonBlank: Schema = { type: 'string', minLength: 1, pattern: '\\S' };

/**
 * A date or datetime lookup value as the validation module accepts it: a real
 * calendar day `YYYY-MM-DD`, or an ISO 8601 datetime with a zone (its pattern).
 */
const dateLookupValue: Schema = {
  type: 'string',
  anyOf: [{ format: 'date' }, { format: 'date-time', pattern: dateTimePattern.source }],
};

/** EQUAL and IN compare whole field values, so an enum field's values are its enum. */
export const isWholeValueOperator = (operator: ComparisonOperator): boolean =>
  operator === comparisons.EQUAL || operator === comparisons.IN;

/**
 * The schema of a lookup's value on this field with this operator, as
 * `validateLookups` accepts it, except that EQUAL and IN on an enum field
 * document the enum: the storage also takes another value (the seed's
 * semantics, held by the conformance suite: it matches nothing).
 */
export function lookupValueSchema(spec: FieldSpec, operator: ComparisonOperator): Schema {
  if (operator === comparisons.LIKE) return { type: 'string' };
  let one: Schema = { type: 'string' };
  if (spec.kind !== 'string') one = dateLookupValue;
  else if (spec.enum && isWholeValueOperator(operator))
    one = { type: 'string', enum: [...spec.enum] };
  return operator === comparisons.IN ? { type: 'array', items: one } : one;
}

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

/**
 * One `_search` lookup triple. A branch per group of fields and operators that
 * take the same values (a date field's `<` takes dates, its `%` any string), so
 * the value is typed exactly as the validation module checks it.
 */
export function lookupSchema(model: ModelSpec): Schema {
  const branches = new Map<string, { fields: string[]; operators: string[]; value: Schema }>();
  for (const [field, spec] of Object.entries(model.fields)) {
    const byValue = new Map<string, ComparisonOperator[]>();
    for (const operator of comparisonOperators) {
      const key = JSON.stringify(lookupValueSchema(spec, operator));
      byValue.set(key, [...(byValue.get(key) ?? []), operator]);
    }
    for (const [value, operators] of byValue) {
      const key = JSON.stringify([operators, value]);
      const branch = branches.get(key);
      if (branch) branch.fields.push(field);
      else branches.set(key, { fields: [field], operators, value: JSON.parse(value) as Schema });
    }
  }
  return {
    description: '[field, operator, value]; IN takes an array of values.',
    oneOf: [...branches.values()].map(({ fields, operators, value }) => ({
      type: 'array',
      prefixItems: [{ type: 'string', enum: fields }, { type: 'string', enum: operators }, value],
      minItems: 3,
      maxItems: 3,
    })),
  };
}

/** One query parameter per field and keyword suffix (`name`, `name__like`, `name__in`, …). */
export function lookupParameters(model: ModelSpec): Schema[] {
  const params: Schema[] = [];
  for (const [field, spec] of Object.entries(model.fields)) {
    const description =
      spec.kind === 'string' ? '' : ' (YYYY-MM-DD or an ISO 8601 datetime with a zone)';
    const keywords: [name: string, operator: ComparisonOperator, text: string][] = [
      [field, comparisons.EQUAL, `${field} equals the value exactly${description}.`],
      ...Object.entries(keywordSuffixes).map(
        ([suffix, operator]): [string, ComparisonOperator, string] => [
          `${field}__${suffix}`,
          operator,
          operator === comparisons.IN
            ? `${field} is one of the values (repeat the parameter once per value)${description}.`
            : `${field} ${operator} value${operator === comparisons.LIKE ? '' : description}.`,
        ],
      ),
    ];
    for (const [name, operator, text] of keywords) {
      params.push({
        name,
        in: 'query',
        required: false,
        description: text,
        schema: lookupValueSchema(spec, operator),
        ...(operator === comparisons.IN ? { style: 'form', explode: true } : {}),
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
