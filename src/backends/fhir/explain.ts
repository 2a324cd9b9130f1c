/**
 * Owns `FhirStorage#explain`: what this server supports (learned as a filter
 * would learn it), what the backend relies on, and for given lookups the
 * exact FHIR request a filter sends and what the adapter then decides. It
 * sends what a filter would send before its search (/metadata, `:contains`
 * probes), never the search itself.
 */
import type { Lookup } from '../../api/types.js';
import { validateLookups } from '../../api/validation.js';
import type { ServerCapabilities, TokenEscapes } from './capabilities.js';
import type { FhirRestClient } from './fhir-rest.js';
import type { ResourceMapping } from './resource-mapping.js';
import type { Scope } from './scope.js';
import { planLookup, planSearch, queryPairs, type SearchPlan } from './search-plan.js';

export interface LookupExplanation {
  /** The lookup as given. */
  lookup: Lookup;
  /** What the server is asked for this lookup (`name=Jo`), or why nothing. */
  server: string;
  /** What the adapter decides on every candidate. */
  adapter: string;
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
  /** Whether escaped token values (`\|`, `\$`) are unescaped: learned from link searches. */
  tokenEscapes: TokenEscapes;
  /** What the backend relies on, on this server. */
  reliesOn: string[];
  /** Per lookup: what the server narrows and what the adapter decides. */
  lookups: LookupExplanation[];
  /** The exact request(s) a filter with all the lookups sends (every `next` page is followed after the first). */
  requests: string[];
}

export interface ExplainParts {
  mapping: ResourceMapping;
  rest: FhirRestClient;
  scope: Scope;
  capabilities: ServerCapabilities;
}

function describePlan(plan: SearchPlan): string {
  switch (plan.kind) {
    case 'no-match':
      return 'nothing: no record can match, so no request is sent';
    case 'server-cannot-narrow':
      return 'nothing: every record in scope is a candidate';
    case 'narrow':
      return queryPairs(plan.params)
        .map(([k, v]) => `${k}=${v}`)
        .join('&');
  }
}

const formatValue = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : JSON.stringify(value);

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
  const support = await capabilities.searchSupport(type, stringParams);
  const searchParams = Object.fromEntries(
    searchFields.map((m) => [m.search!.param, support.params.has(m.search!.param)]),
  );
  const contains = Object.fromEntries(
    stringParams.map((p) => [p, support.contains.has(p)] as const),
  );

  const reliesOn = [
    'GET /metadata: the CapabilityStatement lists the search parameters used (unlisted ones are left to the adapter)',
    'Cache-Control: no-cache on every search: the server runs it anew instead of answering from a search cache',
    'If-Match on every update: a stale version is answered 409 or 412 (a lost race: read again, re-apply)',
    'next links are followed to the end (any form: _getpages, _cursor); Bundle.total is never read',
    '_tag searches, when a scope tag is configured',
  ];
  for (const [param, works] of Object.entries(contains))
    reliesOn.push(
      works
        ? `${param}:contains (probed: evaluated) for ==, in and LIKE`
        : `${param}: the default string search, starts-with (probed: :contains refused), for == and in; LIKE is the adapter's`,
    );
  if (mapping.model.linkable)
    reliesOn.push(
      capabilities.tokenEscapes === 'works'
        ? 'identifier=system|value for links; escaped values (\\| \\$) shown to be unescaped'
        : capabilities.tokenEscapes === 'broken'
          ? 'identifier=system| (the whole source, filtered here) for link ids holding \\ , | $: this server does not unescape them'
          : 'identifier=system|value for links; for ids holding \\ , | $ a miss is checked by identifier=system| until the server shows it unescapes them',
    );

  const explained = normalized.map((lookup, i) => ({
    lookup: lookups[i]!,
    server: describePlan(planLookup(mapping, lookup, support)),
    adapter: `keeps exactly the records whose ${lookup.field} ${lookup.operator} ${formatValue(lookups[i]![2])}`,
  }));
  const plan = planSearch(mapping, normalized, support);
  const requests =
    plan.kind === 'no-match'
      ? []
      : [
          rest.describeSearch(
            type,
            scope.firstPageQuery(plan.kind === 'narrow' ? plan.params : []),
          ),
        ];
  const software = await capabilities.software();
  return {
    baseUrl: rest.baseUrl,
    server: software,
    model: mapping.model.name,
    resourceType: type,
    searchParams,
    contains,
    tokenEscapes: capabilities.tokenEscapes,
    reliesOn,
    lookups: explained,
    requests,
  };
}
