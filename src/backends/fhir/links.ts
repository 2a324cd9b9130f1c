/**
 * Owns links as FHIR: a link (sourceId, sourceName) is an `identifier` entry
 * whose system stands for the source name (a configured URI, or a reversible
 * `urn:healthcare-fhir:source:<name>`), and keeping a pair on at most one
 * record, in the mode link-uniqueness.ts decides:
 *
 * - `server`: GET, then one `If-Match` PUT adding the identifier. The server's
 *   unique index refuses it (409) when another record holds the pair; only a
 *   409 makes us search who holds it (a stale version is retried). 2 round
 *   trips, 3 when the race is lost; one write, so a crash cannot split a pair.
 * - `claims`: the pair's claim (link-claims.ts, a conditional create the server
 *   runs atomically) names the one record that may hold it; then GET + If-Match
 *   PUT, and a read of the claim to confirm it still names us. 4 round trips.
 * - `single-writer`: search → If-Match write → re-check → undo, serialised per
 *   pair in this process; correct with one writer process only.
 *
 * Unlink is GET + If-Match PUT in both modes. Nothing here is patient-only:
 * any model whose spec is `linkable` gets the same store.
 */
import type { Identifier } from 'fhir/r4.js';
import type { LinkStore, StoredRecord } from '../../api/record-store.js';
import type { PatientLink } from '../../api/types.js';
import { validateId, validateSourcePair } from '../../api/validation.js';
import type { ServerCapabilities } from './capabilities.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { isFhirId } from './fhir-id.js';
import { everyMatch } from './fhir-search.js';
import { LinkClaims, type Claim } from './link-claims.js';
import { DEFAULT_SYSTEM_BASE } from './link-guarantee.js';
import type { LinkUniquenessMode } from './link-uniqueness.js';
import { toRecord, type ResourceMapping } from './resource-mapping.js';
import type { Scope } from './scope.js';
import { KeyedMutex, REFUSED, type VersionedWriter } from './versioned-writes.js';
import { retrying, type Attempted } from '../../transport/retry-loop.js';

/** Source names ↔ identifier systems. */
export class IdentifierSystems {
  private readonly names: ReadonlyMap<string, string>;

  constructor(
    private readonly systems: ReadonlyMap<string, string>,
    private readonly base = DEFAULT_SYSTEM_BASE,
  ) {
    this.names = new Map([...systems].map(([name, system]) => [system, name]));
  }

  systemFor(sourceName: string): string {
    return this.systems.get(sourceName) ?? `${this.base}${encodeURIComponent(sourceName)}`;
  }

