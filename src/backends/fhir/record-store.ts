/**
 * Owns one model on one FHIR resource type (the generic `RecordStore`):
 * get, create, update, delete and filter, by way of the mapping
 * (resource-mapping.ts), the search plan (search-plan.ts) and versioned
 * writes (versioned-writes.ts).
 */
import {
  BadStorageResponseError,
  ConflictError,
  StorageUnavailableError,
} from '../../api/errors.js';
import { matchesAll } from '../../api/matching.js';
import type { ModelSpec } from '../../api/models.js';
import { withDefaults } from '../../api/records.js';
import { isAfterCursor } from '../../api/record-cursor.js';
import {
  type BulkImport,
  type ImportResult,
  type ImportRow,
  type IterateOptions,
  type RecordStore,
  type StoredRecord,
} from '../../api/record-store.js';
import type { Lookup } from '../../api/types.js';
import { validateId, validateLookups, validateRecordInput } from '../../api/validation.js';
import type { ServerCapabilities } from './capabilities.js';
import { fixAfterCreate, stampCreated } from './created-date.js';
import {
  importRowsParameter,
  importedRowOf,
  legacyImportTagParameter,
  markImported,
} from './import-rows.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';
import { isFhirId } from './fhir-id.js';
import { toRecord, writeValues, type ResourceMapping } from './resource-mapping.js';
import type { Scope } from './scope.js';
import { planSearch, stringProbes } from './search-plan.js';
import type { SearchParameter } from './search-request.js';
import type { VersionedWriter } from './versioned-writes.js';
import { waitingOutThrottle } from '../../transport/retry.js';
import { retrying } from '../../transport/retry-loop.js';
import { errorMessage } from '../../shared/error-message.js';

export type { ImportResult, ImportRow };

/** Why a row whose answer was lost, or came without a location, failed. */
const notFoundAfter = (lost: unknown): string =>
  lost
    ? `the answer was lost twice (${errorMessage(lost)}) and the record was not found`
    : 'the server answered without a location and the record was not found';

/** The server refused the request as a whole (4xx): nothing was written. */
const isRefused = (error: unknown): boolean =>
  error instanceof BadStorageResponseError &&
  error.upstreamStatus !== undefined &&
  error.upstreamStatus < 500;

export class FhirRecordStore implements RecordStore, BulkImport {
  readonly model: ModelSpec;
  /** It writes imports itself: `legacyImportedRows` and `importRows` (`healthcare-fhir import`). */
  readonly imports: BulkImport = this;
  private readonly type: string;

  constructor(
    private readonly mapping: ResourceMapping,
    private readonly rest: FhirRestClient,
    private readonly scope: Scope,
    private readonly writer: VersionedWriter,
    private readonly capabilities: ServerCapabilities,
  ) {
    this.model = mapping.model;
    this.type = mapping.resourceType;
  }

  async get(id: string): Promise<StoredRecord | null> {
    const key = validateId(id);
    if (!isFhirId(key)) return null;
    const resource = await this.rest.read(this.type, key);
    return resource ? toRecord(this.mapping, resource) : null;
  }

