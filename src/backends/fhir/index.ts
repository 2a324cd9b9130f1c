/**
 * The FHIR backend: patients are `Patient` and providers `Practitioner`
 * resources on a FHIR R4 server (HAPI FHIR), mapped field by field as the
 * mapping files say. See docs/fhir-backend.md for the design and README.md for the mapping files.
 */
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { ConflictError, StorageUnavailableError } from '../../api/errors.js';
import { matchesAll } from '../../api/matching.js';
import { patientModel, providerModel, type ModelSpec, type Models } from '../../api/models.js';
import { completeRecord, withDefaults } from '../../api/records.js';
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
import {
  FhirClient,
  escapeSearchValue,
  isFhirId,
  type FhirIdentifier,
  type FhirResource,
  type HeaderMap,
} from './client.js';
import {
  defaultMappingsDir,
  loadMappingFile,
  readField,
  writeField,
  type FieldMapping,
  type ResourceMapping,
} from './mapping.js';
import { planSearch, type SearchParams } from './search.js';
import { DEFAULT_SYSTEM_BASE } from './link-guarantee.js';
import type { FhirAuthOptions } from '../../transport/auth.js';
import type { RetryOptions } from '../../transport/retry.js';

export {
  FhirClient,
  escapeSearchValue,
  isFhirId,
  buildQuery,
  type FhirClientOptions,
} from './client.js';
export {
  FhirMappingError,
  parseMapping,
  type ResourceMapping,
  type FieldMapping,
} from './mapping.js';

export interface FhirStorageOptions {
  /** The FHIR server's base URL, e.g. `http://localhost:8080/fhir`. */
  baseUrl: string;
  /** Extra headers on every request. */
  headers?: HeaderMap;
  /** Called before every request; the headers it returns (e.g. `Authorization`) are added. */
  authorize?: () => Promise<HeaderMap> | HeaderMap;
  /** Credentials for the FHIR server: bearer, basic, OAuth 2.0 client credentials or SMART Backend Services. */
  auth?: FhirAuthOptions;
  /** Retries of GET, DELETE and If-Match PUT on transient failures (default 5 attempts within 10 s); `false`: none. */
  retry?: RetryOptions | false;
  /** Per request, default 10000. */
  timeoutMs?: number;
  /** Search page size (`_count`), default 200 (the largest page stock HAPI serves). */
  pageSize?: number;
  /** Directory holding `patient.json` and `practitioner.json`; default `<package root>/mappings`. */
  mappingsDir?: string;
  /** Source name → identifier system URI, for sources with a system of their own (e.g. an MRN system). */
  identifierSystems?: Record<string, string>;
  /** System URI prefix for every other source name (+ `encodeURIComponent(name)`); default `urn:healthcare-fhir:source:`. */
  identifierSystemBase?: string;
  /** When set, every resource written gets this `meta.tag`, and searches are restricted to it. */
  scopeTag?: { system: string; code: string };
  /** Times an update that lost a race (412) is re-read and re-applied before `ConflictError`; default 10. */
  maxRetries?: number;
}

/** Serialises async work per key, within this process. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

const COMMON_SEARCH_PARAMS = ['_id', '_lastUpdated', '_tag'];

type Row = Record<string, string | null>;
type Mutate = (resource: FhirResource) => void;

/** Matches the identifier that stores the link `(system, value)`. */
const isLinkIdentifier =
  (system: string, value: string) =>
  (identifier: FhirIdentifier | undefined): boolean =>
    identifier?.system === system && identifier?.value === value;

/** One model on one resource type. */
class FhirTable {
  readonly model: ModelSpec;
  readonly type: string;
  private readonly created?: FieldMapping;
  private readonly updated?: FieldMapping;
  private supported?: Promise<ReadonlySet<string>>;

  constructor(
    private readonly owner: FhirStorage,
    readonly mapping: ResourceMapping,
  ) {
    this.model = mapping.model;
    this.type = mapping.resourceType;
    this.created = [...mapping.fields.values()].find((m) => m.generated === 'created');
    this.updated = [...mapping.fields.values()].find((m) => m.generated === 'updated');
  }

  /**
   * The record of a resource. created_date never reads later than
   * updated_date, whoever wrote the extension (a clock ahead of the server's,
   * a fix that failed): filters push a lower bound on created_date down as one
   * on meta.lastUpdated, which relies on it.
   */
  toRecord(resource: FhirResource): Row {
    const values: Row = { id: resource.id ?? null };
    for (const [field, m] of this.mapping.fields) values[field] = readField(resource, m);
    if (this.created && this.updated) {
      const created = values[this.created.field];
      const updated = values[this.updated.field];
      if (created && updated && Date.parse(created) > Date.parse(updated))
        values[this.created.field] = updated;
    }
    return completeRecord(this.model, values);
  }

