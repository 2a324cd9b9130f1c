/**
 * Owns where a record becomes a resource and back: a model's field mappings
 * (from the mapping files) and a whole record to and from a resource. One
 * field's value is field-values.ts; created_date's rules live in created-date.ts.
 */
import type { ModelSpec } from '../../api/models.js';
import { completeRecord } from '../../api/records.js';
import type { StoredRecord } from '../../api/record-store.js';
import { clampCreated } from './created-date.js';
import { readField, writeField, type FieldMapping } from './field-values.js';
import type { ResourceJson } from './fhir-rest.js';

export {
  readField,
  writeField,
  type FieldMapping,
  type MappingType,
  type SearchType,
} from './field-values.js';

export interface ResourceMapping {
  file: string;
  resourceType: string;
  model: ModelSpec;
  fields: ReadonlyMap<string, FieldMapping>;
  /** The field generated at creation (created_date) and the one that is meta.lastUpdated (updated_date). */
  created?: FieldMapping;
  updated?: FieldMapping;
}

/** The record a resource holds: every model field, `null` where absent (created_date clamped, see created-date.ts). */
export function toRecord(mapping: ResourceMapping, resource: ResourceJson): StoredRecord {
  const values: StoredRecord = { id: resource.id ?? null };
  for (const [field, fieldMapping] of mapping.fields)
    values[field] = readField(resource, fieldMapping);
  return completeRecord(mapping.model, clampCreated(mapping, values));
}

/** Writes validated record values into the resource (`null` removes the element), keeping everything else. */
export function writeValues(
  mapping: ResourceMapping,
  resource: ResourceJson,
  values: Readonly<Record<string, string | null>>,
): void {
  for (const [field, value] of Object.entries(values))
    writeField(resource, mapping.fields.get(field)!, value);
}
