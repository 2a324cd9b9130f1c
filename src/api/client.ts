/**
 * The client API applications use, mirroring the seed's `healthcare.api.client`:
 * one generic `ModelApi` per model over the storage's stores (named-methods.ts
 * `storesOf`: a user's storage of named methods too).
 */
import { PatientDoesNotExist, ProviderDoesNotExist, type APIError } from './errors.js';
import { keywordsToLookups, type FilterKeywords } from './filters.js';
import { storesOf } from './named-methods.js';
import { filterRecords, type LinkStore, type RecordStore } from './record-store.js';
import type {
  HealthcareStorage,
  PatientInput,
  PatientRecord,
  ProviderInput,
  ProviderRecord,
} from './types.js';

/** One model's client API: get (throws when missing), create, update, delete, filter by keywords. */
export class ModelApi<R, I> {
  constructor(
    private readonly store: RecordStore,
    private readonly doesNotExist: (id: string) => APIError,
    protected readonly links?: LinkStore,
  ) {}

  /** The record, by id or (with `source`, on a linkable model) by a linked source id; throws when missing. */
  async get(id: string, source?: string): Promise<R> {
    const record =
      source !== undefined && this.links
        ? await this.links.getLinked(id, source)
        : await this.store.get(id);
    if (!record) throw this.doesNotExist(id);
    return record as R;
  }

  async create(data: I): Promise<R> {
    return (await this.store.create(data)) as R;
  }

  async update(id: string, data: I): Promise<boolean> {
    return (await this.store.update(id, data)) !== null;
  }

  delete(id: string): Promise<boolean> {
    return this.store.delete(id);
  }

  /** `filter({ name__like: 'Ja', birth_date__gte: '2020-01-01', status: 'A' })`: all must match. */
  async filter(filters: FilterKeywords = {}): Promise<R[]> {
    return (await filterRecords(this.store, keywordsToLookups(filters))) as R[];
  }

  /** The records `filter` returns, streamed: `for await (const p of api.patients.iter({ … }))`. */
  iter(filters: FilterKeywords = {}): AsyncIterable<R> {
    return this.store.iterate(keywordsToLookups(filters)) as AsyncIterable<R>;
  }
}

/** A linkable model's client API: also link and unlink. */
export class LinkableModelApi<R, I> extends ModelApi<R, I> {
  link(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    return this.links!.link(id, sourceId, sourceName);
  }

  unlink(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    return this.links!.unlink(id, sourceId, sourceName);
  }
}

export type PatientClient = LinkableModelApi<PatientRecord, PatientInput>;
export type ProviderClient = ModelApi<ProviderRecord, ProviderInput>;

export class HealthcareAPI {
  readonly patients: PatientClient;
  readonly providers: ProviderClient;

  constructor(readonly storage: HealthcareStorage) {
    const { stores, links } = storesOf(storage);
    this.patients = new LinkableModelApi(
      stores.patient,
      (id) => new PatientDoesNotExist(id),
      links.patient,
    );
    this.providers = new ModelApi(stores.provider, (id) => new ProviderDoesNotExist(id));
  }
}
