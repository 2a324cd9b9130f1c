/**
 * Owns `FhirStorage#explain`: what this server supports (learned as a filter
 * would learn it), what the backend relies on, and for given lookups the
 * exact FHIR request a filter sends, whether the server can serve it from an
 * index or must scan, and what the adapter then decides. It sends what a
 * filter would send before its search (/metadata, `:exact` and `:contains`
 * probes), never the search itself.
 */
import type { Lookup } from '../../api/types.js';
import { validateLookups, type NormalizedLookup } from '../../api/validation.js';
import type { SearchSupport, ServerCapabilities, TokenEscapes } from './capabilities.js';
import type { FhirRestClient } from './fhir-rest.js';
import type { ResourceMapping } from './resource-mapping.js';
import type { Scope } from './scope.js';
import { describeSearch } from './fhir-search.js';
import { planLookup, planSearch, type SearchPlan } from './search-plan.js';
import { describeParameters } from './search-request.js';

export interface LookupExplanation {
  /** The lookup as given. */
  lookup: Lookup;
  /** What the server is asked for this lookup (`name=Jo`), or why nothing. */
  server: string;
  /** How the server finds the candidates: from an index, by a scan, or not at all (no request). */
  served: Serving;
  /** What the adapter decides on every candidate. */
  adapter: string;
  /**
   * Name parts the server is also asked for, beyond the lookup's values
   * (`==`/`in` on a HumanName: how records without name.text are found):
   * every record holding one is read, however many share it.
   */
  alsoReads: string[];
}

export interface FhirExplanation {
  baseUrl: string;
  /** From the CapabilityStatement. */
  server: { name?: string; version?: string; fhirVersion?: string };
  model: string;
  resourceType: string;
  /** The search parameters the mapping uses → whether the server lists them. */
  searchParams: Record<string, boolean>;
  /** The string parameters the mapping uses → whether `:contains` works there (probed). */
  contains: Record<string, boolean>;
  /** The string parameters the mapping uses → whether `:exact` works there (probed). */
  exact: Record<string, boolean>;
  /** Whether escaped token values (`\|`, `\$`) are unescaped: learned from link searches. */
  tokenEscapes: TokenEscapes;
  /** What the backend relies on, on this server. */
  reliesOn: string[];
  /** Per lookup: what the server narrows and what the adapter decides. */
  lookups: LookupExplanation[];
  /** One line per lookup the server must scan for: its cost grows with the server's records, not the answer. */
  warnings: string[];
  /** The exact request(s) a filter with all the lookups sends (every `next` page is followed after the first). */
  requests: string[];
}

export interface ExplainParts {
  mapping: ResourceMapping;
  rest: FhirRestClient;
  scope: Scope;
  capabilities: ServerCapabilities;
}

/** How the server finds a lookup's candidates. */
export type Serving = 'index' | 'scan' | 'none';

/**
 * `index`: every parameter is one the server answers from an index (`:exact`
 * hashes, starts-with on the normalized value, tokens, dates); `scan`: a
 * `:contains` substring scan, or nothing sent, so every record in scope is read.
 */
export function planServing(plan: SearchPlan): Serving {
  if (plan.kind === 'no-match') return 'none';
  if (plan.kind === 'server-cannot-narrow') return 'scan';
  return plan.params.some((p) => p.modifier === 'contains') ? 'scan' : 'index';
}

function scanWarning(lookup: Lookup, plan: SearchPlan): string {
  const what = `${lookup[0]} ${lookup[1]}`;
  return plan.kind === 'narrow'
    ? `${what}: a :contains substring scan of every indexed value on the server (no index serves it); its time grows with the server, not the answer`
    : `${what}: the server cannot narrow it here, so the adapter checks every record the other lookups select (every record in scope when none does)`;
}

function describePlan(plan: SearchPlan): string {
  switch (plan.kind) {
    case 'no-match':
      return 'nothing: no record can match, so no request is sent';
    case 'server-cannot-narrow':
      return 'nothing: every record in scope is a candidate';
    case 'narrow':
      return describeParameters(plan.params);
  }
}

/** What `==`/`in` and LIKE on one string parameter rely on, as probed. */
function stringReliance(mapping: ResourceMapping, param: string, support: SearchSupport): string {
  const humanName = [...mapping.fields.values()].some(
    (m) => m.search?.param === param && m.type === 'HumanName',
  );
  const whole = support.exact.has(param)
    ? humanName
      ? `${param}:exact (probed: evaluated) for == and in, from the exact-value index: the value, and each part after a space for records without name.text (so it also reads everyone whose name part equals the value's last word)`
      : `${param}:exact (probed: evaluated) for == and in, from the exact-value index`
    : `${param}: :exact refused (probed), so == and in use the default string search (starts-with on the value's first word, index-served but wide)`;
  const part = support.contains.has(param)
    ? `${param}:contains (probed: evaluated) for LIKE: a substring scan no index serves`
    : `${param}: :contains refused (probed), so LIKE is the adapter's (every record in scope is read)`;
  return `${whole}; ${part}`;
}

