/**
 * Owns where a lookup becomes a search parameter (search-request.ts formats
 * and escapes it). Every parameter planned
 * selects a SUPERSET of the records the lookup matches (FHIR string search
 * ignores case and accents and matches parts; date ranges are widened a
 * little), so the adapter then applies the contract's exact semantics
 * (`matchesAll`) to every candidate and never misses a record. What the
 * server cannot evaluate is left to the adapter.
 *
 * How each operator narrows each kind of search parameter is one table,
 * `OPERATORS`; the rest of the file applies it to what THIS server evaluates
 * (`SearchSupport`, learned in capabilities.ts). Strings: `==`/`in` are sent
 * so that an index serves them: `:exact` on the values (a HumanName also on
 * the parts a record without `name.text` is found by, see name-parts.ts),
 * else FHIR's default string search (starts-with, any case) on each value's
 * leading chunk; `:contains`, a substring scan no index serves, only for LIKE.
 */
import { comparisons, type ComparisonOperator } from '../../api/comparisons.js';
import { matchesLookup } from '../../api/matching.js';
import type { NormalizedLookup } from '../../api/validation.js';
import type { SearchSupport, StringProbe } from './capabilities.js';
import { createdLowerBoundField } from './created-date.js';
import { isDateElement } from './date-elements.js';
import { isFhirId } from './fhir-id.js';
import { exactValues } from './name-parts.js';
import type { FieldMapping, ResourceMapping } from './resource-mapping.js';
import type { SearchParameter } from './search-request.js';

/** What one lookup (or a whole filter) asks of the server. */
export type SearchPlan =
  /** Send these parameters (AND-ed); the candidates are then checked exactly. */
  | { kind: 'narrow'; params: readonly SearchParameter[] }
  /** No record can match: send nothing. */
  | { kind: 'no-match' }
  /** The server cannot narrow this lookup: every record is a candidate. */
  | { kind: 'server-cannot-narrow' };

const noMatch: SearchPlan = { kind: 'no-match' };
const cannotNarrow: SearchPlan = { kind: 'server-cannot-narrow' };
const narrow = (...params: SearchParameter[]): SearchPlan => ({ kind: 'narrow', params });

/** How one operator narrows each kind of search parameter (absent: it cannot). */
interface OperatorRule {
  /** String parameters: the whole field (==, in: `:exact` or starts-with) or a part of it (like: `:contains`). */
  string?: 'whole' | 'part';
  /** Token parameters (`_id`, codes): the values themselves. */
  token?: true;
  /** Date parameters: which bounds enclose the operands. */
  date?: 'both' | 'upper' | 'lower';
  /** created_date: a lower bound on updated_date's parameter (see created-date.ts). */
  createdLowerBound?: true;
}

const OPERATORS: Readonly<Record<ComparisonOperator, OperatorRule>> = {
  [comparisons.EQUAL]: { string: 'whole', token: true, date: 'both', createdLowerBound: true },
  [comparisons.IN]: { string: 'whole', token: true, date: 'both', createdLowerBound: true },
  [comparisons.LIKE]: { string: 'part' },
  [comparisons.LT]: { date: 'upper' },
  [comparisons.LTE]: { date: 'upper' },
  [comparisons.GT]: { date: 'lower', createdLowerBound: true },
  [comparisons.GTE]: { date: 'lower', createdLowerBound: true },
};

const DAY = 86_400_000;

/** Characters never sent in a `:contains` value: whitespace (a name may be split into parts) and SQL LIKE / FHIR escape characters. */
const chunkSeparators = /[\s\\%_,|$*]+/u;

/**
 * HAPI indexes only the first few hundred characters of a string (a token at
 * character 1200 is not found; at 320 it is). For `==`/`in` the value is the
 * whole field, so a chunk from its first 200 characters is always indexed.
 */
const INDEXED_PREFIX = 200;

/**
 * Starts-with values are OR-ed `LIKE 'X%'` on the server and `:contains` ones
 * substring scans: hundreds OR-ed (an IN of 808 names) or AND-ed (111 LIKE
 * lookups) take HAPI longer than reading the candidates (over 30 s), so a
 * search carries at most this many of each; the rest is left to the adapter
 * (fewer filters: still a superset). `:exact` values are index look-ups: see
 * name-parts.ts for their bound.
 */
const MAX_CONTAINS_VALUES = 50;
const MAX_CONTAINS_PARAMS = 8;

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

/** The instants FHIR dates can express (years 0001–9999): a widened bound past them is clamped, still a superset. */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59Z');
const clamp = (time: number): number => Math.min(Math.max(time, FIRST_INSTANT), LAST_INSTANT);

function day(time: number): string {
  return new Date(clamp(Math.floor(time / DAY) * DAY)).toISOString().slice(0, 10);
}

