/**
 * Owns checking a parsed mapping file against `mappings/mapping.schema.json`
 * (JSON Schema 2020-12, the one editors use too) and turning the first
 * violation into "field path: what is wrong". The check is compiled ahead
 * of time (mapping-validator.generated.ts, scripts/mapping-validator.ts), so
 * no process compiles the schema when it starts.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isPlainObject } from '../../shared/plain-object.js';
import { validate as generatedValidate } from './mapping-validator.generated.js';

const validate = generatedValidate as ValidateFunction;

/** `/fields/status/values/A` → `fields.status.values.A`; the document itself is `(file)`. */
function fieldPath(pointer: string, ...more: string[]): string {
  const steps = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return [...steps, ...more].join('.') || '(file)';
}

const quote = (value: unknown): string => JSON.stringify(value);
const article = (noun: string): string => (/^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`);

/** What the schema says is wrong, in words (its errorMessage/patternErrorMessage where it has one). */
function complaint(error: ErrorObject, schema: Record<string, unknown>): string {
  const custom = typeof schema.errorMessage === 'string' ? schema.errorMessage : undefined;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'pattern':
      return typeof schema.patternErrorMessage === 'string'
        ? schema.patternErrorMessage
        : (custom ?? String(error.message));
    case 'enum':
      return (
        custom ?? `must be one of ${(params.allowedValues as unknown[]).map(quote).join(', ')}`
      );
    case 'const':
      return custom ?? `must be ${quote(params.allowedValue)}`;
    case 'type':
      return custom ?? `must be ${article(String(params.type))}`;
    default:
      return custom ?? error.message ?? 'is not valid';
  }
}

/** One schema violation as `[field path, message]`; a message names the bad value. */
function describe(error: ErrorObject): [string, string] {
  const schema = isPlainObject(error.parentSchema) ? error.parentSchema : {};
  const params = error.params as Record<string, unknown>;
  const properties = isPlainObject(schema.properties) ? schema.properties : {};
  switch (error.keyword) {
    case 'required': {
      // a property the schema pins to one value is reported as that value
      const missing = String(params.missingProperty);
      const wanted = properties[missing];
      return [
        fieldPath(error.instancePath, missing),
        isPlainObject(wanted) && 'const' in wanted
          ? `must be ${quote(wanted.const)}`
          : 'is required',
      ];
    }
    case 'dependentRequired':
      return [
        fieldPath(error.instancePath, String(params.missingProperty)),
        `is required with "${String(params.property)}"`,
      ];
    case 'additionalProperties':
      return [
        fieldPath(error.instancePath, String(params.additionalProperty)),
        `unknown property (known: ${Object.keys(properties).join(', ')})`,
      ];
  }
  const at = fieldPath(error.instancePath, ...(error.propertyName ? [error.propertyName] : []));
  const got =
    error.data !== null && typeof error.data !== 'object' && !error.propertyName
      ? ` (got ${quote(error.data)})`
      : '';
  return [at, complaint(error, schema) + got];
}

/** `null` when `json` satisfies the mapping schema, else the first violation as `[field path, message]`. */
export function schemaViolation(json: unknown): [string, string] | null {
  if (validate(json)) return null;
  return describe(validate.errors![0]!);
}
