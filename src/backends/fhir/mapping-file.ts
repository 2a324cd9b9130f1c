/**
 * Owns loading the mapping files (`mappings/patient.json`, …) and checking
 * them against their model: a malformed file throws `FhirMappingError`
 * naming the file and the field.
 */
import fs from 'node:fs';
import path from 'node:path';
import { extendModel, type FieldKind, type FieldSpec, type ModelSpec } from '../../api/models.js';
import { packageRoot } from '../../shared/package-root.js';
import { isPlainObject, type JsonObject as Json } from '../../shared/plain-object.js';
import { parsePath, type PathSegment } from './element-path.js';
import type { FieldMapping, MappingType, ResourceMapping, SearchType } from './resource-mapping.js';

export class FhirMappingError extends Error {
  override name = 'FhirMappingError';
}

const mappingTypes: readonly MappingType[] = [
  'string',
  'date',
  'dateTime',
  'code',
  'boolean',
  'HumanName',
];
const searchTypes: readonly SearchType[] = ['string', 'token', 'date'];

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
const fieldNamePattern = /^[a-z][a-z0-9_]*$/;
const searchParamPattern = /^[A-Za-z_][A-Za-z0-9_\-.]*$/;

/** Checks one parsed mapping file against its base model and returns the extended model and field mappings. */
export function parseMapping(file: string, json: unknown, base: ModelSpec): ResourceMapping {
  const fail = (where: string, message: string): never => {
    throw new FhirMappingError(`mapping ${file}: ${where}: ${message}`);
  };
  if (!isPlainObject(json))
    fail('(file)', 'must be a JSON object with "resourceType" and "fields"');
  const doc = json as Json;
  const resourceType = doc.resourceType;
  if (typeof resourceType !== 'string' || !/^[A-Z][A-Za-z]+$/.test(resourceType)) {
    fail('resourceType', 'must be a FHIR resource type name such as "Patient"');
  }
  if (!isPlainObject(doc.fields)) fail('fields', 'must be an object of field name → mapping');
  const fields = new Map<string, FieldMapping>();
  const extra: Record<string, FieldSpec> = {};
  for (const [field, raw] of Object.entries(doc.fields as Json)) {
    const at = (prop?: string) => `fields.${field}${prop ? `.${prop}` : ''}`;
    if (field === 'id') fail(at(), 'id is the resource id and cannot be mapped');
    if (!fieldNamePattern.test(field)) fail(at(), 'field names are lower-case snake_case');
    if (!isPlainObject(raw)) fail(at(), 'must be an object');
    const m = raw as Json;
    const known = [
      'element',
      'type',
      'values',
      'absent',
      'search',
      'searchType',
      'generated',
      'fallback',
      'description',
    ];
    for (const key of Object.keys(m))
      if (!known.includes(key)) fail(at(key), `unknown property (known: ${known.join(', ')})`);
    if (typeof m.element !== 'string')
      fail(at('element'), 'must be an element path such as "address[0].city"');
    let segments: PathSegment[] = [];
    try {
      segments = parsePath(m.element as string);
    } catch (error) {
      fail(at('element'), (error as Error).message);
    }
    if (!mappingTypes.includes(m.type as MappingType))
      fail(at('type'), `must be one of ${mappingTypes.join(', ')}`);
    const type = m.type as MappingType;
    if (
      type === 'HumanName' &&
      (segments.length !== 1 || segments[0]!.index !== undefined || segments[0]!.match)
    ) {
      fail(at('element'), 'a HumanName field is a top-level element name such as "name"');
    }
    const mapping: FieldMapping = { field, element: m.element as string, path: segments, type };
    if (type === 'code' || type === 'boolean') {
      if (!isPlainObject(m.values) || Object.keys(m.values).length === 0) {
        fail(at('values'), `a ${type} field needs "values": { modelValue: fhirValue }`);
      }
      for (const [k, v] of Object.entries(m.values as Json)) {
        if (type === 'code' ? typeof v !== 'string' || v === '' : typeof v !== 'boolean') {
          fail(at(`values.${k}`), `must be a ${type === 'code' ? 'non-empty string' : 'boolean'}`);
        }
      }
      const fhirValues = Object.values(m.values as Json);
      if (new Set(fhirValues).size !== fhirValues.length)
        fail(at('values'), 'two model values map to one FHIR value');
      mapping.values = m.values as Record<string, string | boolean>;
    } else if (m.values !== undefined)
      fail(at('values'), `only code and boolean fields have values`);
    if (m.absent !== undefined) {
      if (typeof m.absent !== 'string' || !mapping.values || !(m.absent in mapping.values)) {
        fail(at('absent'), 'must be one of the model values in "values"');
      }
      mapping.absent = m.absent as string;
    }
    if (m.search !== undefined) {
      if (typeof m.search !== 'string' || !searchParamPattern.test(m.search)) {
        fail(at('search'), 'must be a search parameter name such as "address-city"');
      }
      const st = m.searchType ?? defaultSearchType[type];
      if (!searchTypes.includes(st as SearchType))
        fail(at('searchType'), `must be one of ${searchTypes.join(', ')}`);
      if ((st === 'date') !== (type === 'date' || type === 'dateTime')) {
        fail(at('searchType'), `a ${type} field cannot be searched by a ${String(st)} parameter`);
      }
      mapping.search = { param: m.search as string, type: st as SearchType };
    } else if (m.searchType !== undefined) fail(at('searchType'), 'needs "search"');
    if (m.generated !== undefined) {
      if (m.generated !== 'created' && m.generated !== 'updated')
        fail(at('generated'), 'must be "created" or "updated"');
      if (type !== 'dateTime') fail(at('generated'), 'only dateTime fields can be generated');
      mapping.generated = m.generated as 'created' | 'updated';
    }
    if (m.fallback !== undefined) {
      try {
        mapping.fallback = parsePath(m.fallback as string);
      } catch (error) {
        fail(at('fallback'), (error as Error).message);
      }
    }
    if (m.description !== undefined && typeof m.description !== 'string')
      fail(at('description'), 'must be a string');

    const spec = base.fields[field];
    if (spec) {
      if (spec.kind !== kindOfType[type])
        fail(at('type'), `the model's ${field} is a ${spec.kind}; ${type} does not fit`);
      if (spec.enum && (type === 'code' || type === 'boolean')) {
        const missing = spec.enum.filter((v) => !(v in mapping.values!));
        const unknown = Object.keys(mapping.values!).filter((v) => !spec.enum!.includes(v));
        if (missing.length) fail(at('values'), `must map ${missing.join(', ')}`);
        if (unknown.length) fail(at('values'), `${unknown.join(', ')} are not values of ${field}`);
      } else if (spec.enum)
        fail(at('type'), `${field} has fixed values; use code or boolean with "values"`);
      const wantGenerated =
        field === 'created_date' ? 'created' : field === 'updated_date' ? 'updated' : undefined;
      if (mapping.generated !== wantGenerated) {
        fail(
          at('generated'),
          wantGenerated ? `must be "${wantGenerated}"` : `${field} is not generated`,
        );
      }
      if (wantGenerated === 'updated' && m.element !== 'meta.lastUpdated') {
        fail(at('element'), 'updated_date is the server\'s "meta.lastUpdated"');
      }
    } else {
      if (mapping.generated)
        fail(at('generated'), 'only created_date and updated_date are generated');
      extra[field] = {
        kind: kindOfType[type],
        ...(mapping.values ? { enum: Object.keys(mapping.values) } : {}),
        description:
          typeof m.description === 'string'
            ? m.description
            : `Mapped to ${resourceType}.${m.element as string}.`,
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
    resourceType: resourceType as string,
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
