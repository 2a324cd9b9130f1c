/**
 * Owns the one shape of a FHIR search: `SearchRequest` carries every
 * parameter the backend sends (a lookup's parameters, the scope tag, the
 * keyset bound, sort, page size, offset, elements), and `searchParameters`
 * is the one place that formats them and escapes their values (FHIR search
 * escaping: `\` `,` `|` `$` get a `\`). Modelled on Medplum's `SearchRequest`
 * and `formatSearchQuery` (packages/core/src/search/search.ts), narrowed to
 * what this backend sends. Where each parameter comes from: search-plan.ts
 * (lookups), scope.ts (tag, page size), keyset-pages.ts (sort, bounds,
 * offset), capabilities.ts (modifier probes).
 */

/** One FHIR search parameter: `name[:modifier]=[prefix][system|]v1,…` (values OR-ed, unescaped here). */
export interface SearchParameter {
  name: string;
  modifier?: 'contains' | 'exact' | 'not';
  prefix?: 'ge' | 'le';
  /** A token's system: each value is sent as `system|value`. */
  system?: string;
  values: readonly string[];
}

/** A coding searched as a token (`system|code`): the scope tag. */
export interface TagCoding {
  system: string;
  code: string;
}

/** One search of one resource type, every parameter typed; `searchParameters` formats it. */
export interface SearchRequest {
  resourceType: string;
  /** AND-ed parameters (lookups, identifiers, modifier probes). */
  params?: readonly SearchParameter[];
  /** `_elements`: the elements asked for (a server may send more). */
  elements?: readonly string[];
  /** `_tag=system|code`: the scope tag. */
  tag?: TagCoding;
  /** `_lastUpdated`: a keyset bound (`ge`/`gt` an instant) or, without a prefix, that instant. */
  lastUpdated?: { prefix?: 'ge' | 'gt'; instant: string };
  /** `_sort`: ascending keys, the first deciding (`_lastUpdated`, then `_id` to order its ties). */
  sort?: readonly ('_lastUpdated' | '_id')[];
  /** `_count`: the page size asked for. */
  count?: number;
  /** `_offset` (HAPI answers `_offset=0` with one bounded query, see keyset-pages.ts). */
  offset?: number;
}

/** One `name=value` of a query, the value formatted and escaped (not yet percent-encoded). */
export type QueryParameter = readonly [name: string, value: string];

/** Escapes a search parameter value per FHIR (`\` `,` `|` `$` are prefixed with `\`). */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\,|$]/g, (c) => `\\${c}`);
}

function formatParameter(p: SearchParameter): QueryParameter {
  const system = p.system === undefined ? '' : `${escapeSearchValue(p.system)}|`;
  return [
    p.modifier ? `${p.name}:${p.modifier}` : p.name,
    (p.prefix ?? '') + p.values.map((v) => system + escapeSearchValue(v)).join(','),
  ];
}

/**
 * The request's `name=value` pairs, in this order: its parameters, `_elements`,
 * `_tag`, `_lastUpdated`, `_sort`, `_count`, `_offset`. Every value is escaped
 * here and nowhere else.
 */
export function searchParameters(request: SearchRequest): QueryParameter[] {
  const { params = [], elements, tag, lastUpdated, sort, count, offset } = request;
  const typed: SearchParameter[] = [...params];
  if (elements) typed.push({ name: '_elements', values: elements });
  if (tag) typed.push({ name: '_tag', system: tag.system, values: [tag.code] });
  if (lastUpdated)
    typed.push({
      name: '_lastUpdated',
      values: [(lastUpdated.prefix ?? '') + lastUpdated.instant],
    });
  if (sort) typed.push({ name: '_sort', values: sort });
  if (count !== undefined) typed.push({ name: '_count', values: [String(count)] });
  if (offset !== undefined) typed.push({ name: '_offset', values: [String(offset)] });
  return typed.map(formatParameter);
}

/** Percent-encodes a query component, keeping `:` readable (allowed in a query by RFC 3986). */
function encodeQueryComponent(text: string): string {
  return encodeURIComponent(text).replace(/%3A/gi, ':');
}

/** The request as a query string (no `?`): `searchParameters`, percent-encoded. */
export function formatSearchQuery(request: SearchRequest): string {
  return searchParameters(request)
    .map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`)
    .join('&');
}

/** The parameters alone as `name=value&…`, escaped but not percent-encoded: how explain shows them. */
export function describeParameters(params: readonly SearchParameter[]): string {
  return params
    .map(formatParameter)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
