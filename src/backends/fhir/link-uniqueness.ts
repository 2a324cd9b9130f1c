/**
 * Owns deciding how link uniqueness is kept against one FHIR server:
 *
 * - `server`: the server itself refuses a second resource holding a link
 *   identifier (HAPI with our unique SearchParameters, link-guarantee.ts), so a
 *   link is one versioned write that either lands or is refused, whatever
 *   other processes do and whenever one dies.
 * - `claims`: the server's conditional create is atomic (Medplum), so a claim
 *   resource per pair, created with `If-None-Exist`, names the one record that
 *   may hold it (link-claims.ts).
 * - `single-writer`: no such guarantee; uniqueness holds only among the links
 *   made through this one process (see docs/multi-process.md).
 *
 * `detect` (the default) asks the server: HAPI software in /metadata and both
 * SearchParameters present as these identifier systems need them. A positive
 * answer is kept; a negative one is asked again after a minute, so an install
 * (`healthcare-fhir check --install`) is picked up without a restart.
 */
import { ATOMIC_CONDITIONAL_CREATE, type ServerCapabilities } from './capabilities.js';
import type { FhirRestClient } from './fhir-rest.js';
import { isHapi } from './hapi.js';
import { checkLinkSearchParameters, type LinkSystems } from './link-guarantee.js';

export type LinkUniqueness = 'server' | 'claims' | 'single-writer';
/** `detect`: ask the server; `server`: the server is known to refuse duplicates; `claims`: its conditional create is known to be atomic; `single-writer`: never rely on it. */
export type LinkUniquenessOption = 'detect' | LinkUniqueness;

/*
 * ATOMIC_CONDITIONAL_CREATE: servers whose conditional create (`If-None-Exist`)
 * is atomic across processes: Medplum's `Repository.conditionalCreate` runs in
 * a SERIALIZABLE transaction "to ensure unique resource creation" (5.0.10;
 * races in test/integration/claims-server.test.ts).
 */
const RECHECK_ABSENT_AFTER_MS = 60_000;

export interface LinkGuaranteeFinding {
  uniqueness: LinkUniqueness;
  /** Why, in words without patient data (for `check`). */
  reason: string;
}

/** Asks the server whether it enforces unique links as these systems need (2–3 requests). */
export async function findLinkGuarantee(
  rest: FhirRestClient,
  capabilities: ServerCapabilities,
  systems: LinkSystems,
): Promise<LinkGuaranteeFinding> {
  const software = (await capabilities.software()).name;
  if (software && ATOMIC_CONDITIONAL_CREATE.test(software)) {
    return {
      uniqueness: 'claims',
      reason: `${software}'s conditional create is atomic (known by the software name in /metadata): a claim resource per pair, created with If-None-Exist, names the one record that may hold it`,
    };
  }
  // HAPI is the server known to enforce a SearchParameter carrying its sp-unique extension
  if (!isHapi(software)) {
    return {
      uniqueness: 'single-writer',
      reason: `the server (${software ?? 'software not named in /metadata'}) is not known to enforce unique SearchParameters`,
    };
  }
  const { missing } = await checkLinkSearchParameters(rest, systems);
  if (missing.length > 0) {
    return {
      uniqueness: 'single-writer',
      reason: `SearchParameter ${missing.map((sp) => sp.id).join(', ')} missing or different`,
    };
  }
  return {
    uniqueness: 'server',
    reason: `${software} holds the unique link SearchParameters`,
  };
}

export class LinkUniquenessMode {
  private found?: Promise<LinkUniqueness>;
  private foundAt = 0;

  constructor(
    private readonly option: LinkUniquenessOption,
    private readonly rest: FhirRestClient,
    private readonly capabilities: ServerCapabilities,
    private readonly systems: LinkSystems,
  ) {}

  /** The mode for the next link. */
  current(): Promise<LinkUniqueness> {
    if (this.option !== 'detect') return Promise.resolve(this.option);
    const stale = this.found !== undefined && Date.now() - this.foundAt > RECHECK_ABSENT_AFTER_MS;
    if (!this.found || stale) {
      const asking = findLinkGuarantee(this.rest, this.capabilities, this.systems).then(
        (f) => f.uniqueness,
      );
      this.found = asking;
      this.foundAt = Date.now();
      asking.then(
        (mode) => {
          if (mode !== 'single-writer') this.foundAt = Infinity; // kept: an install is not taken back by us
        },
        () => {
          if (this.found === asking) this.found = undefined; // ask again on the next link
        },
      );
    }
    return this.found;
  }
}
