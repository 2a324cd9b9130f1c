/**
 * The in-process reference backend (the seed's DummyStorage, done right):
 * the contract's semantics with nothing in the way. For tests and demos;
 * data lives as long as the object. Any model spec works: one generic
 * `MemoryRecordStore` per model.
 */
import { defaultModels, type ModelSpec, type Models } from '../../api/models.js';
import { matchesAll } from '../../api/matching.js';
import { completeRecord, nextTimestamp, withDefaults } from '../../api/records.js';
import { compareForStreaming, isAfterCursor } from '../../api/record-cursor.js';
import { StorageOverStores } from '../../api/named-methods.js';
import {
  storeNamed,
  storesFor,
  type IterateOptions,
  type LinkStore,
  type ModelLinks,
  type ModelStores,
  type RecordStore,
  type StoredRecord,
} from '../../api/record-store.js';
import type { HealthcareStorage, Lookup, PatientLink } from '../../api/types.js';
import {
  validateId,
  validateLookups,
  validateRecordInput,
  validateSourcePair,
} from '../../api/validation.js';

/** One model's records: copies in, copies out, never a shared reference. */
class MemoryRecordStore implements RecordStore {
  private readonly records = new Map<string, StoredRecord>();
  private readonly deleted: ((id: string) => void)[] = [];
  private lastId = 0;

  constructor(readonly model: ModelSpec) {}

  /** Calls `listener` with the id of each record deleted from now on. */
  onDelete(listener: (id: string) => void): void {
    this.deleted.push(listener);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  async get(id: string): Promise<StoredRecord | null> {
    const record = this.records.get(validateId(id));
    return record ? { ...record } : null;
  }

  async create(data: unknown): Promise<StoredRecord> {
    const values = withDefaults(this.model, validateRecordInput(this.model, data, 'create'));
    const now = nextTimestamp();
    const id = String(++this.lastId);
    const record = completeRecord(this.model, {
      ...values,
      id,
      created_date: now,
      updated_date: now,
    });
    this.records.set(id, record);
    return { ...record };
  }

  async update(id: string, data: unknown): Promise<StoredRecord | null> {
    const values = validateRecordInput(this.model, data, 'update');
    const record = this.records.get(validateId(id));
    if (!record) return null;
    const updated = { ...record, ...values, updated_date: nextTimestamp(record.updated_date) };
    this.records.set(id, updated);
    return { ...updated };
  }

  async delete(id: string): Promise<boolean> {
    if (!this.records.delete(validateId(id))) return false;
    for (const listener of this.deleted) listener(id);
    return true;
  }

  async *iterate(
    lookups: readonly Lookup[],
    options: IterateOptions = {},
  ): AsyncGenerator<StoredRecord> {
    const normalized = validateLookups(this.model, lookups);
    const ordered = [...this.records.values()].sort(compareForStreaming);
    for (const record of ordered) {
      if (matchesAll(record, normalized) && isAfterCursor(record, options.after))
        yield { ...record };
    }
  }
}

/** Links of one model's records: `JSON.stringify([sourceName, sourceId])` → record id. */
class MemoryLinkStore implements LinkStore {
  private readonly pairs = new Map<string, string>();

  constructor(private readonly records: MemoryRecordStore) {
    records.onDelete((id) => this.forget(id));
  }

  private static key(sourceId: string, sourceName: string): string {
    const [id, name] = validateSourcePair(sourceId, sourceName);
    return JSON.stringify([name, id]);
  }

  async getLinked(sourceId: string, sourceName: string): Promise<StoredRecord | null> {
    const id = this.pairs.get(MemoryLinkStore.key(sourceId, sourceName));
    return id === undefined ? null : this.records.get(id);
  }

  async link(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const key = MemoryLinkStore.key(sourceId, sourceName);
    if (!this.records.has(validateId(id)) || this.pairs.has(key)) return false;
    this.pairs.set(key, id);
    return true;
  }

  async unlink(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const key = MemoryLinkStore.key(sourceId, sourceName);
    if (this.pairs.get(key) !== validateId(id)) return false;
    return this.pairs.delete(key);
  }

  async links(id: string): Promise<PatientLink[] | null> {
    if (!this.records.has(validateId(id))) return null;
    const result: PatientLink[] = [];
    for (const [key, recordId] of this.pairs) {
      if (recordId !== id) continue;
      const [source_name, source_id] = JSON.parse(key) as [string, string];
      result.push({ source_id, source_name });
    }
    return result;
  }

  /** A deleted record's pairs are free again. */
  forget(id: string): void {
    for (const [key, recordId] of this.pairs) if (recordId === id) this.pairs.delete(key);
  }
}

export interface MemoryStorageOptions {
  /** Models to store (defaults to the contract's patient and provider models). */
  models?: Models;
  /** More models, each reachable through `stores[name]` (or `store(name)`). */
  extraModels?: readonly ModelSpec[];
}

export class MemoryStorage extends StorageOverStores implements HealthcareStorage {
  readonly models: Models;
  readonly extraModels: readonly ModelSpec[];
  readonly stores: ModelStores;
  readonly links: ModelLinks;

  constructor(options: MemoryStorageOptions = {}) {
    super();
    this.models = options.models ?? defaultModels;
    this.extraModels = [...(options.extraModels ?? [])];
    ({ stores: this.stores, links: this.links } = storesFor(
      this.models,
      this.extraModels,
      (model) => new MemoryRecordStore(model),
      (records) => new MemoryLinkStore(records),
    ));
  }

  /** The store of one model (a contract model or one of `extraModels`). */
  store(model: string): RecordStore {
    return storeNamed(this.stores, model, 'MemoryStorage');
  }

  async checkReady(): Promise<void> {}
}
