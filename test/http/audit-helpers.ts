/** Reading the audit trail a test wrote, and the record values it must never hold. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { patientModel, providerModel } from '../../src/api/models.js';
import type { AuditEvent } from '../../src/http/audit/event.js';
import { isPlainObject } from '../../src/shared/plain-object.js';

/** The trail's events; each `time` checked to be an ISO instant (UTC), then dropped. */
export function readTrail(file: string): Omit<AuditEvent, 'time'>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const { time, ...rest } = JSON.parse(line) as AuditEvent;
      assert.ok(!Number.isNaN(Date.parse(time)) && time.endsWith('Z'), time);
      return rest;
    });
}

/** Fields whose values are data (not the id, not an enum such as sex or status), from the model specs. */
const valueFields = [
  ...new Set(
    [patientModel, providerModel].flatMap((m) =>
      Object.entries(m.fields)
        .filter(([name, spec]) => name !== 'id' && !spec.enum)
        .map(([name]) => name),
    ),
  ),
];

const strings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(strings) : [];

/** The names, dates and source ids in a record, a list of records or links, a page, a search or link body. */
function valuesOf(json: unknown): string[] {
  if (Array.isArray(json)) return json.flatMap(valuesOf);
  if (!isPlainObject(json)) return [];
  const lookups = Array.isArray(json.lookups)
    ? json.lookups.flatMap((l: unknown) => (Array.isArray(l) ? strings(l[2]) : []))
    : [];
  return [
    ...valueFields.flatMap((f) => strings(json[f])),
    ...strings(json.source_id),
    ...lookups,
    ...valuesOf(json.items),
  ];
}

export const parseAnswer = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text.split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        return [];
      }
    });
  }
};

/**
 * Every record value a facade request and its answer carried: record fields,
 * lookup values (query string and `_search`), source ids (link bodies, the
 * unlink query, `GET /patients/{sourceId}?source=`, link listings).
 */
export function requestValues(url: string, requestBody: string, answerText: string): string[] {
  const { pathname, searchParams } = new URL(url, 'http://facade.invalid');
  const values: string[] = [];
  if (searchParams.has('source')) values.push(decodeURIComponent(pathname.split('/')[2] ?? ''));
  for (const [key, value] of searchParams)
    if (!['limit', 'cursor', 'source', 'source_name'].includes(key)) values.push(value);
  if (requestBody) values.push(...valuesOf(parseAnswer(requestBody)));
  if (answerText) values.push(...valuesOf(parseAnswer(answerText)));
  return values;
}

/** The record ids a request addressed (its path, unless that is a source id) and its answer carried. */
export function requestIds(url: string, answerText: string): string[] {
  const { pathname, searchParams } = new URL(url, 'http://facade.invalid');
  const segment = pathname.split('/')[2];
  const addressed =
    segment && segment !== '_search' && !searchParams.has('source')
      ? [decodeURIComponent(segment)]
      : [];
  const answered = (json: unknown): string[] =>
    Array.isArray(json)
      ? json.flatMap(answered)
      : isPlainObject(json)
        ? [...strings(json.id), ...answered(json.items)]
        : [];
  return [...addressed, ...(answerText ? answered(parseAnswer(answerText)) : [])];
}

/** The source names a link or unlink request named (the trail may name them). */
export function requestSourceNames(url: string, requestBody: string): string[] {
  const fromQuery = new URL(url, 'http://facade.invalid').searchParams.getAll('source_name');
  const body = requestBody ? parseAnswer(requestBody) : undefined;
  return [...fromQuery, ...(isPlainObject(body) ? strings(body.source_name) : [])];
}
