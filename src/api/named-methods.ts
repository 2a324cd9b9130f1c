/**
 * Owns the package edge between the per-model stores and the contract's named
 * methods (`getPatient`, `createProvider`, `filterPatients`, `linkPatient`, …),
 * both ways: `StorageOverStores` gives a backend of this package the named
 * methods from its stores; `storesOf` gives every layer the stores of any
 * `HealthcareStorage`, ours directly, a user's over its named methods.
 */
import { compareForStreaming, isAfterCursor } from './record-cursor.js';
import {
  filterRecords,
  hasStores,
  type LinkStore,
  type ModelLinks,
  type ModelStores,
  type RecordStore,
  type StoreBackend,
} from './record-store.js';
import { defaultModels, type ModelSpec } from './models.js';
import type {
  HealthcareStorage,
  Lookup,
  PatientInput,
  PatientLink,
  PatientRecord,
  ProviderInput,
  ProviderRecord,
  StoredRecord,
} from './types.js';
import { validateLookups, validateSourcePair } from './validation.js';

/** The contract's record methods, from the backend's stores (MemoryStorage, FhirStorage, HttpStorage extend it). */
export abstract class StorageOverStores implements StoreBackend {
  abstract readonly stores: ModelStores;
  abstract readonly links: ModelLinks;

  async getPatient(id: string, source?: string | null): Promise<PatientRecord | null> {
    if (source === undefined || source === null)
      return (await this.stores.patient.get(id)) as PatientRecord | null;
    const [sourceId, sourceName] = validateSourcePair(id, source);
    return (await this.links.patient.getLinked(sourceId, sourceName)) as PatientRecord | null;
  }

  async createPatient(data: PatientInput): Promise<PatientRecord> {
    return (await this.stores.patient.create(data)) as PatientRecord;
  }

  async updatePatient(id: string, data: PatientInput): Promise<boolean> {
    return (await this.stores.patient.update(id, data)) !== null;
  }

  deletePatient(id: string): Promise<boolean> {
    return this.stores.patient.delete(id);
  }

  async filterPatients(...lookups: Lookup[]): Promise<PatientRecord[]> {
    return (await filterRecords(this.stores.patient, lookups)) as PatientRecord[];
  }

  iterPatients(...lookups: Lookup[]): AsyncIterable<PatientRecord> {
    return this.stores.patient.iterate(lookups) as AsyncIterable<PatientRecord>;
  }

  linkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    return this.links.patient.link(id, sourceId, sourceName);
  }

  unlinkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    return this.links.patient.unlink(id, sourceId, sourceName);
  }

  async getPatientLinks(id: string): Promise<PatientLink[] | null> {
    return this.links.patient.links ? this.links.patient.links(id) : null;
  }

  async getProvider(id: string): Promise<ProviderRecord | null> {
    return (await this.stores.provider.get(id)) as ProviderRecord | null;
  }

  async createProvider(data: ProviderInput): Promise<ProviderRecord> {
    return (await this.stores.provider.create(data)) as ProviderRecord;
  }

  async updateProvider(id: string, data: ProviderInput): Promise<boolean> {
    return (await this.stores.provider.update(id, data)) !== null;
  }

  deleteProvider(id: string): Promise<boolean> {
    return this.stores.provider.delete(id);
  }

  async filterProviders(...lookups: Lookup[]): Promise<ProviderRecord[]> {
    return (await filterRecords(this.stores.provider, lookups)) as ProviderRecord[];
  }

  iterProviders(...lookups: Lookup[]): AsyncIterable<ProviderRecord> {
    return this.stores.provider.iterate(lookups) as AsyncIterable<ProviderRecord>;
  }
}

/** One model's named methods on a user's storage, bound to it. */
interface NamedMethods {
  get: (id: string) => Promise<StoredRecord | null>;
  create: (data: unknown) => Promise<StoredRecord>;
  update: (id: string, data: unknown) => Promise<boolean>;
  delete: (id: string) => Promise<boolean>;
  filter: (lookups: readonly Lookup[]) => Promise<StoredRecord[]>;
  iter?: (lookups: readonly Lookup[]) => AsyncIterable<StoredRecord>;
}

function patientMethods(storage: HealthcareStorage): NamedMethods {
  const iter = storage.iterPatients?.bind(storage);
  return {
    get: (id) => storage.getPatient(id),
    create: (data) => storage.createPatient(data as PatientInput),
    update: (id, data) => storage.updatePatient(id, data as PatientInput),
    delete: (id) => storage.deletePatient(id),
    filter: (lookups) => storage.filterPatients(...lookups),
    iter: iter && ((lookups) => iter(...lookups)),
  };
}

function providerMethods(storage: HealthcareStorage): NamedMethods {
  const iter = storage.iterProviders?.bind(storage);
  return {
    get: (id) => storage.getProvider(id),
    create: (data) => storage.createProvider(data as ProviderInput),
    update: (id, data) => storage.updateProvider(id, data as ProviderInput),
    delete: (id) => storage.deleteProvider(id),
    filter: (lookups) => storage.filterProviders(...lookups),
    iter: iter && ((lookups) => iter(...lookups)),
  };
}

/** A model's store over a user's named methods: an update is read back; no `iter…s`, or a cursor: its filter, in streaming order. */
function storeOverMethods(model: ModelSpec, methods: NamedMethods): RecordStore {
  return {
    model,
    get: methods.get,
    create: methods.create,
    update: async (id, data) => ((await methods.update(id, data)) ? methods.get(id) : null),
    delete: methods.delete,
    filter: methods.filter,
    iterate: async function* (lookups, options = {}) {
      if (methods.iter && !options.after) {
        yield* methods.iter(lookups);
        return;
      }
      validateLookups(model, lookups);
      const records = await methods.filter(lookups);
      for (const record of records.sort(compareForStreaming))
        if (isAfterCursor(record, options.after)) yield record;
    },
  };
}

/** The patient links of a user's storage, over its named methods. */
function patientLinksOver(storage: HealthcareStorage): LinkStore {
  const list = storage.getPatientLinks?.bind(storage);
  return {
    getLinked: (sourceId, sourceName) => storage.getPatient(sourceId, sourceName),
    link: (id, sourceId, sourceName) => storage.linkPatient(id, sourceId, sourceName),
    unlink: (id, sourceId, sourceName) => storage.unlinkPatient(id, sourceId, sourceName),
    ...(list && { links: list }),
  };
}

/** The stores of any storage: its own, or (a user's storage of named methods) the contract's models over them. */
export function storesOf(storage: HealthcareStorage): StoreBackend {
  if (hasStores(storage)) return storage;
  const { patient, provider } = storage.models ?? defaultModels;
  return {
    stores: {
      patient: storeOverMethods(patient, patientMethods(storage)),
      provider: storeOverMethods(provider, providerMethods(storage)),
    },
    links: { patient: patientLinksOver(storage) },
  };
}
