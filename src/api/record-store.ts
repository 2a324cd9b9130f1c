/**
 * Owns the one generic per-model wrapper (the seed's `CategoryWrapper`): a
 * `RecordStore` is one model in one backend, and every layer is written once
 * against it. `storageMethods` turns a backend's stores into the contract's
 * named methods (`getPatient`, `createProvider`, …); `storesOf` turns any
 * `HealthcareStorage`, ours or a user's, back into stores.
 */
import { compareForStreaming, isAfterCursor, type RecordCursor } from './record-cursor.js';
import { validateLookups, validateSourcePair } from './validation.js';
import type { ModelSpec } from './models.js';
import type { HealthcareStorage, Lookup, PatientLink, StoredRecord } from './types.js';

export type { StoredRecord };

export interface IterateOptions {
  /** Resume after this cursor (records in streaming order, see record-cursor.ts). */
  after?: RecordCursor;
  /** A hint: the caller reads at most this many records (a backend need fetch no larger pages). */
  limit?: number;
}

/** One model in one backend. Methods validate their input (ValidationError) and return copies. */
export interface RecordStore {
  readonly model: ModelSpec;
  get(id: string): Promise<StoredRecord | null>;
  create(data: unknown): Promise<StoredRecord>;
  /** The record as stored after the change, or `null` when there is no such record. */
  update(id: string, data: unknown): Promise<StoredRecord | null>;
  delete(id: string): Promise<boolean>;
  /** Every match in an array; without it, `iterate` collected (see `filterRecords`). */
  filter?(lookups: readonly Lookup[]): Promise<StoredRecord[]>;
  /**
   * The records `filter` returns, one at a time in ascending `updated_date`,
   * fetched lazily (a backend reads its next page when the caller gets there).
   */
  iterate(lookups: readonly Lookup[], options?: IterateOptions): AsyncIterable<StoredRecord>;
}

/** A store's matches in an array: its own `filter`, else its `iterate` collected. */
export function filterRecords(
  store: RecordStore,
  lookups: readonly Lookup[],
): Promise<StoredRecord[]> {
  return store.filter ? store.filter(lookups) : collectRecords(store.iterate(lookups));
}