  async get(id: unknown): Promise<Row | null> {
    const key = validateId(id);
    if (!isFhirId(key)) return null;
    const resource = await this.owner.client.read(this.type, key);
    return resource ? this.toRecord(resource) : null;
  }

  async create(data: unknown): Promise<Row> {
    const values = withDefaults(this.model, validateRecordInput(this.model, data, 'create'));
    const resource: FhirResource = { resourceType: this.type };
    this.owner.applyScopeTag(resource);
    for (const [field, value] of Object.entries(values)) {
      if (value !== null) writeField(resource, this.mapping.fields.get(field)!, value);
    }
    const now = new Date().toISOString();
    if (this.created) writeField(resource, this.created, now);
    let stored = await this.owner.client.create(this.type, resource);
    // created_date <= updated_date even when our clock is ahead of the server's:
    // one PUT (If-Match on the version just created) sets it to the server's first lastUpdated
    const lastUpdated = stored.meta?.lastUpdated;
    const versionId = stored.meta?.versionId;
    if (this.created && lastUpdated && Date.parse(lastUpdated) < Date.parse(now)) {
      const fix = (r: FhirResource) =>
        writeField(r, this.created!, new Date(lastUpdated).toISOString());
      const next = structuredClone(stored) as FhirResource & { id: string };
      fix(next);
      try {
        const outcome = versionId
          ? await this.owner.client.update(this.type, next, versionId)
          : ({ kind: 'conflict' } as const);
        if (outcome.kind === 'updated') stored = outcome.resource;
        else stored = (await this.modify(stored.id!, fix)) ?? stored;
      } catch (error) {
        // the record exists (its created_date reads as lastUpdated all the same):
        // failing now would make a retry create it twice
        if (!(error instanceof StorageUnavailableError || error instanceof ConflictError))
          throw error;
      }
    }
    return this.toRecord(stored);
  }

  async update(id: unknown, data: unknown): Promise<boolean> {
    const values = validateRecordInput(this.model, data, 'update');
    const key = validateId(id);
    if (!isFhirId(key)) return false;
    const result = await this.modify(key, (resource) => {
      for (const [field, value] of Object.entries(values))
        writeField(resource, this.mapping.fields.get(field)!, value);
    });
    return result !== null;
  }

  async delete(id: unknown): Promise<boolean> {
    const key = validateId(id);
    if (!isFhirId(key)) return false;
    return this.owner.writes.run(
      `${this.type}/${key}`,
      async () => (await this.owner.client.delete(this.type, key)) === 'deleted',
    );
  }

  async filter(lookups: readonly Lookup[]): Promise<Row[]> {
    const normalized = validateLookups(this.model, lookups);
    const supported = normalized.some((l) => l.field !== 'id')
      ? await this.searchParams()
      : new Set<string>();
    const plan = planSearch(this.mapping, normalized, supported);
    if (plan === null) return [];
    const resources = await this.owner.search(this.type, plan);
    return resources.map((r) => this.toRecord(r)).filter((row) => matchesAll(row, normalized));
  }

  /** The search parameters the server lists for this resource type (asked once, from /metadata). */
  private searchParams(): Promise<ReadonlySet<string>> {
    this.supported ??= this.owner.client.capabilities().then(
      (statement) => {
        const names = new Set(COMMON_SEARCH_PARAMS);
        const rest = (
          statement as {
            rest?: { resource?: { type?: string; searchParam?: { name?: string }[] }[] }[];
          }
        ).rest;
        for (const r of rest ?? []) {
          for (const resource of r?.resource ?? []) {
            if (resource?.type !== this.type) continue;
            for (const p of resource.searchParam ?? [])
              if (typeof p?.name === 'string') names.add(p.name);
          }
        }
        return names;
      },
      (error: unknown) => {
        this.supported = undefined;
        throw error;
      },
    );
    return this.supported;
  }

