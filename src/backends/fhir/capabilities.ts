/**
 * Owns what the server can do, learned rather than configured: the search
 * parameters its CapabilityStatement (/metadata) lists per resource type,
 * whether the `:exact` and `:contains` modifiers work on a parameter (one
 * cheap probe each, since a statement cannot say: stock HAPI lists the
 * parameter and answers `405 HAPI-1258` to `:contains`), and whether escaped token values
 * (`\|`, `\$`, `\,`, `\\`) are unescaped (learned from searches whose answer
 * is known). Each is asked once per storage and asked again after a failure.
 */
import { BadStorageResponseError } from '../../api/errors.js';
import type { FhirRestClient } from './fhir-rest.js';
import { isHapi } from './hapi.js';

/** Parameters every FHIR server supports on every resource type. */
const COMMON_SEARCH_PARAMS = ['_id', '_lastUpdated', '_tag'];

/** The value the modifier probes search for: matches nothing, asks nothing of the data. */
export const MODIFIER_PROBE_VALUE = 'healthcare-fhir-probe';

/** The string modifiers the plan may use: `:exact` (an index serves it) for ==/in, `:contains` (a scan) for LIKE. */
export type StringModifier = 'contains' | 'exact';
/** One modifier on one string parameter whose support a lookup needs. */
export interface StringProbe {
  param: string;
  modifier: StringModifier;
}

interface CapabilityRest {
  resource?: { type?: string; searchParam?: { name?: string }[] }[];
}
interface Statement {
  software?: { name?: string; version?: string };
  fhirVersion?: string;
  rest?: CapabilityRest[];
}

/** What the server evaluates for one resource type, as the search plan needs it. */
export interface SearchSupport {
  /** Search parameters the server lists (plus `_id`, `_lastUpdated`, `_tag`). */
  params: ReadonlySet<string>;
  /** String parameters on which `:contains` answered 200. */
  contains: ReadonlySet<string>;
  /** String parameters on which `:exact` answered 200. */
  exact: ReadonlySet<string>;
}

/**
 * How a DELETE's answer reads: `tells` (HAPI: its OperationOutcome says
 * whether something was deleted, `SUCCESSFUL_DELETE` vs `…_ALREADY_DELETED`/
 * `…_NOT_FOUND`), so one round trip decides; `read-first` (any other server:
 * FHIR lets a DELETE of a missing or deleted resource answer 200 or 204, and
 * Medplum does), so a read decides, then a DELETE with `If-Match` (racing
 * deleters: at most one `true` where the server honours it);
 * `claimed` (a server whose conditional create is atomic: Medplum, which
 * ignores `If-Match` on DELETE): a read, a deletion claim only one racer
 * creates (link-claims.ts), then the DELETE.
 */
export type DeleteAnswers = 'tells' | 'read-first' | 'claimed';
/** The `deleteAnswers` option: `detect` (default) asks /metadata; the others are taken as given. */
export type DeleteAnswersOption = 'detect' | DeleteAnswers;

/** The `deleteAnswers` option, checked. */
export function checkDeleteAnswers(value: unknown): DeleteAnswersOption {
  const mode = value ?? 'detect';
  if (mode !== 'detect' && mode !== 'tells' && mode !== 'read-first' && mode !== 'claimed')
    throw new TypeError(
      "FhirStorage: deleteAnswers must be 'detect', 'tells', 'read-first' or 'claimed'",
    );
  return mode;
}

/** Servers whose conditional create is atomic (see link-uniqueness.ts). */
export const ATOMIC_CONDITIONAL_CREATE = /\bmedplum\b/i;

/** Whether the server unescapes `\|` `\$` `\,` `\\` in token values: unknown until a search shows it. */
export type TokenEscapes = 'unknown' | 'works' | 'broken';

export class ServerCapabilities {
  private statement?: Promise<Statement>;
  private readonly modifierProbes = new Map<string, Promise<boolean>>();
  tokenEscapes: TokenEscapes = 'unknown';

