/** The package edge (src/api/named-methods.ts): stores → named methods for our backends, a user's named methods → stores. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storesOf } from '../../src/api/named-methods.js';
import { collectRecords } from '../../src/api/record-store.js';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { HealthcareAPI, MemoryStorage } from '../../src/index.js';
import type { HealthcareStorage } from '../../src/index.js';

/** A storage written elsewhere: only the contract's named methods (no stores, no iter…s). */
function namedOnly(inner: MemoryStorage): HealthcareStorage {
  return {
    getPatient: (id, source) => inner.getPatient(id, source),
    createPatient: (data) => inner.createPatient(data),
    updatePatient: (id, data) => inner.updatePatient(id, data),
    deletePatient: (id) => inner.deletePatient(id),
    filterPatients: (...lookups) => inner.filterPatients(...lookups),
    linkPatient: (id, sourceId, sourceName) => inner.linkPatient(id, sourceId, sourceName),
    unlinkPatient: (id, sourceId, sourceName) => inner.unlinkPatient(id, sourceId, sourceName),
    getProvider: (id) => inner.getProvider(id),
    createProvider: (data) => inner.createProvider(data),
    updateProvider: (id, data) => inner.updateProvider(id, data),
    deleteProvider: (id) => inner.deleteProvider(id),
    filterProviders: (...lookups) => inner.filterProviders(...lookups),
  };
}

describe('the named-methods edge', () => {
  it("a backend of this package is its own stores: storesOf answers the storage's stores and links", () => {
    const storage = new MemoryStorage();
    const { stores, links } = storesOf(storage);
    assert.equal(stores.patient, storage.stores.patient);
    assert.equal(stores.provider, storage.stores.provider);
    assert.equal(links.patient, storage.links.patient);
  });

  it('the named methods of our backends write through the stores: getPatient finds what stores.patient created', async () => {
    const storage = new MemoryStorage();
    const made = await storage.stores.patient.create({ name: 'Ada' });
    assert.deepEqual(await storage.getPatient(made.id!), made);
    assert.equal(await storage.linkPatient(made.id!, 's1', 'mrn'), true);
    assert.deepEqual(await storage.links.patient.getLinked('s1', 'mrn'), made);
    assert.deepEqual(await storage.getPatientLinks(made.id!), [
      { source_id: 's1', source_name: 'mrn' },
    ]);
    assert.equal(await storage.updateProvider('nope', { name: 'X' }), false);
  });

  it("a user's storage of named methods serves HealthcareAPI: update reads the record back, iter falls back to filter, links work", async () => {
    const api = new HealthcareAPI(namedOnly(new MemoryStorage()));
    const made = await api.patients.create({ name: 'Grace' });
    assert.equal(await api.patients.update(made.id, { location: 'North' }), true);
    assert.equal((await api.patients.get(made.id)).location, 'North');
    assert.equal(await api.patients.link(made.id, 'e7', 'emr'), true);
    assert.equal((await api.patients.get('e7', 'emr')).id, made.id);
    const streamed: string[] = [];
    for await (const p of api.patients.iter({ name__like: 'Gra' })) streamed.push(p.id);
    assert.deepEqual(streamed, [made.id]);
    const { stores, links } = storesOf(namedOnly(new MemoryStorage()));
    assert.equal(await stores.provider.update('404', { name: 'X' }), null);
    assert.ok(!('links' in links.patient), 'no getPatientLinks: the link store cannot list');
  });

  it("a user's storage resumes from a cursor through its filter, in streaming order", async () => {
    const inner = new MemoryStorage();
    const { stores } = storesOf(namedOnly(inner));
    const a = await inner.createProvider({ name: 'A' });
    const b = await inner.createProvider({ name: 'B' });
    const after = { after: a.updated_date, ids: [a.id] };
    const rest = await collectRecords(stores.provider.iterate([], { after }));
    assert.deepEqual(
      rest.map((r) => r.id),
      [b.id],
    );
  });

  it('a store declares bulk import writes as a capability: FhirStorage has them, MemoryStorage not', () => {
    const fhir = new FhirStorage({ baseUrl: 'http://127.0.0.1:9/fhir' });
    assert.equal(typeof fhir.stores.patient.imports?.importRows, 'function');
    assert.equal(typeof fhir.stores.provider.imports?.legacyImportedRows, 'function');
    assert.equal(new MemoryStorage().stores.patient.imports, undefined);
  });
});
