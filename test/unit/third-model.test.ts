/** A third model (a facility `location`) needs only a model spec: the generic per-model wrapper does the rest. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelApi } from '../../src/api/client.js';
import { APIError, ValidationError, comparisons as C } from '../../src/index.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { locationModel } from '../support/location-model.js';
import { filterRecords } from '../../src/api/record-store.js';

describe('a throwaway third model on the memory backend', () => {
  it('creates, gets, updates, filters and deletes locations from the model spec alone', async () => {
    const storage = new MemoryStorage({ extraModels: [locationModel] });
    const locations = storage.store('location');
    const made = await locations.create({
      name: 'North Clinic',
      kind: 'clinic',
      opened: '2020-05-01',
    });
    assert.deepEqual(Object.keys(made).sort(), Object.keys(locationModel.fields).sort());
    assert.equal(made.kind, 'clinic');
    assert.deepEqual(await locations.get(made.id!), made);
    const updated = await locations.update(made.id!, { kind: 'hospital' });
    assert.equal(updated?.kind, 'hospital');
    assert.deepEqual(await locations.get(made.id!), updated);
    await locations.create({ name: 'South Hospital', kind: 'hospital', opened: '2010-01-01' });
    const recent = await filterRecords(locations, [['opened', C.GTE, '2015-01-01']]);
    assert.deepEqual(
      recent.map((r) => r.name),
      ['North Clinic'],
    );
    assert.equal(await locations.delete(made.id!), true);
    assert.equal(await locations.get(made.id!), null);
  });

  it('validates against the spec: an unknown value or field is a ValidationError, nothing written', async () => {
    const locations = new MemoryStorage({ extraModels: [locationModel] }).store('location');
    await assert.rejects(locations.create({ name: 'X', kind: 'spa' }), ValidationError);
    await assert.rejects(locations.create({ name: 'X', beds: '3' }), ValidationError);
    await assert.rejects(filterRecords(locations, [['beds', C.EQUAL, '3']]), ValidationError);
    assert.deepEqual(await filterRecords(locations, []), []);
  });

  it('the generic client API serves it too: get of a missing location throws the given error', async () => {
    const storage = new MemoryStorage({ extraModels: [locationModel] });
    const api = new ModelApi(storage.store('location'), (id) => new APIError(`no location ${id}`));
    const made = await api.create({ name: 'East Clinic', kind: 'clinic' });
    assert.deepEqual(await api.filter({ name__like: 'East' }), [made]);
    await assert.rejects(api.get('999'), /no location 999/);
  });

  it('the contract models are untouched: patients and providers still work beside it', async () => {
    const storage = new MemoryStorage({ extraModels: [locationModel] });
    const patient = await storage.createPatient({ name: 'Jo' });
    assert.equal((await storage.getPatient(patient.id))?.name, 'Jo');
    assert.equal(await storage.linkPatient(patient.id, 's1', 'mrn'), true);
    assert.equal((await storage.getPatient('s1', 'mrn'))?.id, patient.id);
  });
});