  /** The source name a system stands for, or `undefined` (an identifier someone else added). */
  sourceNameFor(system: unknown): string | undefined {
    if (typeof system !== 'string') return undefined;
    const configured = this.names.get(system);
    if (configured !== undefined) return configured;
    if (!system.startsWith(this.base)) return undefined;
    const encoded = system.slice(this.base.length);
    try {
      const name = decodeURIComponent(encoded);
      return encodeURIComponent(name) === encoded && !this.systems.has(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }
}

const isLink =
  (system: string, value: string) =>
  (identifier: Identifier | undefined): boolean =>
    identifier?.system === system && identifier?.value === value;

/** Token values a server must unescape to find (FHIR escapes `\\ , | $`). */
const needsEscape = /[\\,|$]/;

const holds = (resource: ResourceJson, system: string, value: string): boolean =>
  (resource.identifier ?? []).some(isLink(system, value));

/** The mutation adding the link identifier; `added()` says whether the resource lacked it. */
function addingLink(system: string, value: string) {
  let added = false;
  return {
    mutate: (resource: ResourceJson, afterLostAnswer: boolean): void => {
      if (holds(resource, system, value)) {
        // already there: ours only if our previous attempt's PUT landed unseen
        added &&= afterLostAnswer;
        return;
      }
      added = true;
      (resource.identifier ??= []).push({ system, value });
    },
    added: () => added,
  };
}

export class FhirLinkStore implements LinkStore {
  private readonly pairs = new KeyedMutex();
  private readonly claims: LinkClaims;

  constructor(
    private readonly mapping: ResourceMapping,
    private readonly rest: FhirRestClient,
    private readonly scope: Scope,
    private readonly writer: VersionedWriter,
    private readonly systems: IdentifierSystems,
    private readonly capabilities: ServerCapabilities,
    private readonly uniqueness: LinkUniquenessMode,
  ) {
    this.claims = new LinkClaims(rest);
  }

  /**
   * The resources in our scope holding the identifier: one
   * `identifier=system|value` search. A value that needs escaping (`\ | $ ,`)
   * is found only by a server that unescapes it (Helios 0.2.7 does not): until
   * a search has shown that this server does, a miss is checked by
   * `identifier=system|` (every identifier of the system, filtered here), and
   * what that shows is learned.
   */
  private async holders(system: string, value: string): Promise<ResourceJson[]> {
    const search = async (values: string[]) =>
      (
        await this.scope.search(
          this.scope.request(this.mapping.resourceType, [{ name: 'identifier', system, values }]),
        )
      ).filter((resource) => holds(resource, system, value));
    const escaped = needsEscape.test(value);
    if (escaped && this.capabilities.tokenEscapes === 'broken') return search(['']);
    const found = await search([value]);
    if (!escaped || found.length > 0 || this.capabilities.tokenEscapes === 'works') {
      if (escaped && found.length > 0) this.capabilities.learnTokenEscapes(true);
      return found;
    }
    const bySystem = await search(['']);
    if (bySystem.length > 0) this.capabilities.learnTokenEscapes(false);
    return bySystem;
  }

  async getLinked(sourceId: string, sourceName: string): Promise<StoredRecord | null> {
    const [value, name] = validateSourcePair(sourceId, sourceName);
    const [found] = await this.holders(this.systems.systemFor(name), value);
    return found ? toRecord(this.mapping, found) : null;
  }

  async link(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const [value, name] = validateSourcePair(sourceId, sourceName);
    if (!isFhirId(validateId(id))) return false;
    const system = this.systems.systemFor(name);
    // one attempt per pair at a time in this process: saves round trips in either mode
    return this.pairs.run(JSON.stringify([system, value]), async () => {
      const mode = await this.uniqueness.current();
      if (mode === 'server') return this.linkGuarded(id, system, value);
      if (mode === 'claims') return this.linkClaimed(id, system, value);
      return this.linkSingleWriter(id, system, value);
    });
  }

  /**
   * The pair's claim decides (link-claims.ts): taken (or found naming us),
   * then the identifier written, then the claim read again; a claim moved away
   * meanwhile (a taker after the grace) undoes our write. A claim moved or
   * changed under us is looked at again, a few times.
   */
  private async linkClaimed(id: string, system: string, value: string): Promise<boolean> {
    const type = this.mapping.resourceType;
    const tryOnce = async (): Promise<Attempted<boolean, 'claim changed'>> => {
      let claim = await this.claims.claim(type, id, system, value);
      const holder = this.claims.holderOf(claim, type);
      if (holder !== id) {
        const taken = await this.takeClaim(claim, holder, id, system, value);
        if (taken === 'held') return { done: false };
        if (!taken) return { failed: 'claim changed', waitMs: 0 };
        claim = taken;
      }
      const adding = addingLink(system, value);
      const stored = await this.writer.modify(type, id, adding.mutate);
      if (!stored) {
        await this.claims.release(type, id, system, value); // our record is gone: free the pair
        return { done: false };
      }
      const now = await this.claims.read(claim);
      if (!now || this.claims.holderOf(now, type) !== id) {
        if (adding.added()) await this.remove(id, system, value);
        return { done: false };
      }
      return { done: adding.added() };
    };
    // a claim that changed under us is looked at again at once, a few times
    return retrying(tryOnce, {
      budget: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 0 },
      giveUp: () => false,
    });
  }

  /**
   * Moves a claim naming another record (or nobody) to `id`: `held` when that
   * record holds the pair, or may still be writing it (a live record, the
   * claim younger than the grace); `null` when the claim changed first. After
   * the move the previous holder is read again: a write of its linker that
   * landed just before the move keeps the pair there (the claim goes back).
   */
  private async takeClaim(
    claim: Claim,
    holder: string | undefined,
    id: string,
    system: string,
    value: string,
  ): Promise<Claim | 'held' | null> {
    const type = this.mapping.resourceType;
    if (holder !== undefined) {
      const current = await this.rest.read(type, holder);
      if (current && (holds(current, system, value) || !this.claims.outlivedGrace(claim)))
        return 'held';
    }
    const moved = await this.claims.move(claim, type, id);
    if (!moved || holder === undefined) return moved;
    const again = await this.rest.read(type, holder);
    if (again && holds(again, system, value)) {
      await this.claims.move(moved, type, holder);
      return 'held';
    }
    return moved;
  }

  /** The server refuses a second holder: one versioned write decides. */
  private async linkGuarded(id: string, system: string, value: string): Promise<boolean> {
    const adding = addingLink(system, value);
    const stored = await this.writer.modifyUnlessRefused(
      this.mapping.resourceType,
      id,
      adding.mutate,
      // a 409/412: held elsewhere (the unique index) → refused; else a stale version → retry.
      // Searched without the scope tag: a holder outside our scope holds the pair all the same.
      async () => !(await this.heldAnywhere(system, value)),
    );
    return stored !== REFUSED && stored !== null && adding.added();
  }

  /** Whether any resource of our type holds the identifier, in our scope or not (one search). */
  private async heldAnywhere(system: string, value: string): Promise<boolean> {
    const found = await everyMatch(
      this.rest.searchPages({
        resourceType: this.mapping.resourceType,
        params: [{ name: 'identifier', system, values: [value] }],
      }),
    );
    return found.some((resource) => holds(resource, system, value));
  }

  /** No server guarantee: check → write → re-check → undo (one writer process). */
  private async linkSingleWriter(id: string, system: string, value: string): Promise<boolean> {
    if ((await this.holders(system, value)).length > 0) return false;
    const adding = addingLink(system, value);
    const stored = await this.writer.modify(this.mapping.resourceType, id, adding.mutate);
    if (!stored || !adding.added()) return false;
    // another process may have linked the pair meanwhile: if so, take ours back
    const holders = await this.holders(system, value);
    if (holders.some((h) => h.id !== id)) {
      await this.remove(id, system, value);
      return false;
    }
    return true;
  }

  async unlink(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const [value, name] = validateSourcePair(sourceId, sourceName);
    if (!isFhirId(validateId(id))) return false;
    const system = this.systems.systemFor(name);
    const removed = await this.remove(id, system, value);
    // the pair is free again (a crash before this: the next link takes the claim after the grace)
    if (removed && (await this.uniqueness.current()) === 'claims')
      await this.claims.release(this.mapping.resourceType, id, system, value);
    return removed;
  }

  private async remove(id: string, system: string, value: string): Promise<boolean> {
    let removed = false;
    const stored = await this.writer.modify(
      this.mapping.resourceType,
      id,
      (resource, afterLostAnswer) => {
        const list = resource.identifier ?? [];
        const at = list.findIndex(isLink(system, value));
        // already gone: our removal only if our previous attempt's PUT landed unseen
        removed = at >= 0 || (removed && afterLostAnswer);
        if (at < 0) return;
        list.splice(at, 1);
        if (list.length === 0) delete resource.identifier;
      },
    );
    return stored !== null && removed;
  }

  async links(id: string): Promise<PatientLink[] | null> {
    if (!isFhirId(validateId(id))) return null;
    const resource = await this.rest.read(this.mapping.resourceType, id);
    if (!resource) return null;
    const links: PatientLink[] = [];
    for (const identifier of resource.identifier ?? []) {
      const name = this.systems.sourceNameFor(identifier?.system);
      if (name !== undefined && typeof identifier.value === 'string')
        links.push({ source_id: identifier.value, source_name: name });
    }
    return links;
  }
}
