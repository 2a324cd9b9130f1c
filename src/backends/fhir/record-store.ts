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
  type IterateOptions,
  type RecordStore,
  type StoredRecord,
} from '../../api/record-store.js';
import type { Lookup } from '../../api/types.js';
import { validateId, validateLookups, validateRecordInput } from '../../api/validation.js';
import type { ServerCapabilities } from './capabilities.js';
import { fixAfterCreate, stampCreated } from './created-date.js';
import { isFhirId, type FhirRestClient, type ResourceJson } from './fhir-rest.js';
import { toRecord, writeValues, type ResourceMapping } from './resource-mapping.js';
import type { Scope } from './scope.js';
import { planSearch, stringParams } from './search-plan.js';
import type { VersionedWriter } from './versioned-writes.js';

export class FhirRecordStore implements RecordStore {
  readonly model: ModelSpec;
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
   * Writes new records by id in one `transaction` Bundle (bulk import; a
   * `batch` when the server refuses the transaction, so one bad entry fails
   * alone): ids that already exist are left alone (a resumed import), the rest
   * are PUT to that id. One search and one Bundle per call. Per row: 'written', 'exists', or the
   * reason it failed.
   */
  async putNew(rows: readonly { id: string; data: unknown }[]): Promise<string[]> {
    const existing = new Set(
      (await this.scope.search(this.type, [{ name: '_id', values: rows.map((r) => r.id) }])).map(
        (r) => r.id,
      ),
    );
    const fresh = rows.filter((r) => !existing.has(r.id));
    const entries = fresh.map(({ id, data }) => ({
      request: { method: 'PUT', url: `${this.type}/${id}` },
      resource: { ...this.newResource(data).resource, id },
    }));
    let answers: { status: string }[] = [];
    if (entries.length) {
      try {
        // one database transaction: about twice the rate of a batch on HAPI
        answers = await this.rest.batch(entries, true, 'transaction');
      } catch (error) {
        // refused as a whole (one entry the server rejects): each entry on its own
        if (!(error instanceof BadStorageResponseError) || (error.upstreamStatus ?? 0) >= 500)
          throw error;
        answers = await this.rest.batch(entries, true, 'batch');
      }
    }
    const byId = new Map(fresh.map((r, i) => [r.id, answers[i]!]));
    return rows.map(({ id }) => {
      if (existing.has(id)) return 'exists';
      const status = byId.get(id)!.status;
      if (/^20[01]/.test(status)) return 'written';
      return `the server answered ${status || 'nothing'}`;
    });
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
    return this.writer.delete(this.type, key);
  }

  /** Pages fetched one at a time as the caller reads; each page's candidates checked exactly as it arrives. */
  async *iterate(
    lookups: readonly Lookup[],
    options: IterateOptions = {},
  ): AsyncGenerator<StoredRecord> {
    const normalized = validateLookups(this.model, lookups);
    const support = normalized.some((l) => l.field !== 'id')
      ? await this.capabilities.searchSupport(this.type, stringParams(this.mapping, normalized))
      : { params: new Set<string>(), contains: new Set<string>() };
    const plan = planSearch(this.mapping, normalized, support);
    if (plan.kind === 'no-match') return;
    const pages = this.scope.pages(this.type, plan.kind === 'narrow' ? plan.params : [], {
      start: options.after,
    });
    for await (const page of pages) {
      for (const resource of page) {
        const record = toRecord(this.mapping, resource);
        if (matchesAll(record, normalized) && isAfterCursor(record, options.after)) yield record;
      }
    }
  }
}
