/**
 * Owns changing a resource safely when other writers exist: read, change,
 * PUT with `If-Match` on the version read; on a lost race (409/412) read again
 * and re-apply, up to a retry budget (the transport's retry loop runs the
 * tries and the waits: retry-loop.ts). Writes to one resource are also
 * serialised within this process, which saves most of those round trips.
 */
import { isDeepStrictEqual } from 'node:util';
import { BadStorageResponseError, ConflictError } from '../../api/errors.js';
import type { DeleteAnswers } from './capabilities.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { claimDeletion } from './link-claims.js';
import { retrying, type Attempted, type RetryNeeds } from '../../transport/retry-loop.js';

/** Serialises async work per key, within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** A short pause before trying again after a lost race: the other writer is done in a round trip. */
const LOST_RACE_DELAYS = { baseDelayMs: 10, maxDelayMs: 200 } as const;

/** A write that lost a race: what the server answered (409/412), to report the retry with. */
interface LostRace {
  interaction: 'update' | 'delete';
  status: number;
}

/** The server refused a change for good (e.g. a unique index), see `modifyUnlessRefused`. */
export const REFUSED = Symbol('refused by the server');

/**
 * Changes a copy of the current resource in place. `afterLostAnswer`: the
 * previous attempt's PUT may have landed unseen (its answer was lost, the resend
 * met a newer version), so finding the change already made can be our own doing.
 */
export type Mutation = (resource: ResourceJson, afterLostAnswer: boolean) => void;

export class VersionedWriter {
  private readonly perResource = new KeyedMutex();

  constructor(
    private readonly rest: FhirRestClient,
    /** Lost races re-read and re-applied before `ConflictError`. */
    private readonly maxRetries: number,
    /** Runs on every version about to be written (scope tag, frozen created_date). */
    private readonly beforeWrite: (current: ResourceJson, next: ResourceJson) => void,
  ) {}

  /**
   * Deletes within the same per-resource order as changes: true only when
   * the resource was there and this call deleted it. `answers` (capabilities.ts):
   * `tells` sends the DELETE alone; `read-first` reads first (missing: false,
   * no DELETE) and sends the DELETE with `If-Match` on the version read;
   * `claimed` reads, claims the deletion (only one racer gets it), then
   * DELETEs: true for the claim's holder alone.
   */
  delete(type: string, id: string, answers: DeleteAnswers): Promise<boolean> {
    return this.perResource.run(`${type}/${id}`, () => this.deleteNow(type, id, answers));
  }

  /**
   * What a write that may lose races needs from the retry loop: tries up to
   * the budget, a short backoff, `ConflictError` when the budget is spent.
   */
  private lostRaceNeeds<T>(gaveUp: (attempts: number) => string): RetryNeeds<T, LostRace> {
    return {
      budget: { maxAttempts: this.maxRetries + 1, ...LOST_RACE_DELAYS },
      giveUp: (_, attempts) => {
        throw new ConflictError(gaveUp(attempts));
      },
      report: ({ interaction, status }) => ({ interaction, status }),
    };
  }

  /** DELETE, sent again while a concurrent write wins (409/412), up to the retry budget. */
  private deleteNow(type: string, id: string, answers: DeleteAnswers): Promise<boolean> {
    let claimed: boolean | undefined;
    return retrying(
      async (): Promise<Attempted<boolean, LostRace>> => {
        let version: string | undefined;
        if (answers !== 'tells' && claimed === undefined) {
          const current = await this.rest.read(type, id);
          if (!current) return { done: false };
          if (answers === 'claimed') claimed = await claimDeletion(this.rest, type, id);
          else version = current.meta?.versionId;
        }
        const outcome = await this.rest.delete(type, id, version);
        if (typeof outcome === 'string') return { done: claimed ?? outcome === 'deleted' };
        return { failed: { interaction: 'delete', status: outcome.conflict } };
      },
      this.lostRaceNeeds<boolean>(
        (n) => `${type} ${id} kept changing; delete gave up after ${n} attempts`,
      ),
    );
  }

  /**
   * Applies `mutate` to the current version: the stored resource, or `null`
   * when it does not exist. When `mutate` changes nothing, nothing is written.
   */
  async modify(type: string, id: string, mutate: Mutation): Promise<ResourceJson | null> {
    const outcome = await this.modifyUnlessRefused(type, id, mutate, () => Promise.resolve(true));
    return outcome === REFUSED ? null : outcome;
  }

  /**
   * As `modify`, but a 409/412 may be the server refusing the change itself
   * (a unique index), not a lost race: `retryAfterConflict` decides, and when
   * it answers `false` the result is `REFUSED`. The PUT only ever carries a
   * version read from a live resource, so it cannot re-create a deleted one
   * (docs/hapi-behaviour.md); a server that does so anyway is undone.
   */
  modifyUnlessRefused(
    type: string,
    id: string,
    mutate: Mutation,
    retryAfterConflict: () => Promise<boolean>,
  ): Promise<ResourceJson | null | typeof REFUSED> {
    let afterLostAnswer = false;
    const tryOnce = async (): Promise<
      Attempted<ResourceJson | null | typeof REFUSED, LostRace>
    > => {
      const current = await this.rest.read(type, id);
      if (!current) return { done: null };
      const next = structuredClone(current);
      mutate(next, afterLostAnswer);
      if (isDeepStrictEqual(current, next)) return { done: current };
      this.beforeWrite(current, next);
      const versionId = current.meta?.versionId;
      if (!versionId) {
        throw new BadStorageResponseError(`the FHIR server sent a ${type} without meta.versionId`);
      }
      const outcome = await this.rest.update(
        type,
        next as ResourceJson & { id: string },
        versionId,
      );
      if (outcome.kind === 'updated') return { done: outcome.resource };
      if (outcome.kind === 'created') {
        // a server that lets a versioned PUT re-create a deleted resource: undo that
        await this.deleteNow(type, id, 'tells');
        return { done: null };
      }
      afterLostAnswer = outcome.resent;
      // a resent PUT refused for a stale version is most likely our own write: read again
      if (!outcome.resent && !(await retryAfterConflict())) return { done: REFUSED };
      return { failed: { interaction: 'update', status: outcome.status } };
    };
    return this.perResource.run(`${type}/${id}`, () =>
      retrying(
        tryOnce,
        this.lostRaceNeeds<ResourceJson | null | typeof REFUSED>(
          (n) => `${type} ${id} kept changing; gave up after ${n} attempts`,
        ),
      ),
    );
  }

  /**
   * PUT `next` if the version `versionId` is still current, else apply
   * `mutate` as `modify` does. Used right after a create, whose version we know.
   */
  async modifyKnownVersion(
    type: string,
    stored: ResourceJson & { id: string },
    mutate: Mutation,
  ): Promise<ResourceJson | null> {
    const versionId = stored.meta?.versionId;
    if (versionId) {
      const next = structuredClone(stored);
      mutate(next, false);
      const outcome = await this.rest.update(type, next, versionId);
      if (outcome.kind === 'updated') return outcome.resource;
    }
    return this.modify(type, stored.id, mutate);
  }
}