  /**
   * Read, change, PUT with `If-Match` on the version read; on 412 read again
   * and re-apply. Returns the stored resource, or `null` when it does not exist.
   * When `mutate` changes nothing, nothing is written (the current resource is returned).
   */
  modify(id: string, mutate: Mutate): Promise<FhirResource | null> {
    return this.owner.writes.run(`${this.type}/${id}`, async () => {
      for (let attempt = 0; ; attempt++) {
        const current = await this.owner.client.read(this.type, id);
        if (!current) return null;
        const next = structuredClone(current);
        mutate(next);
        if (isDeepStrictEqual(current, next)) return current;
        this.owner.applyScopeTag(next);
        // created_date is frozen at the value shown so far: a resource written by
        // others has no extension, and one may be ahead of meta.lastUpdated
        if (this.created) {
          const shown = this.toRecord(current)[this.created.field];
          if (shown && readField(current, { ...this.created, fallback: undefined }) !== shown)
            writeField(next, this.created, shown);
        }
        const versionId = current.meta?.versionId;
        if (!versionId) {
          throw new StorageUnavailableError(
            'bad-response',
            `the FHIR server sent a ${this.type} without meta.versionId`,
          );
        }
        const outcome = await this.owner.client.update(
          this.type,
          next as FhirResource & { id: string },
          versionId,
        );
        if (outcome.kind === 'updated') return outcome.resource;
        if (outcome.kind === 'created') {
          // deleted between our read and our write: the PUT brought it back; undo that
          await this.owner.client.delete(this.type, id);
          return null;
        }
        if (attempt >= this.owner.maxRetries) {
          throw new ConflictError(
            `${this.type} ${id} kept changing; gave up after ${attempt + 1} attempts`,
          );
        }
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
      }
    });
  }
}

export class FhirStorage implements HealthcareStorage {
  readonly models: Models;
  /** The FHIR client (exposed for diagnostics and tests). */
  readonly client: FhirClient;
  readonly maxRetries: number;
  /** Per-resource write serialisation in this process (fewer 412 round trips). */
  readonly writes = new KeyedMutex();
  private readonly links = new KeyedMutex();
  private readonly patients: FhirTable;
  private readonly providers: FhirTable;
  private readonly pageSize: number;
  private readonly scopeTag?: { system: string; code: string };
  private readonly systemBase: string;
  private readonly systems: ReadonlyMap<string, string>;
  private readonly sourceNames: ReadonlyMap<string, string>;

