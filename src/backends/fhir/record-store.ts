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
import { contentKey, pairByContent } from './import-match.js';
import { isFhirId, type FhirRestClient, type ResourceJson } from './fhir-rest.js';
import { toRecord, writeValues, type ResourceMapping } from './resource-mapping.js';
import type { Scope } from './scope.js';
import { planSearch, stringParams } from './search-plan.js';
import type { VersionedWriter } from './versioned-writes.js';

/** `meta.tag` system marking the import batch a resource was written in (the code: see cli/import.ts). */
export const IMPORT_BATCH_TAG_SYSTEM = 'urn:healthcare-fhir:import-batch';

/** One row of an import batch: validated record input, and the source ids it will be linked to. */
export interface ImportRow {
  data: unknown;
  sourceIds?: readonly string[];
}

/** An import row's outcome: the record's id (`written`: by this call, else found from an earlier run), or why it failed. */
export type ImportResult = { id: string; written: boolean } | { failed: string };

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
   * How many resources of this type in scope carry any of these import-batch
   * tags: one `_summary=count` search (`undefined`: the server did not say).
   */
  countImportBatches(batchTags: readonly string[]): Promise<number | undefined> {
    return this.scope.count(this.type, [
      { name: '_tag', system: IMPORT_BATCH_TAG_SYSTEM, values: batchTags },
    ]);
  }

  /**
   * Writes the rows of one import batch as new records: each resource carries
   * the batch tag besides the scope tag, and all are POSTed in one
   * `transaction` Bundle (server-assigned ids; a `batch` when the server
   * refuses the transaction as a whole, so one bad entry fails alone).
   * `mayExist`: an earlier run may have written some of the batch, so its
   * tagged resources are fetched first and rows matching one by content are
   * not written again ('exists'). Per row: its record's id and whether this
   * call wrote it, or why it failed.
   */
  async putNew(
    rows: readonly ImportRow[],
    batchTag: string,
    mayExist: boolean,
  ): Promise<ImportResult[]> {
    const resources = rows.map(({ data }) => {
      const { resource } = this.newResource(data);
      ((resource.meta ??= {}).tag ??= []).push({ system: IMPORT_BATCH_TAG_SYSTEM, code: batchTag });
      return resource;
    });
    const results: (ImportResult | undefined)[] = mayExist
      ? (await this.findImported(rows, resources, batchTag)).map((id) =>
          id === undefined ? undefined : { id, written: false },
        )
      : rows.map(() => undefined);
    const toWrite = [...results.keys()].filter((i) => results[i] === undefined);
    if (!toWrite.length) return results as ImportResult[];
    const entries = toWrite.map((i) => ({
      request: { method: 'POST', url: this.type },
      resource: resources[i]!,
    }));
    let answers: Awaited<ReturnType<FhirRestClient['batch']>>;
    try {
      // one database transaction: several times the rate of single creates on HAPI
      answers = await this.rest.batch(entries, false, 'transaction');
    } catch (error) {
      const refused =
        error instanceof BadStorageResponseError &&
        error.upstreamStatus !== undefined &&
        error.upstreamStatus < 500;
      if (!refused) return this.afterLostAnswer(error, rows, resources, batchTag, results);
      // refused as a whole (one entry the server rejects): each entry on its own
      answers = await this.rest.batch(entries, false, 'batch');
    }
    const unlocated: number[] = [];
    toWrite.forEach((rowIndex, k) => {
      const { status, location } = answers[k]!;
      if (!/^20[01]/.test(status)) {
        results[rowIndex] = { failed: `the server answered ${status || 'nothing'}` };
        return;
      }
      const id = location && this.locatedId(location);
      if (id) results[rowIndex] = { id, written: true };
      else unlocated.push(rowIndex);
    });
    if (unlocated.length) {
      // written, but the answer does not say where: found like a resumed row
      const ids = await this.findImported(
        unlocated.map((i) => rows[i]!),
        unlocated.map((i) => resources[i]!),
        batchTag,
      );
      unlocated.forEach((rowIndex, k) => {
        const id = ids[k];
        results[rowIndex] = id
          ? { id, written: true }
          : { failed: 'the server answered without a location and the record was not found' };
      });
    }
    return results as ImportResult[];
  }

  /**
   * The transaction's answer was lost (or the server failed): it may have
   * committed all the same, so the batch's tag is searched once. Rows found
   * count as written; if any is missing the error stands (nothing is sent
   * again: a transaction still running would then be written twice; a later
   * run resumes it).
   */
  private async afterLostAnswer(
    error: unknown,
    rows: readonly ImportRow[],
    resources: readonly ResourceJson[],
    batchTag: string,
    results: readonly (ImportResult | undefined)[],
  ): Promise<ImportResult[]> {
    const ids = await this.findImported(rows, resources, batchTag).catch(() => []);
    const settled = results.map(
      (result, i) => result ?? (ids[i] === undefined ? undefined : { id: ids[i], written: true }),
    );
    if (settled.some((result) => result === undefined)) throw error;
    return settled as ImportResult[];
  }

  /** The id in a transaction answer's location (`Patient/123/_history/1`, maybe absolute). */
  private locatedId(location: string): string | undefined {
    const parts = location.split(/[?#]/)[0]!.split('/');
    const at = parts.lastIndexOf(this.type, parts.includes('_history') ? -3 : -1);
    const id = at < 0 ? undefined : parts[at + 1];
    return isFhirId(id) ? id : undefined;
  }

  /** Per row, the id of a resource tagged with the batch that holds the row's content (each resource matched once), or `undefined`. */
  private async findImported(
    rows: readonly ImportRow[],
    resources: readonly ResourceJson[],
    batchTag: string,
  ): Promise<(string | undefined)[]> {
    const tagged = await this.scope.search(this.type, [
      { name: '_tag', system: IMPORT_BATCH_TAG_SYSTEM, values: [batchTag] },
    ]);
    return pairByContent(
      rows.map((row, i) => ({
        content: contentKey(this.model, toRecord(this.mapping, resources[i]!)),
        sourceIds: row.sourceIds ?? [],
      })),
      tagged.map((resource) => ({
        content: contentKey(this.model, toRecord(this.mapping, resource)),
        identifierValues: (resource.identifier ?? []).flatMap((i) =>
          typeof i?.value === 'string' ? [i.value] : [],
        ),
        resource: resource.id!,
      })),
    );
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
