/**
 * Owns loading the mapping files (`mappings/patient.json`, …) and checking
 * them: their shape by mappings/mapping.schema.json (mapping-schema.ts), then
 * what a schema cannot know (the model's fields, kinds and values). A
 * malformed file throws `FhirMappingError` naming the file and the field.
 */
import fs from 'node:fs';
import path from 'node:path';
import { extendModel, type FieldKind, type FieldSpec, type ModelSpec } from '../../api/models.js';
import { packageRoot } from '../../shared/package-root.js';
import { parsePath } from './element-path.js';
import { schemaViolation } from './mapping-schema.js';
import type { FieldMapping, MappingType, ResourceMapping, SearchType } from './resource-mapping.js';

export class FhirMappingError extends Error {
  override name = 'FhirMappingError';
}

const kindOfType: Record<MappingType, FieldKind> = {
  string: 'string',
  HumanName: 'string',
  code: 'string',
  boolean: 'string',
  date: 'date',
  dateTime: 'datetime',
};
const defaultSearchType: Record<MappingType, SearchType> = {
  string: 'string',
  HumanName: 'string',
  code: 'token',
  boolean: 'token',
  date: 'date',
  dateTime: 'date',
};

/** One field of a mapping file, as mapping.schema.json allows it. */
interface FieldJson {
  element: string;
  type: MappingType;
  values?: Record<string, string | boolean>;
  absent?: string;
  search?: string;
  searchType?: SearchType;
  generated?: 'created' | 'updated';
  fallback?: string;
  description?: string;
}

type Fail = (where: string, message: string) => never;
const fieldAt = (field: string, prop?: string) => `fields.${field}${prop ? `.${prop}` : ''}`;

/** One field's mapping from its JSON: `values` one-to-one, `absent` one of them. */
function fieldMappingOf(field: string, m: FieldJson, fail: Fail): FieldMapping {
  const { type, values } = m;
  const mapping: FieldMapping = { field, element: m.element, path: parsePath(m.element), type };
  if (values) {
    const fhirValues = Object.values(values);
    if (new Set(fhirValues).size !== fhirValues.length)
      fail(fieldAt(field, 'values'), 'two model values map to one FHIR value');
    mapping.values = values;
  }
  if (m.absent !== undefined) {
    if (!Object.hasOwn(values!, m.absent))
      fail(
        fieldAt(field, 'absent'),
        `must be one of the model values in "values" (got ${JSON.stringify(m.absent)})`,
      );
    mapping.absent = m.absent;
  }
  if (m.search !== undefined)
    mapping.search = { param: m.search, type: m.searchType ?? defaultSearchType[type] };
  if (m.generated !== undefined) mapping.generated = m.generated;
  if (m.fallback !== undefined) mapping.fallback = parsePath(m.fallback);
  return mapping;
}

/** A field of the base model: its FHIR type must fit the field's kind, `values` its fixed values. */
function checkModelField(field: string, m: FieldJson, spec: FieldSpec, fail: Fail): void {
  const { type, values } = m;
  if (spec.kind !== kindOfType[type])
    fail(fieldAt(field, 'type'), `the model's ${field} is a ${spec.kind}; ${type} does not fit`);
  if (spec.enum && values) {
    const missing = spec.enum.filter((v) => !Object.hasOwn(values, v));
    const unknown = Object.keys(values).filter((v) => !spec.enum!.includes(v));
    if (missing.length) fail(fieldAt(field, 'values'), `must map ${missing.join(', ')}`);
    if (unknown.length)
      fail(fieldAt(field, 'values'), `${unknown.join(', ')} are not values of ${field}`);
  } else if (spec.enum)
    fail(fieldAt(field, 'type'), `${field} has fixed values; use code or boolean with "values"`);
}

/**
 * Checks one parsed mapping file, first against mapping.schema.json, then
 * against its base model (what a schema cannot know), and returns the
 * extended model and the field mappings.
 */
export function parseMapping(file: string, json: unknown, base: ModelSpec): ResourceMapping {
  const fail: Fail = (where, message) => {
    throw new FhirMappingError(`mapping ${file}: ${where}: ${message}`);
  };
  const violation = schemaViolation(json);
  if (violation) fail(...violation);
  const doc = json as { resourceType: string; fields: Record<string, FieldJson> };
  const fields = new Map<string, FieldMapping>();
  const extra: Record<string, FieldSpec> = {};
  for (const [field, m] of Object.entries(doc.fields)) {
    const mapping = fieldMappingOf(field, m, fail);
    const spec = base.fields[field];
    if (spec) checkModelField(field, m, spec, fail);
    else {
      extra[field] = {
        kind: kindOfType[m.type],
        ...(m.values ? { enum: Object.keys(m.values) } : {}),
        description: m.description ?? `Mapped to ${doc.resourceType}.${m.element}.`,
      };
    }
    fields.set(field, mapping);
  }
  for (const field of Object.keys(base.fields)) {
    if (field !== 'id' && !fields.has(field))
      fail(`fields.${field}`, `the ${base.name} model's field ${field} is not mapped`);
  }
  const generated = (kind: 'created' | 'updated') =>
    [...fields.values()].find((m) => m.generated === kind);
  return {
    file,
    resourceType: doc.resourceType,
    model: extendModel(base, extra),
    fields,
    created: generated('created'),
    updated: generated('updated'),
  };
}

export function loadMappingFile(file: string, base: ModelSpec): ResourceMapping {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new FhirMappingError(
      `mapping ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FhirMappingError(`mapping ${file}: is not valid JSON (${(error as Error).message})`);
  }
  return parseMapping(file, json, base);
}

/** `<package root>/mappings`: the mapping files shipped with the package. */
export function defaultMappingsDir(): string {
  return path.join(packageRoot(), 'mappings');
}
