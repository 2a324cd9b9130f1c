/**
 * Owns link claims: the unique link guarantee on a server whose conditional
 * create is atomic (Medplum runs `If-None-Exist` in a SERIALIZABLE
 * transaction, its `Repository.conditionalCreate`, "to ensure unique resource
 * creation"), where no unique index can be installed. One claim per pair and
 * resource type: a `Basic` resource whose identifier (system CLAIM_SYSTEM,
 * value a hash of type, system and value) is created with `If-None-Exist` on
 * that identifier, so exactly one exists, and whose `subject` names the
 * record that holds the pair (none: the pair is free). Claims are moved only
 * with `If-Match`, so two processes never both move one. How links.ts uses
 * them, and what a crash leaves: docs/multi-process.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { everyMatch } from './fhir-search.js';
import type { SearchParameter } from './search-request.js';

/** The identifier system of claim resources. */
export const CLAIM_SYSTEM = 'urn:healthcare-fhir:link-claim';
/** The identifier system of deletion claims (one per deleted record, kept). */
export const DELETION_SYSTEM = 'urn:healthcare-fhir:delete-claim';

/**
 * How long a claim naming a live record that does not hold the pair is left
 * to its linker (claimed, not yet written) before another linker may take it:
 * the repair time of a linker that died between claiming and writing.
 */
export const CLAIM_GRACE_MS = 60_000;

export type Claim = ResourceJson & { id: string };

/** The claim identifier's value for a pair on a resource type (a hash: no escaping needed in a token search). */
export function claimKey(type: string, system: string, value: string): string {
  return createHash('sha256')
    .update(JSON.stringify([type, system, value]))
    .digest('hex');
}

/** The search for a claim by its identifier (a condition of its create, or a search). */
const identifier = (system: string, value: string): SearchParameter => ({
  name: 'identifier',
  system,
  values: [value],
});

export class LinkClaims {
  constructor(
    private readonly rest: FhirRestClient,
    private readonly graceMs = CLAIM_GRACE_MS,
  ) {}

  /** The pair's claim: created naming `type/id` when there was none, else the one there is (1 request). */
  async claim(type: string, id: string, system: string, value: string): Promise<Claim> {
    const key = claimKey(type, system, value);
    const { resource } = await this.rest.createIfNoneExist(
      'Basic',
      {
        resourceType: 'Basic',
        identifier: [{ system: CLAIM_SYSTEM, value: key }],
        code: { coding: [{ system: 'urn:healthcare-fhir', code: 'link-claim' }] },
        subject: { reference: `${type}/${id}` },
      },
      [identifier(CLAIM_SYSTEM, key)],
    );
    return resource as Claim;
  }

  /** The claim as it is now, or `null` when it was deleted. */
  async read(claim: Claim): Promise<Claim | null> {
    return (await this.rest.read('Basic', claim.id)) as Claim | null;
  }

  /** The id of the `type` record the claim names, or `undefined` when it is free. */
  holderOf(claim: Claim, type: string): string | undefined {
    const reference = (claim.subject as { reference?: unknown } | undefined)?.reference;
    if (typeof reference !== 'string') return undefined;
    const [refType, id] = reference.split('/').slice(-2);
    return refType === type ? id : undefined;
  }

  /** Whether the claim was last written longer ago than the grace, by the server's clock. */
  outlivedGrace(claim: Claim): boolean {
    const written = Date.parse(claim.meta?.lastUpdated ?? '');
    const now = this.rest.serverNow() ?? Date.now();
    return Number.isNaN(written) || now - written > this.graceMs;
  }

  /**
   * Names `type/id` (or nobody, with `id` undefined) in the claim if it is
   * still the version read: the moved claim, or `null` when someone changed
   * (or deleted) it first.
   */
  async move(claim: Claim, type: string, id: string | undefined): Promise<Claim | null> {
    const next: Claim = structuredClone(claim);
    if (id === undefined) delete next.subject;
    else next.subject = { reference: `${type}/${id}` };
    const versionId = claim.meta?.versionId;
    if (!versionId) return null;
    const outcome = await this.rest.update('Basic', next, versionId);
    return outcome.kind === 'updated' ? (outcome.resource as Claim) : null;
  }

  /** Frees the pair's claim if it names `type/id` (after an unlink, or a link whose record is gone). */
  async release(type: string, id: string, system: string, value: string): Promise<void> {
    const key = claimKey(type, system, value);
    const [claim] = (await everyMatch(
      this.rest.searchPages({ resourceType: 'Basic', params: [identifier(CLAIM_SYSTEM, key)] }),
    )) as Claim[];
    if (claim && this.holderOf(claim, type) === id) await this.move(claim, type, undefined);
  }
}

/**
 * Claims the deletion of `type/id` for this call: true for exactly one caller
 * among any number of processes (the one whose conditional create wrote the
 * claim, known by a nonce it carries, also when its answer was lost and the
 * POST was sent again). Only that deleter answers `true`; the others still
 * send the DELETE (completing one whose deleter died) and answer `false`.
 */
export async function claimDeletion(
  rest: FhirRestClient,
  type: string,
  id: string,
): Promise<boolean> {
  const nonce = randomUUID();
  const key = `${type}/${id}`;
  const { resource } = await rest.createIfNoneExist(
    'Basic',
    {
      resourceType: 'Basic',
      identifier: [{ system: DELETION_SYSTEM, value: key }],
      code: { coding: [{ system: 'urn:healthcare-fhir', code: 'delete-claim' }], text: nonce },
    },
    [identifier(DELETION_SYSTEM, key)],
  );
  return (resource.code as { text?: unknown } | undefined)?.text === nonce;
}
