/**
 * Lookups → FHIR search parameters. Every parameter sent selects a SUPERSET of
 * the records the lookup matches (FHIR string search ignores case and accents
 * and matches parts; date ranges are widened a little), so the adapter can then
 * apply the contract's exact semantics (`matchesAll`) to every candidate and
 * never miss a record. What the server cannot evaluate is left to the adapter.
 */
import { comparisons } from '../../api/comparisons.js';
import { matchesLookup } from '../../api/matching.js';
import type { NormalizedLookup } from '../../api/validation.js';
import { escapeSearchValue, isFhirId } from './client.js';
import type { FieldMapping, ResourceMapping } from './mapping.js';

export type SearchParams = [name: string, value: string][];

/** `null`: no record can match (send nothing). */
export type SearchPlan = SearchParams | null;

const DAY = 86_400_000;

/** Characters never sent in a `:contains` value: whitespace (a name may be split into parts) and SQL LIKE / FHIR escape characters. */
const chunkSeparators = /[\s\\%_,|$*]+/u;

/**
 * The longest run of the value without whitespace or special characters: a
 * substring of the field, and (without whitespace) of one indexed name part.
 */
function longestChunk(value: string): string | undefined {
  let best = '';
  for (const chunk of value.split(chunkSeparators))
    if ([...chunk].length > [...best].length) best = chunk;
  return best === '' ? undefined : best;
}

function day(time: number): string {
  return new Date(Math.floor(time / DAY) * DAY).toISOString().slice(0, 10);
}

