/**
 * Owns the one generic per-model wrapper (the seed's `CategoryWrapper`): a
 * `RecordStore` is one model in one backend, and every layer is written once
 * against it. A backend of this package exposes its stores by model name
 * (`stores.patient`, `links.patient`, see `storesFor`); named-methods.ts is
 * the edge to the contract's named methods (`getPatient`, …), both ways.
 */
import type { RecordCursor } from './record-cursor.js';
import {
  modelList,
  type LinkableModelName,
  type ModelName,
  type ModelSpec,
  type Models,
} from './models.js';
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
  /** Bulk import writes, where the backend has them (`healthcare-fhir import`: the FHIR backend). */
  readonly imports?: BulkImport;
}

/** One row to import: validated record input, and its content hash (backends/fhir/import-rows.ts `rowHash`). */
export interface ImportRow {
  data: unknown;
  hash: string;
}

/** An import row's outcome: the id of its record (`present`: an earlier run wrote it), or why it failed. */
export type ImportResult = { id: string; present?: true } | { failed: string };

/** What `healthcare-fhir import` needs of a store: resumable batch writes of rows. */
export interface BulkImport {
  /** Row hash → record id of the records imports wrote before rows carried their hash. */
  legacyImportedRows(): Promise<Map<string, string>>;
  /** Row hash → record id of the rows of these hashes that earlier runs wrote (one search where the backend can). */
  importedAmong(hashes: readonly string[]): Promise<Map<string, string>>;
  /**
   * Writes the rows not in `earlier` (what `importedAmong` found of them: a
   * caller may look a batch up while the one before it is written), in one
   * request where the backend can; one result per row.
   */
  importRows(
    rows: readonly ImportRow[],
    earlier: ReadonlyMap<string, string>,
  ): Promise<ImportResult[]>;
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
  /** The record's links, or `null` when it does not exist; absent where the backend cannot list them. */
  links?(id: string): Promise<PatientLink[] | null>;
}

/** `patient` → `Patient`: the model's name in type and operation names (`PatientLookup`, `getPatient`). */
export const methodSuffix = (model: string): string =>
  model.charAt(0).toUpperCase() + model.slice(1);

/** A backend's stores by model name: the contract's two, and any `extraModels`. */
export type ModelStores<S extends RecordStore = RecordStore> = Readonly<Record<ModelName, S>> &
  Readonly<Partial<Record<string, S>>>;

/** A backend's link stores by model name: one per linkable model. */
export type ModelLinks<L extends LinkStore = LinkStore> = Readonly<Record<LinkableModelName, L>> &
  Readonly<Partial<Record<string, L>>>;

/** A storage as every layer of this package uses it: its stores and links by model name. */
export interface StoreBackend {
  readonly stores: ModelStores;
  readonly links: ModelLinks;
}

/** Whether a storage exposes its stores (every backend of this package does; a user's may). */
export const hasStores = (
  storage: HealthcareStorage,
): storage is HealthcareStorage & StoreBackend => 'stores' in storage && 'links' in storage;

/**
 * One store per model (the contract's, then `extraModels`) and one link
 * store per linkable model, by model name.
 */
export function storesFor<S extends RecordStore, L extends LinkStore>(
  models: Models,
  extraModels: readonly ModelSpec[],
  makeStore: (model: ModelSpec) => S,
  makeLinks: (store: S) => L,
): { stores: ModelStores<S>; links: ModelLinks<L> } {
  const stores: Record<string, S> = {};
  const links: Record<string, L> = {};
  for (const model of [...modelList(models), ...extraModels]) {
    const store = (stores[model.name] = makeStore(model));
    if (model.linkable) links[model.name] = makeLinks(store);
  }
  const { patient, provider } = stores;
  const patientLinks = links.patient;
  if (!patient || !provider || !patientLinks)
    throw new TypeError('a storage needs the patient and provider models, patients linkable');
  return { stores: { ...stores, patient, provider }, links: { ...links, patient: patientLinks } };
}

/** The store of one model by name, or a TypeError naming it (`who`: the storage). */
export function storeNamed(stores: ModelStores, model: string, who: string): RecordStore {
  const found = Object.hasOwn(stores, model) ? stores[model] : undefined;
  if (!found) throw new TypeError(`${who}: no model named ${JSON.stringify(model)}`);
  return found;
}
