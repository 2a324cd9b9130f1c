/** Helpers shared by the backends to shape the records they return. */
import type { ModelSpec } from './models.js';

/** A record with every model field present: the given values, `null` elsewhere. */
export function completeRecord(
  model: ModelSpec,
  values: Readonly<Record<string, string | null | undefined>>,
): Record<string, string | null> {
  const record: Record<string, string | null> = {};
  for (const field of Object.keys(model.fields)) record[field] = values[field] ?? null;
  return record;
}

/** Create input with the model's defaults (such as `status: 'A'`) filled in. */
export function withDefaults(
  model: ModelSpec,
  data: Readonly<Record<string, string | null>>,
): Record<string, string | null> {
  const result = { ...data };
  for (const [field, spec] of Object.entries(model.fields)) {
    if (spec.default !== undefined && result[field] === undefined) result[field] = spec.default;
  }
  return result;
}

/** A timestamp (ISO 8601 UTC, ms) after `previous`, even when the clock has not moved on. */
export function nextTimestamp(previous?: string | null, now = Date.now()): string {
  const floor = previous ? Date.parse(previous) + 1 : -Infinity;
  return new Date(Math.max(now, floor)).toISOString();
}