function second(time: number, round: 'down' | 'up'): string {
  const t = round === 'down' ? Math.floor(time / 1000) * 1000 : Math.ceil(time / 1000) * 1000;
  return `${new Date(clamp(t)).toISOString().slice(0, 19)}Z`;
}

/** Bounds widened by a day (dates) or a second (datetimes): the server's rounding and time zones never hide a match. */
function dateBound(m: FieldMapping, bound: 'ge' | 'le', time: number): SearchParameter {
  const widened =
    bound === 'ge'
      ? time - (m.type === 'date' ? DAY : 1000)
      : time + (m.type === 'date' ? DAY : 1000);
  const value = m.type === 'date' ? day(widened) : second(widened, bound === 'ge' ? 'down' : 'up');
  return { name: m.search!.param, prefix: bound, values: [value] };
}

function datePlan(
  m: FieldMapping,
  bounds: OperatorRule['date'],
  times: readonly number[],
  dateElement = false,
): SearchPlan {
  if (!bounds) return cannotNarrow;
  if (times.length === 0) return noMatch; // `in []`
  // one day on a zone-less FHIR `date` element: that day, unwidened, served by the date index
  // (date-elements.ts). Planned as `ge`+`le` of the day: planSearch merges prefixed bounds per
  // parameter (HAPI refuses a second bound beside an `eq`, HAPI-1922/1924), then sends a merged
  // same-day pair as `eq` (tightestBounds): HAPI's date index serves `eq`, not the range.
  if (bounds === 'both' && dateElement && times.every((t) => t === times[0] && t % DAY === 0)) {
    const only = day(times[0]!);
    const param = m.search!.param;
    return narrow(
      { name: param, prefix: 'ge', values: [only] },
      { name: param, prefix: 'le', values: [only] },
    );
  }
  const low = dateBound(m, 'ge', Math.min(...times));
  const high = dateBound(m, 'le', Math.max(...times));
  if (bounds === 'both') return narrow(low, high);
  return narrow(bounds === 'lower' ? low : high);
}

/** The operands as times, or `undefined` when one has none (not a date). */
function operandTimes(lookup: NormalizedLookup): number[] | undefined {
  const times = lookup.operands.map((o) => o.time);
  return times.every((t): t is number => t !== undefined) ? times : undefined;
}

/** code/boolean fields: the model values the lookup accepts, sent as their FHIR codes (or `:not` the one it excludes). */
function enumPlan(m: FieldMapping, lookup: NormalizedLookup): SearchPlan {
  const values = Object.keys(m.values ?? {});
  const allowed = values.filter((v) => matchesLookup({ v }, { ...lookup, field: 'v' }));
  if (allowed.length === 0) return noMatch;
  const fhir = (v: string) => String(m.values![v]);
  const name = m.search!.param;
  if (m.absent !== undefined && allowed.includes(m.absent)) {
    // an absent element reads as `absent`, so only exclusion is exact
    const excluded = values.filter((v) => !allowed.includes(v));
    return excluded.length === 1
      ? narrow({ name, modifier: 'not', values: [fhir(excluded[0]!)] })
      : cannotNarrow;
  }
  return narrow({ name, values: allowed.map(fhir) });
}

/**
 * The value's first run before whitespace or a special character, when the
 * value starts with one: FHIR's default string search (case-insensitive
 * starts-with on each indexed part: the text, each given name, the family
 * name, the city) finds every field that starts with it.
 */
function leadingChunk(value: string): string | undefined {
  const [first] = value.split(chunkSeparators);
  return first ? [...first].slice(0, INDEXED_PREFIX).join('') : undefined;
}

/** `==`/`in` by FHIR's default string search: each value's leading chunk, starts-with on every indexed part. */
function startsWithPlan(m: FieldMapping, lookup: NormalizedLookup): SearchPlan {
  if (lookup.operands.length > MAX_CONTAINS_VALUES) return cannotNarrow;
  const chunks = lookup.operands.map((o) => leadingChunk(o.text));
  if (chunks.some((c) => c === undefined)) return cannotNarrow;
  return narrow({ name: m.search!.param, values: [...new Set(chunks as string[])] });
}

function stringPlan(
  m: FieldMapping,
  rule: OperatorRule,
  lookup: NormalizedLookup,
  support: SearchSupport,
): SearchPlan {
  if (!rule.string) return cannotNarrow;
  if (lookup.operands.length === 0) return noMatch;
  const param = m.search!.param;
  if (rule.string === 'whole') {
    const exact = support.exact.has(param)
      ? exactValues(
          lookup.operands.map((o) => o.text),
          m.type === 'HumanName',
        )
      : undefined;
    return exact
      ? narrow({ name: param, modifier: 'exact', values: exact })
      : startsWithPlan(m, lookup);
  }
  if (!support.contains.has(param)) return cannotNarrow;
  // a part of a value is in every match too; no server searches by more than it indexes
  const chunk = longestChunk(lookup.operands[0]!.text);
  if (chunk === undefined) return cannotNarrow;
  return narrow({
    name: param,
    modifier: 'contains',
    values: [[...chunk].slice(0, INDEXED_PREFIX).join('')],
  });
}

