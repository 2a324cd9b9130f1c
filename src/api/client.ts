/** The client API applications use, mirroring the seed's `healthcare.api.client`. */
import { PatientDoesNotExist, ProviderDoesNotExist } from './errors.js';
import { keywordsToLookups, type FilterKeywords } from './filters.js';
import type {
  HealthcareStorage,
  PatientInput,
  PatientRecord,
  ProviderInput,
  ProviderRecord,
} from './types.js';

export class PatientClient {
  constructor(private readonly storage: HealthcareStorage) {}

  /** The patient, by id or (with `source`) by a linked source id; throws `PatientDoesNotExist`. */
  async get(id: string, source?: string): Promise<PatientRecord> {
    const patient = await this.storage.getPatient(id, source);
    if (!patient) throw new PatientDoesNotExist(id);
    return patient;
  }

  create(data: PatientInput): Promise<PatientRecord> {
    return this.storage.createPatient(data);
  }

  update(id: string, data: PatientInput): Promise<boolean> {
    return this.storage.updatePatient(id, data);
  }

  delete(id: string): Promise<boolean> {
    return this.storage.deletePatient(id);
  }

  /** `filter({ name__like: 'Ja', birth_date__gte: '2020-01-01', status: 'A' })`: all must match. */
  async filter(filters: FilterKeywords = {}): Promise<PatientRecord[]> {
    return this.storage.filterPatients(...keywordsToLookups(filters));
  }

  link(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    return this.storage.linkPatient(id, sourceId, sourceName);
  }

  unlink(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    return this.storage.unlinkPatient(id, sourceId, sourceName);
  }
}

export class ProviderClient {
  constructor(private readonly storage: HealthcareStorage) {}

  /** The provider; throws `ProviderDoesNotExist`. */
  async get(id: string): Promise<ProviderRecord> {
    const provider = await this.storage.getProvider(id);
    if (!provider) throw new ProviderDoesNotExist(id);
    return provider;
  }

  create(data: ProviderInput): Promise<ProviderRecord> {
    return this.storage.createProvider(data);
  }

  update(id: string, data: ProviderInput): Promise<boolean> {
    return this.storage.updateProvider(id, data);
  }

  delete(id: string): Promise<boolean> {
    return this.storage.deleteProvider(id);
  }

  async filter(filters: FilterKeywords = {}): Promise<ProviderRecord[]> {
    return this.storage.filterProviders(...keywordsToLookups(filters));
  }
}

export class HealthcareAPI {
  readonly patients: PatientClient;
  readonly providers: ProviderClient;

  constructor(readonly storage: HealthcareStorage) {
    this.patients = new PatientClient(storage);
    this.providers = new ProviderClient(storage);
  }
}
