/**
 * The in-process reference backend (the seed's DummyStorage, done right):
 * the contract's semantics with nothing in the way. For tests and demos;
 * data lives as long as the object.
 */
import { defaultModels, type ModelSpec, type Models } from '../../api/models.js';
import { matchesAll } from '../../api/matching.js';
import { completeRecord, nextTimestamp, withDefaults } from '../../api/records.js';
import type {
  HealthcareStorage,
  Lookup,
  PatientInput,
  PatientLink,
  PatientRecord,
  ProviderInput,
  ProviderRecord,
} from '../../api/types.js';
import {
  validateId,
  validateLookups,
  validateRecordInput,
  validateSourcePair,
} from '../../api/validation.js';

type StoredRecord = Record<string, string | null>;

/** One model's records: copies in, copies out, never a shared reference. */
class MemoryTable {
  private readonly rows = new Map<string, StoredRecord>();
  private lastId = 0;

  constructor(readonly model: ModelSpec) {}

  get(id: string): StoredRecord | null {
    const row = this.rows.get(validateId(id));
    return row ? { ...row } : null;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  create(data: unknown): StoredRecord {
    const values = withDefaults(this.model, validateRecordInput(this.model, data, 'create'));
    const now = nextTimestamp();
    const id = String(++this.lastId);
    const row = completeRecord(this.model, { ...values, id, created_date: now, updated_date: now });
    this.rows.set(id, row);
    return { ...row };
  }

  update(id: string, data: unknown): boolean {
    const values = validateRecordInput(this.model, data, 'update');
    const row = this.rows.get(validateId(id));
    if (!row) return false;
    this.rows.set(id, { ...row, ...values, updated_date: nextTimestamp(row.updated_date) });
    return true;
  }

  delete(id: string): boolean {
    return this.rows.delete(validateId(id));
  }

  filter(lookups: readonly Lookup[]): StoredRecord[] {
    const normalized = validateLookups(this.model, lookups);
    return [...this.rows.values()]
      .filter((row) => matchesAll(row, normalized))
      .map((row) => ({ ...row }));
  }
}

export interface MemoryStorageOptions {
  /** Models to store (defaults to the contract's patient and provider models). */
  models?: Models;
}

export class MemoryStorage implements HealthcareStorage {
  readonly models: Models;
  private readonly patients: MemoryTable;
  private readonly providers: MemoryTable;
  /** `JSON.stringify([sourceName, sourceId])` → patient id. */
  private readonly links = new Map<string, string>();

  constructor(options: MemoryStorageOptions = {}) {
    this.models = options.models ?? defaultModels;
    this.patients = new MemoryTable(this.models.patient);
    this.providers = new MemoryTable(this.models.provider);
  }

  private static linkKey(sourceId: string, sourceName: string): string {
    const [id, name] = validateSourcePair(sourceId, sourceName);
    return JSON.stringify([name, id]);
  }

  async getPatient(id: string, source?: string | null): Promise<PatientRecord | null> {
    if (source !== undefined && source !== null) {
      const patientId = this.links.get(MemoryStorage.linkKey(id, source));
      return patientId === undefined ? null : (this.patients.get(patientId) as PatientRecord);
    }
    return this.patients.get(id) as PatientRecord | null;
  }

  async createPatient(data: PatientInput): Promise<PatientRecord> {
    return this.patients.create(data) as PatientRecord;
  }

  async updatePatient(id: string, data: PatientInput): Promise<boolean> {
    return this.patients.update(id, data);
  }

  async deletePatient(id: string): Promise<boolean> {
    if (!this.patients.delete(id)) return false;
    for (const [key, patientId] of this.links) if (patientId === id) this.links.delete(key);
    return true;
  }

  async filterPatients(...lookups: Lookup[]): Promise<PatientRecord[]> {
    return this.patients.filter(lookups) as PatientRecord[];
  }

  async linkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const key = MemoryStorage.linkKey(sourceId, sourceName);
    if (!this.patients.has(validateId(id)) || this.links.has(key)) return false;
    this.links.set(key, id);
    return true;
  }

  async unlinkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const key = MemoryStorage.linkKey(sourceId, sourceName);
    if (this.links.get(key) !== validateId(id)) return false;
    return this.links.delete(key);
  }

  async getPatientLinks(id: string): Promise<PatientLink[] | null> {
    if (!this.patients.has(validateId(id))) return null;
    const result: PatientLink[] = [];
    for (const [key, patientId] of this.links) {
      if (patientId !== id) continue;
      const [source_name, source_id] = JSON.parse(key) as [string, string];
      result.push({ source_id, source_name });
    }
    return result;
  }

  async getProvider(id: string): Promise<ProviderRecord | null> {
    return this.providers.get(id) as ProviderRecord | null;
  }

  async createProvider(data: ProviderInput): Promise<ProviderRecord> {
    return this.providers.create(data) as ProviderRecord;
  }

  async updateProvider(id: string, data: ProviderInput): Promise<boolean> {
    return this.providers.update(id, data);
  }

  async deleteProvider(id: string): Promise<boolean> {
    return this.providers.delete(id);
  }

  async filterProviders(...lookups: Lookup[]): Promise<ProviderRecord[]> {
    return this.providers.filter(lookups) as ProviderRecord[];
  }

  async checkReady(): Promise<void> {}
}