  /**
   * Loads and checks the mapping files synchronously: a malformed mapping
   * throws `FhirMappingError` here. No request is sent until the first call.
   */
  constructor(options: FhirStorageOptions) {
    if (!options || typeof options !== 'object')
      throw new TypeError('FhirStorage: options with a baseUrl are required');
    this.client = new FhirClient(options);
    this.pageSize = options.pageSize ?? 200;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1)
      throw new TypeError('FhirStorage: pageSize must be a positive integer');
    this.maxRetries = options.maxRetries ?? 10;
    if (options.scopeTag) {
      const { system, code } = options.scopeTag;
      if (typeof system !== 'string' || !system || typeof code !== 'string' || !code) {
        throw new TypeError('FhirStorage: scopeTag needs a non-empty system and code');
      }
      this.scopeTag = { system, code };
    }
    this.systemBase = options.identifierSystemBase ?? DEFAULT_SYSTEM_BASE;
    const systems = new Map<string, string>();
    const names = new Map<string, string>();
    for (const [name, system] of Object.entries(options.identifierSystems ?? {})) {
      if (typeof system !== 'string' || !system)
        throw new TypeError(
          `FhirStorage: identifierSystems[${JSON.stringify(name)}] must be a URI`,
        );
      if (names.has(system))
        throw new TypeError(`FhirStorage: identifierSystems maps two source names to ${system}`);
      systems.set(name, system);
      names.set(system, name);
    }
    this.systems = systems;
    this.sourceNames = names;
    const dir = options.mappingsDir ?? defaultMappingsDir();
    this.patients = new FhirTable(
      this,
      loadMappingFile(path.join(dir, 'patient.json'), patientModel),
    );
    this.providers = new FhirTable(
      this,
      loadMappingFile(path.join(dir, 'practitioner.json'), providerModel),
    );
    this.models = { patient: this.patients.model, provider: this.providers.model };
  }

  /** Adds the scope tag (when configured) to `meta.tag`, keeping other tags. */
  applyScopeTag(resource: FhirResource): void {
    if (!this.scopeTag) return;
    const meta = (resource.meta ??= {});
    const tags = (meta.tag ??= []);
    if (!tags.some((t) => t.system === this.scopeTag!.system && t.code === this.scopeTag!.code)) {
      tags.push({ ...this.scopeTag });
    }
  }

  /** A search restricted to the scope tag, paged by `_count`. */
  search(type: string, params: SearchParams): Promise<FhirResource[]> {
    const all: [string, string][] = [...params];
    if (this.scopeTag) {
      all.push([
        '_tag',
        `${escapeSearchValue(this.scopeTag.system)}|${escapeSearchValue(this.scopeTag.code)}`,
      ]);
    }
    all.push(['_count', String(this.pageSize)]);
    return this.client.search(type, all);
  }

  // ------------------------------------------------------------ identifiers (links)

  /** The identifier system of a source name. */
  systemFor(sourceName: string): string {
    return this.systems.get(sourceName) ?? `${this.systemBase}${encodeURIComponent(sourceName)}`;
  }

  /** The source name an identifier system stands for, or `undefined` (an identifier someone else added). */
  sourceNameFor(system: unknown): string | undefined {
    if (typeof system !== 'string') return undefined;
    const configured = this.sourceNames.get(system);
    if (configured !== undefined) return configured;
    if (!system.startsWith(this.systemBase)) return undefined;
    const encoded = system.slice(this.systemBase.length);
    try {
      const name = decodeURIComponent(encoded);
      return encodeURIComponent(name) === encoded && !this.systems.has(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }

  private static holds(resource: FhirResource, system: string, value: string): boolean {
    return (resource.identifier ?? []).some(isLinkIdentifier(system, value));
  }

  /** The patients holding the identifier (one search). */
  private async holders(system: string, value: string): Promise<FhirResource[]> {
    const found = await this.search(this.patients.type, [
      ['identifier', `${escapeSearchValue(system)}|${escapeSearchValue(value)}`],
    ]);
    return found.filter((r) => FhirStorage.holds(r, system, value));
  }

  async getPatient(id: string, source?: string | null): Promise<PatientRecord | null> {
    if (source === undefined || source === null)
      return (await this.patients.get(id)) as PatientRecord | null;
    const pair = validateSourcePair(id, source);
    const [found] = await this.holders(this.systemFor(pair[1]), pair[0]);
    return found ? (this.patients.toRecord(found) as PatientRecord) : null;
  }

  async linkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const pair = validateSourcePair(sourceId, sourceName);
    if (!isFhirId(validateId(id))) return false;
    const system = this.systemFor(pair[1]);
    const value = pair[0];
    return this.links.run(JSON.stringify([system, value]), async () => {
      if ((await this.holders(system, value)).length > 0) return false;
      let added = false;
      const stored = await this.patients.modify(id, (patient) => {
        added = !FhirStorage.holds(patient, system, value);
        if (added) (patient.identifier ??= []).push({ system, value } satisfies FhirIdentifier);
      });
      if (!stored || !added) return false;
      // another process may have linked the pair meanwhile: if so, take ours back
      const holders = await this.holders(system, value);
      if (holders.some((h) => h.id !== id)) {
        await this.removeIdentifier(id, system, value);
        return false;
      }
      return true;
    });
  }

  private async removeIdentifier(id: string, system: string, value: string): Promise<boolean> {
    let removed = false;
    const stored = await this.patients.modify(id, (patient) => {
      const list = patient.identifier ?? [];
      const at = list.findIndex(isLinkIdentifier(system, value));
      removed = at >= 0;
      if (!removed) return;
      list.splice(at, 1);
      if (list.length === 0) delete patient.identifier;
    });
    return stored !== null && removed;
  }

  async unlinkPatient(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    const pair = validateSourcePair(sourceId, sourceName);
    if (!isFhirId(validateId(id))) return false;
    return this.removeIdentifier(id, this.systemFor(pair[1]), pair[0]);
  }

  async getPatientLinks(id: string): Promise<PatientLink[] | null> {
    if (!isFhirId(validateId(id))) return null;
    const patient = await this.client.read(this.patients.type, id);
    if (!patient) return null;
    const links: PatientLink[] = [];
    for (const identifier of patient.identifier ?? []) {
      const name = this.sourceNameFor(identifier?.system);
      if (name !== undefined && typeof identifier.value === 'string')
        links.push({ source_id: identifier.value, source_name: name });
    }
    return links;
  }

  // ------------------------------------------------------------ records

  async createPatient(data: PatientInput): Promise<PatientRecord> {
    return (await this.patients.create(data)) as PatientRecord;
  }

  updatePatient(id: string, data: PatientInput): Promise<boolean> {
    return this.patients.update(id, data);
  }

  deletePatient(id: string): Promise<boolean> {
    return this.patients.delete(id);
  }

  async filterPatients(...lookups: Lookup[]): Promise<PatientRecord[]> {
    return (await this.patients.filter(lookups)) as PatientRecord[];
  }

  async getProvider(id: string): Promise<ProviderRecord | null> {
    return (await this.providers.get(id)) as ProviderRecord | null;
  }

  async createProvider(data: ProviderInput): Promise<ProviderRecord> {
    return (await this.providers.create(data)) as ProviderRecord;
  }

  updateProvider(id: string, data: ProviderInput): Promise<boolean> {
    return this.providers.update(id, data);
  }

  deleteProvider(id: string): Promise<boolean> {
    return this.providers.delete(id);
  }

  async filterProviders(...lookups: Lookup[]): Promise<ProviderRecord[]> {
    return (await this.providers.filter(lookups)) as ProviderRecord[];
  }

  /** One GET /metadata with a short timeout (at most 3 s). */
  async checkReady(): Promise<void> {
    await this.client.capabilities(Math.min(this.client.timeoutMs, 3000), true);
  }

  async close(): Promise<void> {}
}