const formatValue = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : JSON.stringify(value);

/** What the backend relies on, on this server, for the mapping's string parameters and links. */
function reliance(
  mapping: ResourceMapping,
  stringParams: readonly string[],
  support: SearchSupport,
  tokenEscapes: TokenEscapes,
): string[] {
  const reliesOn = [
    'GET /metadata: the CapabilityStatement lists the search parameters used (unlisted ones are left to the adapter)',
    'Cache-Control: no-cache on every search: the server runs it anew instead of answering from a search cache',
    'If-Match on every update: a stale version is answered 409 or 412 (a lost race: read again, re-apply)',
    'next links are followed to the end (any form: _getpages, _cursor); Bundle.total is never read',
    '_tag searches, when a scope tag is configured',
  ];
  for (const param of stringParams) reliesOn.push(stringReliance(mapping, param, support));
  if (mapping.model.linkable)
    reliesOn.push(
      tokenEscapes === 'works'
        ? 'identifier=system|value for links; escaped values (\\| \\$) shown to be unescaped'
        : tokenEscapes === 'broken'
          ? 'identifier=system| (the whole source, filtered here) for link ids holding \\ , | $: this server does not unescape them'
          : 'identifier=system|value for links; for ids holding \\ , | $ a miss is checked by identifier=system| until the server shows it unescapes them',
    );
  return reliesOn;
}

/** The exact values a HumanName lookup's plan sends besides the lookup's own (name-parts.ts). */
function alsoReads(mapping: ResourceMapping, lookup: NormalizedLookup, plan: SearchPlan): string[] {
  if (plan.kind !== 'narrow' || mapping.fields.get(lookup.field)?.type !== 'HumanName') return [];
  const own = new Set(lookup.operands.map((o) => o.text));
  return plan.params
    .filter((p) => p.modifier === 'exact')
    .flatMap((p) => p.values)
    .filter((v) => !own.has(v));
}

/** Per lookup: what the server is asked and how it serves it; a warning for each scan. */
function explainEach(
  mapping: ResourceMapping,
  lookups: readonly Lookup[],
  normalized: readonly NormalizedLookup[],
  support: SearchSupport,
): { explained: LookupExplanation[]; warnings: string[] } {
  const warnings: string[] = [];
  const explained = normalized.map((lookup, i) => {
    const lookupPlan = planLookup(mapping, lookup, support);
    const served = planServing(lookupPlan);
    if (served === 'scan') warnings.push(scanWarning(lookups[i]!, lookupPlan));
    return {
      lookup: lookups[i]!,
      server: describePlan(lookupPlan),
      served,
      adapter: `keeps exactly the records whose ${lookup.field} ${lookup.operator} ${formatValue(lookups[i]![2])}`,
      alsoReads: alsoReads(mapping, lookup, lookupPlan),
    };
  });
  return { explained, warnings };
}

export async function explainLookups(
  { mapping, rest, scope, capabilities }: ExplainParts,
  lookups: readonly Lookup[],
): Promise<FhirExplanation> {
  const normalized = validateLookups(mapping.model, lookups);
  const type = mapping.resourceType;
  const searchFields = [...mapping.fields.values()].filter((m) => m.search);
  const stringParams = searchFields
    .filter((m) => m.search!.type === 'string')
    .map((m) => m.search!.param);
  const support = await capabilities.searchSupport(
    type,
    stringParams.flatMap((param) => [
      { param, modifier: 'exact' as const },
      { param, modifier: 'contains' as const },
    ]),
  );
  const { explained, warnings } = explainEach(mapping, lookups, normalized, support);
  const plan = planSearch(mapping, normalized, support);
  const search = scope.request(type, plan.kind === 'narrow' ? plan.params : []);
  return {
    baseUrl: rest.baseUrl,
    server: await capabilities.software(),
    model: mapping.model.name,
    resourceType: type,
    searchParams: Object.fromEntries(
      searchFields.map((m) => [m.search!.param, support.params.has(m.search!.param)]),
    ),
    contains: Object.fromEntries(stringParams.map((p) => [p, support.contains.has(p)])),
    exact: Object.fromEntries(stringParams.map((p) => [p, support.exact.has(p)])),
    tokenEscapes: capabilities.tokenEscapes,
    reliesOn: reliance(mapping, stringParams, support, capabilities.tokenEscapes),
    lookups: explained,
    warnings,
    requests:
      plan.kind === 'no-match' ? [] : [describeSearch(rest.baseUrl, scope.firstPage(search))],
  };
}
