/**
 * What the conformance suite's parts share: the record and fixture shapes, one model
 * under test (its operations, samples, fixtures and cases) and the assertions every part uses.
 */
import assert from 'node:assert/strict';
import type { ModelSpec } from '../api/models.js';
import type { HealthcareStorage, Lookup } from '../api/types.js';
import type { TestRunner } from './runner.js';

export type AnyRecord = Record<string, string | null>;
export type Fixtures = Record<string, AnyRecord>;

/** One filter case: the lookups (given the fixtures) and the fixture keys that must come back. */
export interface FilterCase {
  title: string;
  lookups: (fx: Fixtures) => Lookup[];
  expect: string[] | ((fx: Fixtures) => string[]);
}

/** What the suite needs of one model, so patients and providers share the generic cases. */
export interface ModelOps {
  get(id: string): Promise<AnyRecord | null>;
  create(data: unknown): Promise<AnyRecord>;
  update(id: string, data: unknown): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  filter(...lookups: Lookup[]): Promise<AnyRecord[]>;
}

export interface ModelUnderTest {
  label: 'patient' | 'provider';
  /** The model's spec: the suite takes its field list, required fields and defaults from it. */
  spec: ModelSpec;
  ops(storage: HealthcareStorage): ModelOps;
  /** A full valid record input (token inside the name). */
  sample(name: string): AnyRecord;
  /** Writable fields with a valid second value, for update checks. */
  changes: AnyRecord;
  fixtures(token: string): Record<string, AnyRecord>;
  cases(token: string): FilterCase[];
  invalid: [string, unknown][];
}

/** A model under test with its operations bound to the storage (filled in by the suite's `before`). */
export type BoundModel = ModelUnderTest & ModelOps;

/** What each part of the suite is given. */
export interface SuiteContext {
  runner: TestRunner;
  getStorage: () => HealthcareStorage;
  token: string;
}

export const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const pathLikeIds = ['../x', 'a/b', '?x=1', '#frag', 'x y', ''];

/** Rejects with a ValidationError (checked by name, so two copies of the package still agree). */
export async function rejectsValidation(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal(
      (error as Error | undefined)?.name,
      'ValidationError',
      `${what}: ${String(error)}`,
    );
    return true;
  });
}

export function keysOf(fixtures: Fixtures, records: AnyRecord[]): string[] {
  const byId = new Map(Object.entries(fixtures).map(([key, r]) => [r.id, key]));
  const keys = records.map((r) => byId.get(r.id) ?? `unexpected record ${r.id} (${r.name})`);
  return keys.sort();
}

/** Fixture keys whose datetime field compares to `pivot` as `test` says (an oracle independent of backends). */
export function byTime(fx: Fixtures, field: string, test: (time: number) => boolean): string[] {
  return Object.keys(fx).filter((k) => test(Date.parse(fx[k]![field]!)));
}

/** The model's fields, from its spec. */
export function fieldsOf(spec: ModelSpec): string[] {
  return Object.keys(spec.fields);
}

/** The fields a write may set (every field the store does not generate). */
export function writableFields(spec: ModelSpec): string[] {
  return fieldsOf(spec).filter((field) => !spec.fields[field]!.readOnly);
}

export function assertCompleteRecord(record: AnyRecord, spec: ModelSpec): void {
  assert.deepEqual(
    Object.keys(record).sort(),
    fieldsOf(spec).sort(),
    'every model field is present',
  );
  assert.equal(typeof record.id, 'string');
  assert.ok(record.id, 'id is non-empty');
  assert.match(record.created_date!, isoMillis);
  assert.match(record.updated_date!, isoMillis);
  assert.ok(record.created_date! <= record.updated_date!, 'created_date <= updated_date');
}
