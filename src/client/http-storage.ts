/**
 * `HealthcareStorage` against a remote HTTP facade (contract §3), so a Node
 * application can use a facade with the same interface as a local backend.
 * One generic `HttpRecordStore` per model (its collection, `/patients`, …)
 * and an `HttpLinkStore` per linkable model, the named methods over them
 * (named-methods.ts); the requests and the facade's answers are
 * facade-connection.ts's.
 */
import { defaultModels, type ModelSpec } from '../api/models.js';
import { StorageOverStores } from '../api/named-methods.js';
import { isAfterCursor } from '../api/record-cursor.js';
import {
  storesFor,
  type IterateOptions,
  type LinkStore,
  type ModelLinks,
  type ModelStores,
  type RecordStore,
  type StoredRecord,
} from '../api/record-store.js';
import { ValidationError } from '../api/errors.js';
import type { HealthcareStorage, Lookup, PatientLink } from '../api/types.js';
import { validateId, validateSourcePair } from '../api/validation.js';
import { problemTypes } from '../api/problem-types.js';
import { isPlainObject } from '../shared/plain-object.js';
import {
  FacadeConnection,
  isMissing,
  isProblem,
  type HttpStorageOptions,
} from './facade-connection.js';

export type { HttpStorageOptions } from './facade-connection.js';

/** Ids that cannot travel as one path segment (URL parsers resolve dot segments); no store has them. */
const unsendableId = (id: string): boolean =>
  id === '' || id === '.' || id === '..' || /^%2e(%2e)?$/i.test(id);

function serialiseLookupValue(value: unknown): unknown {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (Array.isArray(value)) return value.map(serialiseLookupValue);
  return value;
}

/** One model's collection on the facade: `/<model>s` (`/patients`, `/providers`). */
class HttpRecordStore implements RecordStore {
  constructor(
    readonly model: ModelSpec,
    private readonly facade: FacadeConnection,
  ) {}

  /** `/patients`, or `/patients/<id><suffix>` with the id as one path segment. */
  path(id?: string, suffix = ''): string {
    const collection = `/${this.model.name}s`;
    return id === undefined ? collection : `${collection}/${encodeURIComponent(id)}${suffix}`;
  }

  get(id: string): Promise<StoredRecord | null> {
    return this.read(id);
  }

  /** GET of one record, `query` (e.g. `?source=…`) appended. */
  async read(id: string, query = ''): Promise<StoredRecord | null> {
    if (unsendableId(validateId(id))) return null;
    const response = await this.facade.recordRequest('GET', this.path(id) + query, [200]);
    return response && this.facade.record<StoredRecord>(response, 'GET');
  }

  async create(data: unknown): Promise<StoredRecord> {
    const response = await this.facade.request('POST', this.path(), data ?? null);
    if (response.status !== 201) throw this.facade.failure(response, 'POST');
    return this.facade.record<StoredRecord>(response, 'POST');
  }

  async update(id: string, data: unknown): Promise<StoredRecord | null> {
    if (unsendableId(validateId(id))) {
      // Still reject bad input the way every backend does, before saying "not found".
      if (!isPlainObject(data))
        throw new ValidationError('an update must be a JSON object of fields');
      return null;
    }
    const response = await this.facade.recordRequest('PATCH', this.path(id), [200], data ?? null);
    return response && this.facade.record<StoredRecord>(response, 'PATCH');
  }

  async delete(id: string): Promise<boolean> {
    if (unsendableId(validateId(id))) return false;
    return (await this.facade.recordRequest('DELETE', this.path(id), [204, 200])) !== null;
  }

  /** `POST …/_search` with `Accept: application/x-ndjson`: each record parsed as its line arrives. */
  async *iterate(
    lookups: readonly Lookup[],
    options: IterateOptions = {},
  ): AsyncGenerator<StoredRecord> {
    const body = {
      lookups: lookups.map((lookup) =>
        Array.isArray(lookup) ? lookup.map(serialiseLookupValue) : lookup,
      ),
    };
    for await (const record of this.facade.records<StoredRecord>(
      'POST',
      `${this.path()}/_search`,
      body,
    ))
      if (isAfterCursor(record, options.after)) yield record;
  }
}

/** A linkable model's links on the facade: `/<model>s/<id>/links` and `?source=`. */
class HttpLinkStore implements LinkStore {
  constructor(
    private readonly records: HttpRecordStore,
    private readonly facade: FacadeConnection,
  ) {}

  getLinked(sourceId: string, sourceName: string): Promise<StoredRecord | null> {
    validateSourcePair(sourceId, sourceName);
    return this.records.read(sourceId, `?source=${encodeURIComponent(sourceName)}`);
  }

  async link(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    validateId(id);
    validateSourcePair(sourceId, sourceName);
    if (unsendableId(id)) return false;
    const response = await this.facade.request('POST', this.records.path(id, '/links'), {
      source_id: sourceId,
      source_name: sourceName,
    });
    if (isMissing(response)) return false;
    if (response.status === 409 && isProblem(response, problemTypes.linkConflict)) return false;
    if (response.status !== 201 && response.status !== 200)
      throw this.facade.failure(response, 'POST');
    return true;
  }

  async unlink(id: string, sourceId: string, sourceName: string): Promise<boolean> {
    validateId(id);
    validateSourcePair(sourceId, sourceName);
    if (unsendableId(id)) return false;
    const query = `?source_id=${encodeURIComponent(sourceId)}&source_name=${encodeURIComponent(sourceName)}`;
    const path = this.records.path(id, '/links') + query;
    return (await this.facade.recordRequest('DELETE', path, [204, 200])) !== null;
  }

  async links(id: string): Promise<PatientLink[] | null> {
    if (unsendableId(validateId(id))) return null;
    const response = await this.facade.recordRequest('GET', this.records.path(id, '/links'), [200]);
    return response && this.facade.list<PatientLink>(response, 'GET');
  }
}

export class HttpStorage extends StorageOverStores implements HealthcareStorage {
  readonly stores: ModelStores;
  readonly links: ModelLinks;
  private readonly facade: FacadeConnection;

  constructor(options: HttpStorageOptions) {
    super();
    const facade = (this.facade = new FacadeConnection(options));
    ({ stores: this.stores, links: this.links } = storesFor(
      defaultModels,
      [],
      (model) => new HttpRecordStore(model, facade),
      (store) => new HttpLinkStore(store, facade),
    ));
  }

  /** Resolves when the facade's `/readyz` answers 200 (the storage behind it is ready). */
  async checkReady(): Promise<void> {
    const response = await this.facade.request('GET', '/readyz');
    if (response.status !== 200) throw this.facade.failure(response, 'GET');
  }

  async close(): Promise<void> {}
}