  constructor(
    private readonly rest: FhirRestClient,
    private readonly deletes: DeleteAnswersOption = 'detect',
  ) {}

  private capabilityStatement(): Promise<Statement> {
    this.statement ??= (this.rest.capabilities() as Promise<Statement>).catch((error: unknown) => {
      this.statement = undefined;
      throw error;
    });
    return this.statement;
  }

  /** The server's software name and version and FHIR version, as its statement says. */
  async software(): Promise<{ name?: string; version?: string; fhirVersion?: string }> {
    const statement = await this.capabilityStatement();
    const name = statement.software?.name;
    const version = statement.software?.version;
    return {
      name: typeof name === 'string' ? name : undefined,
      version: typeof version === 'string' ? version : undefined,
      fhirVersion: typeof statement.fhirVersion === 'string' ? statement.fhirVersion : undefined,
    };
  }

  /** How a DELETE's answer reads (see `DeleteAnswers`): by the software name in /metadata; unknown or unnamed servers are `read-first`. */
  async deleteAnswers(): Promise<DeleteAnswers> {
    if (this.deletes !== 'detect') return this.deletes;
    const { name } = await this.software();
    // HAPI's DELETE answer tells "deleted now" from "was already gone"
    if (isHapi(name)) return 'tells';
    return name !== undefined && ATOMIC_CONDITIONAL_CREATE.test(name) ? 'claimed' : 'read-first';
  }

  /** The search parameters the server lists for `resourceType`. */
  async searchParams(resourceType: string): Promise<ReadonlySet<string>> {
    const names = new Set(COMMON_SEARCH_PARAMS);
    for (const rest of (await this.capabilityStatement()).rest ?? []) {
      for (const resource of rest?.resource ?? []) {
        if (resource?.type !== resourceType) continue;
        for (const param of resource.searchParam ?? [])
          if (typeof param?.name === 'string') names.add(param.name);
      }
    }
    return names;
  }

  /**
   * Whether `[type]?[param]:[modifier]=…` is evaluated: 200 yes; a 4xx/501
   * refusal (HAPI: 405 HAPI-1258 for `:contains`; others 400 or 501) no. An
   * unreachable or failing server is an error, not an answer, and is asked
   * again next time.
   */
  modifierWorks(resourceType: string, param: string, modifier: StringModifier): Promise<boolean> {
    const key = `${resourceType}?${param}:${modifier}`;
    let probe = this.modifierProbes.get(key);
    if (!probe) {
      probe = this.rest
        .probeSearch({
          resourceType,
          params: [{ name: param, modifier, values: [MODIFIER_PROBE_VALUE] }],
          count: 1,
        })
        .then((status) => {
          if (status === 200) return true;
          if ((status >= 400 && status < 500 && status !== 401 && status !== 403) || status === 501)
            return false;
          throw new BadStorageResponseError(
            `the FHIR server answered the :${modifier} probe with ${status}`,
            status,
          );
        });
      probe.catch(() => this.modifierProbes.delete(key));
      this.modifierProbes.set(key, probe);
    }
    return probe;
  }

  /** The support the plan needs for `resourceType`; probes only the `wanted` modifiers on parameters the server lists. */
  async searchSupport(
    resourceType: string,
    wanted: readonly StringProbe[],
  ): Promise<SearchSupport> {
    const params = await this.searchParams(resourceType);
    const support = { params, contains: new Set<string>(), exact: new Set<string>() };
    const asked = new Set<string>();
    for (const { param, modifier } of wanted) {
      if (!params.has(param) || asked.has(`${param}:${modifier}`)) continue;
      asked.add(`${param}:${modifier}`);
      if (await this.modifierWorks(resourceType, param, modifier)) support[modifier].add(param);
    }
    return support;
  }

  /** Records what a token search with an escaped value showed (see links.ts). */
  learnTokenEscapes(found: boolean): void {
    if (this.tokenEscapes !== 'broken') this.tokenEscapes = found ? 'works' : 'broken';
  }
}
