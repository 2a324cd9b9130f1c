import type { ComparisonOperator } from './comparisons.js';
import type { ModelSpec, Models } from './models.js';

export type Sex = 'M' | 'F';
export type Status = 'A' | 'I';

/** A patient as every backend returns it: every field present, `null` when unset. */
export interface PatientRecord {
  id: string;
  name: string;
  sex: Sex | null;
  birth_date: string | null;
  death_date: string | null;
  location: string | null;
  status: Status;
  created_date: string;
  updated_date: string;
  /** Fields added by the configured mappings (FHIR backend), `null` when unset. */
  [extraField: string]: string | null;
}

export interface ProviderRecord {
  id: string;
  name: string;
  location: string | null;
  status: Status;
  created_date: string;
  updated_date: string;
  [extraField: string]: string | null;
}

type Writable<R> = {
  [K in keyof R as K extends 'id' | 'created_date' | 'updated_date' ? never : K]?: R[K];
};

/** What `createPatient`/`updatePatient` accept (`name` is required on create). */
export type PatientInput = Writable<PatientRecord>;
export type ProviderInput = Writable<ProviderRecord>;

/** A record as stored, of any model: every model field, `null` when unset. */
export type StoredRecord = Record<string, string | null>;

export type LookupScalar = string | Date;
export type LookupValue = LookupScalar | readonly LookupScalar[];

/** `[field, operator, value]`, e.g. `['name', comparisons.LIKE, 'Jo']`. */
export type Lookup = readonly [field: string, operator: ComparisonOperator, value: LookupValue];

/** A patient's association with an identifier in another system. */
export interface PatientLink {
  source_id: string;
  source_name: string;
}

/** The storage backend API of the seed, async. Every backend implements it. */
export interface HealthcareStorage {
  getPatient(id: string, source?: string | null): Promise<PatientRecord | null>;
  createPatient(data: PatientInput): Promise<PatientRecord>;
  updatePatient(id: string, data: PatientInput): Promise<boolean>;
  deletePatient(id: string): Promise<boolean>;
  filterPatients(...lookups: Lookup[]): Promise<PatientRecord[]>;
  /**
   * The same records as `filterPatients`, streamed: pages are fetched as the
   * loop reaches them, in ascending `updated_date`. Optional for storages
   * written elsewhere; every backend of this package has it.
   */
  iterPatients?(...lookups: Lookup[]): AsyncIterable<PatientRecord>;
  linkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean>;
  unlinkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean>;

  getProvider(id: string): Promise<ProviderRecord | null>;
  createProvider(data: ProviderInput): Promise<ProviderRecord>;
  updateProvider(id: string, data: ProviderInput): Promise<boolean>;
  deleteProvider(id: string): Promise<boolean>;
  filterProviders(...lookups: Lookup[]): Promise<ProviderRecord[]>;
  iterProviders?(...lookups: Lookup[]): AsyncIterable<ProviderRecord>;

  /** The models this backend stores (with any fields its configuration adds). */
  readonly models?: Models;
  /** The models it stores beyond the contract's (its `extraModels` option); the facade serves each at `/<name>s`. */
  readonly extraModels?: readonly ModelSpec[];
  /** The FHIR resource type a model is stored as, when the backend knows one (the facade's scope checks use it). */
  fhirResourceType?(model: string): string | undefined;
  /** The patient's links, or `null` when the patient does not exist. */
  getPatientLinks?(id: string): Promise<PatientLink[] | null>;
  /** Resolves when the backend can serve requests; rejects with the reason otherwise. */
  checkReady?(): Promise<void>;
  /** Releases resources (timers, sockets). */
  close?(): Promise<void>;
}

export type { ComparisonOperator };