/** The string modifiers the lookups would use, per parameter: the ones whose support the server is asked. */
export function stringProbes(
  mapping: ResourceMapping,
  lookups: readonly NormalizedLookup[],
): StringProbe[] {
  const probes: StringProbe[] = [];
  for (const lookup of lookups) {
    const search = mapping.fields.get(lookup.field)?.search;
    const part = OPERATORS[lookup.operator].string;
    if (search?.type === 'string' && part && lookup.operands.length)
      probes.push({ param: search.param, modifier: part === 'part' ? 'contains' : 'exact' });
  }
  return probes;
}

function tokenPlan(name: string, rule: OperatorRule, values: readonly string[]): SearchPlan {
  if (!rule.token) return cannotNarrow;
  return values.length === 0 ? noMatch : narrow({ name, values: [...new Set(values)] });
}

/** The plan for one lookup on a server that evaluates `support`. */
export function planLookup(
  mapping: ResourceMapping,
  lookup: NormalizedLookup,
  support: SearchSupport,
): SearchPlan {
  const supported = support.params;
  const rule = OPERATORS[lookup.operator];
  if (lookup.field === 'id') {
    return tokenPlan('_id', rule, lookup.operands.map((o) => o.text).filter(isFhirId));
  }
  const m = mapping.fields.get(lookup.field);
  if (m && m === mapping.created && !m.search) {
    const bound = createdLowerBoundField(mapping);
    const times = operandTimes(lookup);
    if (!rule.createdLowerBound || !bound || !supported.has(bound.search!.param) || !times)
      return cannotNarrow;
    return datePlan(bound, 'lower', times);
  }
  if (!m?.search || !supported.has(m.search.param)) return cannotNarrow;
  if (m.type === 'code' || m.type === 'boolean') return enumPlan(m, lookup);
  switch (m.search.type) {
    case 'date': {
      const times = operandTimes(lookup);
      return times
        ? datePlan(m, rule.date, times, isDateElement(mapping.resourceType, m))
        : cannotNarrow;
    }
    case 'token':
      return tokenPlan(
        m.search.param,
        rule,
        lookup.operands.map((o) => o.text),
      );
    case 'string':
      return stringPlan(m, rule, lookup, support);
  }
}

/** All lookups → one search (parameters repeat for AND): `no-match` if any lookup can match nothing. */
export function planSearch(
  mapping: ResourceMapping,
  lookups: readonly NormalizedLookup[],
  support: SearchSupport,
): SearchPlan {
  const params: SearchParameter[] = [];
  const sent = new Set<string>();
  /** Per date parameter, the tightest bounds: servers take few per parameter (HAPI two on `_lastUpdated`). */
  const bounds = new Map<string, { ge?: SearchParameter; le?: SearchParameter }>();
  let substringScans = 0;
  for (const lookup of lookups) {
    const plan = planLookup(mapping, lookup, support);
    if (plan.kind === 'no-match') return plan;
    if (plan.kind !== 'narrow') continue;
    for (const param of plan.params) {
      if (param.prefix) {
        // one value each, same format per parameter (years clamped to 4 digits): they compare as text
        const b = bounds.get(param.name) ?? {};
        const held = b[param.prefix]?.values[0];
        const value = param.values[0]!;
        if (held === undefined || (param.prefix === 'ge' ? value > held : value < held))
          b[param.prefix] = param;
        bounds.set(param.name, b);
        continue;
      }
      const key = JSON.stringify(param);
      if (sent.has(key)) continue;
      if (param.modifier === 'contains' && ++substringScans > MAX_CONTAINS_PARAMS) continue;
      sent.add(key);
      params.push(param);
    }
  }
  for (const [name, { ge, le }] of bounds) params.push(...tightestBounds(mapping, name, ge, le));
  return params.length > 0 ? { kind: 'narrow', params } : cannotNarrow;
}

/**
 * A parameter's merged bounds; `ge d` and `le d` of one day on a FHIR `date`
 * element are sent as that day (`eq`, alone: every match holds exactly that
 * full date, date-elements.ts), which HAPI answers from its date index: the
 * same-day range took it 30 ms where `eq` took 8 ms at 100,000 (BENCHMARKS.md).
 */
function tightestBounds(
  mapping: ResourceMapping,
  name: string,
  ge: SearchParameter | undefined,
  le: SearchParameter | undefined,
): SearchParameter[] {
  const day = ge?.values[0];
  const onDateElement = [...mapping.fields.values()].some(
    (m) => m.search?.param === name && isDateElement(mapping.resourceType, m),
  );
  if (day !== undefined && day === le?.values[0] && onDateElement) return [{ name, values: [day] }];
  return [...(ge ? [ge] : []), ...(le ? [le] : [])];
}
