/**
 * Owns created_date on a FHIR server, where no server keeps it: an extension
 * written at creation (resources others wrote fall back to meta.lastUpdated),
 * and the one invariant everything relies on: created_date never reads later
 * than updated_date (meta.lastUpdated). Filters push a lower bound on
 * created_date down as one on _lastUpdated because of it.
 */
import type { StoredRecord } from '../../api/record-store.js';
import type { ResourceJson } from './fhir-rest.js';
import { readField, writeField, type FieldMapping } from './field-values.js';

/** The two timestamp fields of a model's mapping (a ResourceMapping has them). */
interface TimestampFields {
  readonly created?: FieldMapping;
  readonly updated?: FieldMapping;
}

/** On read: a created_date later than updated_date (a clock ahead of the server's, a fix that failed) reads as updated_date. */
export function clampCreated(mapping: TimestampFields, values: StoredRecord): StoredRecord {
  const { created, updated } = mapping;
  if (!created || !updated) return values;
  const createdAt = values[created.field];
  const updatedAt = values[updated.field];
  if (createdAt && updatedAt && Date.parse(createdAt) > Date.parse(updatedAt))
    return { ...values, [created.field]: updatedAt };
  return values;
}

/** On create: stamps our clock's time; returns it (for `fixAfterCreate`). */
export function stampCreated(mapping: TimestampFields, resource: ResourceJson): string {
  const now = new Date().toISOString();
  if (mapping.created) writeField(resource, mapping.created, now);
  return now;
}

/**
 * After a create: when the server's first lastUpdated is before our stamp (its
 * clock is behind ours), the change that sets created_date to it, else `undefined`.
 */
export function fixAfterCreate(
  mapping: TimestampFields,
  stored: ResourceJson,
  stampedAt: string,
): ((resource: ResourceJson) => void) | undefined {
  const { created } = mapping;
  const lastUpdated = stored.meta?.lastUpdated;
  if (!created || !lastUpdated || Date.parse(lastUpdated) >= Date.parse(stampedAt))
    return undefined;
  const serverTime = new Date(lastUpdated).toISOString();
  return (resource) => writeField(resource, created, serverTime);
}

/**
 * On update: created_date is frozen at the value shown so far: a resource
 * written by others has no extension (it showed lastUpdated), and one may be
 * ahead of meta.lastUpdated (it showed the clamped value).
 */
export function freezeCreated(
  mapping: TimestampFields,
  current: ResourceJson,
  shown: StoredRecord,
  next: ResourceJson,
): void {
  const { created } = mapping;
  if (!created) return;
  const value = shown[created.field];
  if (value && readField(current, { ...created, fallback: undefined }) !== value)
    writeField(next, created, value);
}

/**
 * In a search: the search parameter and field mapping that bound created_date
 * from below (updated_date's), when the server supports it.
 */
export function createdLowerBoundField(mapping: TimestampFields) {
  return mapping.updated?.search ? mapping.updated : undefined;
}