function second(time: number, round: 'down' | 'up'): string {
  const t = round === 'down' ? Math.floor(time / 1000) * 1000 : Math.ceil(time / 1000) * 1000;
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

function dateParams(
  m: FieldMapping,
  lookup: NormalizedLookup,
  param: string,
): SearchParams | null | undefined {
  const times = lookup.operands.map((o) => o.time).filter((t): t is number => t !== undefined);
  if (times.length !== lookup.operands.length) return undefined;
  // widen by a day (dates) or a second (datetimes): the server's rounding and time zones never hide a match
  const low = (t: number) =>
    m.type === 'date' ? `ge${day(t - DAY)}` : `ge${second(t - 1000, 'down')}`;
  const high = (t: number) =>
    m.type === 'date' ? `le${day(t + DAY)}` : `le${second(t + 1000, 'up')}`;
  switch (lookup.operator) {
    case comparisons.EQUAL:
    case comparisons.IN: {
      if (times.length === 0) return null;
      return [
        [param, low(Math.min(...times))],
        [param, high(Math.max(...times))],
      ];
    }
    case comparisons.LT:
    case comparisons.LTE:
      return [[param, high(times[0]!)]];
    case comparisons.GT:
    case comparisons.GTE:
      return [[param, low(times[0]!)]];
    default:
      return undefined;
  }
}

/** code/boolean fields: the model values the lookup accepts, sent as the FHIR codes (or `:not` the one it excludes). */
function enumParams(
  m: FieldMapping,
  lookup: NormalizedLookup,
  param: string,
): SearchParams | null | undefined {
  const values = Object.keys(m.values ?? {});
  const allowed = values.filter((v) => matchesLookup({ v }, { ...lookup, field: 'v' }));
  if (allowed.length === 0) return null;
  const fhir = (v: string) => escapeSearchValue(String(m.values![v]));
  if (m.absent !== undefined && allowed.includes(m.absent)) {
    // an absent element reads as `absent`, so only exclusion is exact
    const excluded = values.filter((v) => !allowed.includes(v));
    if (excluded.length === 1) return [[`${param}:not`, fhir(excluded[0]!)]];
    return undefined;
  }
  return [[param, allowed.map(fhir).join(',')]];
}

/**
 * HAPI indexes only the first few hundred characters of a string (a token at
 * character 1200 is not found; at 320 it is). For `==`/`in` the value is the
 * whole field, so a chunk from its first 200 characters is always indexed.
 */
const INDEXED_PREFIX = 200;

function stringParams(lookup: NormalizedLookup, param: string): SearchParams | null | undefined {
  if (lookup.operator === comparisons.IN && lookup.operands.length === 0) return null;
  if (
    lookup.operator !== comparisons.EQUAL &&
    lookup.operator !== comparisons.LIKE &&
    lookup.operator !== comparisons.IN
  ) {
    return undefined;
  }
  const whole = lookup.operator !== comparisons.LIKE;
  const chunks = lookup.operands.map((o) =>
    longestChunk(whole ? [...o.text].slice(0, INDEXED_PREFIX).join('') : o.text),
  );
  if (chunks.some((c) => c === undefined)) return undefined;
  return [[`${param}:contains`, [...new Set(chunks as string[])].map(escapeSearchValue).join(',')]];
}

function tokenParams(lookup: NormalizedLookup, param: string): SearchParams | null | undefined {
  if (lookup.operator === comparisons.IN && lookup.operands.length === 0) return null;
  if (lookup.operator !== comparisons.EQUAL && lookup.operator !== comparisons.IN) return undefined;
  return [[param, lookup.operands.map((o) => escapeSearchValue(o.text)).join(',')]];
}

/**
 * created_date (an extension no server indexes) has a lower bound on
 * updated_date: every record FhirStorage returns has created_date <=
 * updated_date (meta.lastUpdated; FhirTable.toRecord makes sure), so
 * `>`, `>=`, `==` and `in` (its smallest value) are sent as the same lower
 * bound on updated_date's parameter, widened like it. An upper bound says nothing.
 */
function createdParams(
  mapping: ResourceMapping,
  lookup: NormalizedLookup,
  supported: ReadonlySet<string>,
): SearchParams | null | undefined {
  const updated = [...mapping.fields.values()].find((f) => f.generated === 'updated');
  if (!updated?.search || !supported.has(updated.search.param)) return undefined;
  if (lookup.operator === comparisons.IN && lookup.operands.length === 0) return null;
  const lowerBound = [
    comparisons.GT,
    comparisons.GTE,
    comparisons.EQUAL,
    comparisons.IN,
  ] as string[];
  const times = lookup.operands.map((o) => o.time);
  if (!lowerBound.includes(lookup.operator) || times.some((t) => t === undefined)) return undefined;
  const low = { text: '', time: Math.min(...(times as number[])) };
  return dateParams(
    updated,
    { ...lookup, operator: comparisons.GTE, operands: [low] },
    updated.search.param,
  );
}

/**
 * The search parameters for one lookup: parameters to send, `undefined` when the
 * server cannot help (the adapter alone decides), or `null` when nothing can match.
 */
function lookupParams(
  mapping: ResourceMapping,
  lookup: NormalizedLookup,
  supported: ReadonlySet<string>,
): SearchParams | null | undefined {
  if (lookup.field === 'id') {
    if (lookup.operator !== comparisons.EQUAL && lookup.operator !== comparisons.IN)
      return undefined;
    const ids = [...new Set(lookup.operands.map((o) => o.text).filter(isFhirId))];
    return ids.length === 0 ? null : [['_id', ids.join(',')]];
  }
  const m = mapping.fields.get(lookup.field);
  if (m?.generated === 'created' && !m.search) return createdParams(mapping, lookup, supported);
  if (!m?.search || !supported.has(m.search.param)) return undefined;
  const param = m.search.param;
  if (m.type === 'code' || m.type === 'boolean') return enumParams(m, lookup, param);
  switch (m.search.type) {
    case 'date':
      return dateParams(m, lookup, param);
    case 'token':
      return tokenParams(lookup, param);
    case 'string':
      return stringParams(lookup, param);
  }
}

/** All lookups → one search (parameters repeat for AND), or `null` when nothing can match. */
export function planSearch(
  mapping: ResourceMapping,
  lookups: readonly NormalizedLookup[],
  supported: ReadonlySet<string>,
): SearchPlan {
  const params: SearchParams = [];
  for (const lookup of lookups) {
    const p = lookupParams(mapping, lookup, supported);
    if (p === null) return null;
    if (p) params.push(...p);
  }
  return params;
}