  /** The resource a create writes for `data` (validated: ValidationError). */
  newResource(data: unknown): { resource: ResourceJson; stampedAt: string } {
    const values = withDefaults(this.model, validateRecordInput(this.model, data, 'create'));
    const resource: ResourceJson = { resourceType: this.type };
    this.scope.tagResource(resource);
    writeValues(
      this.mapping,
      resource,
      Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null)),
    );
    return { resource, stampedAt: stampCreated(this.mapping, resource) };
  }

  /**
   * Row hash → record id of what imports before the import-row identifier
   * wrote in scope (import-rows.ts). First one search for any resource of
   * this type with their tag (`_count=1`, in any scope: a single-tag search
   * an index answers at once, whatever the server holds); only when there is
   * one are those in scope read, once, asking only for their meta and
   * extensions (`_elements`, which a server may ignore). Empty, after that
   * one search, on a server where every import carried the identifier.
   */
  async legacyImportedRows(): Promise<Map<string, string>> {
    const tag = legacyImportTagParameter(this.model);
    const probe = { resourceType: this.type, params: [tag], elements: ['id'], count: 1 };
    const offset = this.rest.answersOffsetQueries ? { offset: 0 } : {};
    if (!(await this.rest.searchPage({ ...probe, ...offset })).resources.length) return new Map();
    return this.importedIn([tag], ['meta', 'extension']);
  }

  /** Row hash → record id of the resources in scope imported from rows of these hashes: one OR-search of their identifiers. */
  async importedAmong(hashes: readonly string[]): Promise<Map<string, string>> {
    if (!hashes.length) return new Map();
    return this.importedIn([importRowsParameter(hashes)], ['identifier', 'meta']);
  }

  /** Row hash → record id of each imported resource a scoped search finds (the first, for a hash held twice). */
  private async importedIn(
    params: readonly SearchParameter[],
    elements: readonly string[],
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const page of this.scope.pages(this.scope.request(this.type, params, elements), {}))
      for (const resource of page) {
        const hash = importedRowOf(resource);
        if (hash !== undefined && !found.has(hash)) found.set(hash, resource.id!);
      }
    return found;
  }

  /**
   * Imports rows: those whose record an earlier run wrote (`earlier`: the
   * batch's `importedAmong`, one search for its row identifiers, never a
   * read of what else was imported) are `present`; the others are POSTed as
   * new records, each marked with its row's identifier, in one `transaction` Bundle
   * (server-assigned ids; a `batch` when the server refuses the transaction
   * as a whole, so one bad entry fails alone). When the answer is lost
   * (timeout, reset, a server error) the batch may have been written all the
   * same: its rows are searched for again the same way; rows found count as
   * written and only the others are sent again (once; still lost, they fail
   * and a later run writes them). Per row: its record's id, or why it failed.
   */
  async importRows(
    rows: readonly ImportRow[],
    earlier: ReadonlyMap<string, string>,
  ): Promise<ImportResult[]> {
    const results: (ImportResult | undefined)[] = rows.map(() => undefined);
    let pending: number[] = [];
    rows.forEach(({ hash }, i) => {
      const id = earlier.get(hash);
      if (id) results[i] = { id, present: true };
      else pending.push(i);
    });
    const resources = rows.map(({ data, hash }, i) => {
      if (results[i]) return undefined;
      const { resource } = this.newResource(data);
      markImported(resource, hash);
      return resource;
    });
    if (!pending.length) return results as ImportResult[];
    await retrying<void, unknown>(
      async () => {
        let answers: Awaited<ReturnType<FhirRestClient['batch']>> | undefined;
        let lost: unknown;
        try {
          answers = await this.postNew(pending.map((i) => resources[i]!));
        } catch (error) {
          if (isRefused(error)) throw error;
          lost = error;
        }
        const unlocated = answers ? [] : pending;
        answers?.forEach(({ status, location }, k) => {
          const rowIndex = pending[k]!;
          const id = location && this.locatedId(location);
          if (!/^20[01]/.test(status))
            results[rowIndex] = { failed: `the server answered ${status || 'nothing'}` };
          else if (id) results[rowIndex] = { id };
          else unlocated.push(rowIndex);
        });
        // written or not: looked for by their row identifiers
        const found = unlocated.length
          ? await this.importedAmong(unlocated.map((i) => rows[i]!.hash))
          : new Map<string, string>();
        pending = unlocated.filter((rowIndex) => {
          const id = found.get(rows[rowIndex]!.hash);
          if (id) results[rowIndex] = { id };
          return !id;
        });
        if (lost && pending.length) return { failed: lost };
        for (const rowIndex of pending) results[rowIndex] = { failed: notFoundAfter(lost) };
        return { done: undefined };
      },
      {
        // rows of a batch whose answer was lost, not found since: sent once more
        budget: { ...this.rest.retry, maxAttempts: 2, maxElapsedMs: undefined },
        giveUp: (lost) => {
          for (const rowIndex of pending) results[rowIndex] = { failed: notFoundAfter(lost) };
        },
      },
    );
    return results as ImportResult[];
  }

  /**
   * POSTs the resources (`postNewOnce`), waiting out a server that throttles
   * (a 429 is a refusal before any work, so nothing was written).
   */
  private postNew(resources: readonly ResourceJson[]) {
    return waitingOutThrottle(() => this.postNewOnce(resources));
  }

  /** POSTs the resources in a transaction, or in a batch when the server refuses the transaction. */
  private async postNewOnce(resources: readonly ResourceJson[]) {
    const entries = resources.map((resource) => ({
      request: { method: 'POST', url: this.type },
      resource,
    }));
    try {
      // one database transaction: several times the rate of single creates on HAPI
      return await this.rest.batch(entries, 'transaction');
    } catch (error) {
      if (!isRefused(error)) throw error;
      // refused as a whole (one entry the server rejects): each entry on its own
      return this.rest.batch(entries, 'batch');
    }
  }

  /** The id in a transaction answer's location (`Patient/123/_history/1`, maybe absolute). */
  private locatedId(location: string): string | undefined {
    const parts = location.split(/[?#]/)[0]!.split('/');
    const at = parts.lastIndexOf(this.type, parts.includes('_history') ? -3 : -1);
    const id = at < 0 ? undefined : parts[at + 1];
    return isFhirId(id) ? id : undefined;
  }

  async create(data: unknown): Promise<StoredRecord> {
    const { resource, stampedAt } = this.newResource(data);
    let stored = await this.rest.create(this.type, resource);
    const fix = fixAfterCreate(this.mapping, stored, stampedAt);
    if (fix) {
      try {
        stored =
          (await this.writer.modifyKnownVersion(
            this.type,
            stored as ResourceJson & { id: string },
            fix,
          )) ?? stored;
      } catch (error) {
        // the record exists (its created_date reads as lastUpdated all the same):
        // failing now would make a retry create it twice
        if (!(error instanceof StorageUnavailableError || error instanceof ConflictError))
          throw error;
      }
    }
    return toRecord(this.mapping, stored);
  }

  async update(id: string, data: unknown): Promise<StoredRecord | null> {
    const values = validateRecordInput(this.model, data, 'update');
    const key = validateId(id);
    if (!isFhirId(key)) return null;
    const stored = await this.writer.modify(this.type, key, (resource) =>
      writeValues(this.mapping, resource, values),
    );
    return stored && toRecord(this.mapping, stored);
  }

  async delete(id: string): Promise<boolean> {
    const key = validateId(id);
    if (!isFhirId(key)) return false;
    return this.writer.delete(this.type, key, await this.capabilities.deleteAnswers());
  }

  /** Pages fetched one at a time as the caller reads; each page's candidates checked exactly as it arrives. */
  async *iterate(
    lookups: readonly Lookup[],
    options: IterateOptions = {},
  ): AsyncGenerator<StoredRecord> {
    const normalized = validateLookups(this.model, lookups);
    const support = normalized.some((l) => l.field !== 'id')
      ? await this.capabilities.searchSupport(this.type, stringProbes(this.mapping, normalized))
      : { params: new Set<string>(), contains: new Set<string>(), exact: new Set<string>() };
    const plan = planSearch(this.mapping, normalized, support);
    if (plan.kind === 'no-match') return;
    const search = this.scope.request(this.type, plan.kind === 'narrow' ? plan.params : []);
    const pages = this.scope.pages(search, {
      start: options.after,
      limit: options.limit,
    });
    for await (const page of pages) {
      for (const resource of page) {
        const record = toRecord(this.mapping, resource);
        if (matchesAll(record, normalized) && isAfterCursor(record, options.after)) yield record;
      }
    }
  }
}