/** Every record of an iteration, in an array. */
export async function collectRecords(
  records: AsyncIterable<StoredRecord>,
): Promise<StoredRecord[]> {
  const all: StoredRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

/** Links of a linkable model's records to identifiers in other systems. */
export interface LinkStore {
  /** The record linked to (sourceId, sourceName), or `null`. */
  getLinked(sourceId: string, sourceName: string): Promise<StoredRecord | null>;
  link(id: string, sourceId: string, sourceName: string): Promise<boolean>;
  unlink(id: string, sourceId: string, sourceName: string): Promise<boolean>;
  /** The record's links, or `null` when it does not exist. */
  links(id: string): Promise<PatientLink[] | null>;
}

/** `patient` → `Patient`: the model's part of the storage method names. */
export const methodSuffix = (model: string): string =>
  model.charAt(0).toUpperCase() + model.slice(1);

/** The contract's record methods (everything of HealthcareStorage produced from stores). */
export type StorageRecordMethods = Required<
  Pick<
    HealthcareStorage,
    | 'getPatient'
    | 'createPatient'
    | 'updatePatient'
    | 'deletePatient'
    | 'filterPatients'
    | 'linkPatient'
    | 'unlinkPatient'
    | 'getPatientLinks'
    | 'getProvider'
    | 'createProvider'
    | 'updateProvider'
    | 'deleteProvider'
    | 'filterProviders'
    | 'iterPatients'
    | 'iterProviders'
  >
>;

type AnyMethod = (...args: never[]) => Promise<unknown>;

/**
 * The named methods for every store: `get<Model>`, `create<Model>`,
 * `update<Model>`, `delete<Model>`, `filter<Model>s`, and for the linkable
 * model `link<Model>`, `unlink<Model>`, `get<Model>Links` and `get<Model>(id, source)`.
 */
export function storageMethods(
  stores: readonly RecordStore[],
  /** Model name → its links, for every linkable model. */
  links: ReadonlyMap<string, LinkStore> = new Map(),
): StorageRecordMethods & Record<string, AnyMethod> {
  const methods: Record<string, AnyMethod> = {};
  for (const store of stores) {
    const name = methodSuffix(store.model.name);
    const linked = store.model.linkable ? links.get(store.model.name) : undefined;
    methods[`get${name}`] = (async (id: string, source?: string | null) => {
      if (!linked || source === undefined || source === null) return store.get(id);
      const [sourceId, sourceName] = validateSourcePair(id, source);
      return linked.getLinked(sourceId, sourceName);
    }) as AnyMethod;
    methods[`create${name}`] = ((data: unknown) => store.create(data)) as AnyMethod;
    const update = (async (id: string, data: unknown) =>
      (await store.update(id, data)) !== null) as AnyMethod;
    updateBackedBy.set(update, store);
    methods[`update${name}`] = update;
    methods[`delete${name}`] = ((id: string) => store.delete(id)) as AnyMethod;
    methods[`filter${name}s`] = ((...lookups: Lookup[]) =>
      filterRecords(store, lookups)) as AnyMethod;
    methods[`iter${name}s`] = ((...lookups: Lookup[]) =>
      store.iterate(lookups)) as unknown as AnyMethod;
    if (linked) {
      methods[`link${name}`] = ((id: string, sourceId: string, sourceName: string) =>
        linked.link(id, sourceId, sourceName)) as AnyMethod;
      methods[`unlink${name}`] = ((id: string, sourceId: string, sourceName: string) =>
        linked.unlink(id, sourceId, sourceName)) as AnyMethod;
      methods[`get${name}Links`] = ((id: string) => linked.links(id)) as AnyMethod;
    }
  }
  return methods as StorageRecordMethods & Record<string, AnyMethod>;
}

/** The store behind each `update<Model>` that `storageMethods` made (so `storeOf` can skip a read-back). */
const updateBackedBy = new WeakMap<AnyMethod, RecordStore>();

/** A model's store over any storage's named methods (the inverse of `storageMethods`). */
export function storeOf(storage: HealthcareStorage, model: ModelSpec): RecordStore {
  const own = (storage as { store?: (name: string) => RecordStore }).store;
  const name = methodSuffix(model.name);
  const call = <T = never>(method: string, ...args: unknown[]): Promise<T> => {
    const fn = (storage as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[method];
    if (typeof fn !== 'function')
      throw new TypeError(`this storage has no ${method}: it does not store ${model.name}s`);
    return fn.apply(storage, args);
  };
  const iterate = (storage as unknown as Record<string, unknown>)[`iter${name}s`];
  return {
    model,
    get: (id) => call(`get${name}`, id),
    create: (data) => call(`create${name}`, data),
    update: async (id, data) => {
      const method = (storage as unknown as Record<string, AnyMethod>)[`update${name}`];
      const backing = method && updateBackedBy.get(method);
      // our own method: its store answers the record it wrote; any other: read it back
      if (backing) return backing.update(id, data);
      return (await call<boolean>(`update${name}`, id, data)) ? call(`get${name}`, id) : null;
    },
    delete: (id) => call(`delete${name}`, id),
    filter: (lookups) => call(`filter${name}s`, ...lookups),
    iterate: async function* (lookups, options = {}) {
      if (options.after && typeof own === 'function') {
        // a backend of this package resumes from a cursor natively
        yield* own.call(storage, model.name).iterate(lookups, options);
        return;
      }
      if (typeof iterate === 'function' && !options.after) {
        yield* (iterate as (...l: Lookup[]) => AsyncIterable<StoredRecord>).apply(storage, [
          ...lookups,
        ]);
        return;
      }
      // a storage without iter…s (or a cursor it cannot take): its filter, in streaming order
      validateLookups(model, lookups);
      const records: StoredRecord[] = await call(`filter${name}s`, ...lookups);
      for (const record of records.sort(compareForStreaming))
        if (isAfterCursor(record, options.after)) yield record;
    },
  };
}

/** The links of any storage's linkable model, over its named methods. */
export function linksOf(storage: HealthcareStorage, model: ModelSpec): LinkStore {
  const name = methodSuffix(model.name);
  const methods = storage as unknown as Record<string, (...a: unknown[]) => Promise<never>>;
  return {
    getLinked: (sourceId, sourceName) => methods[`get${name}`]!.call(storage, sourceId, sourceName),
    link: (id, sourceId, sourceName) =>
      methods[`link${name}`]!.call(storage, id, sourceId, sourceName),
    unlink: (id, sourceId, sourceName) =>
      methods[`unlink${name}`]!.call(storage, id, sourceId, sourceName),
    links: async (id) => {
      const fn = methods[`get${name}Links`];
      return fn ? fn.call(storage, id) : null;
    },
  };
}

/**
 * Base class of the backends: instances carry the contract's record methods,
 * which the subclass installs from its stores with
 * `Object.assign(this, storageMethods(stores, links))`.
 */
export const StorageWithRecordMethods = class {} as unknown as new () => StorageRecordMethods;
