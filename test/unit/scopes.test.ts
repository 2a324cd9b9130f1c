/** SMART scope parsing and checks (src/http/scopes.ts): v2 letters, v1 actions, contexts, wildcards. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patientModel, providerModel } from '../../src/api/models.js';
import { allows, parseScope, scopeResourceType } from '../../src/http/scopes.js';
import { locationModel } from '../support/location-model.js';

describe('SMART scopes', () => {
  it('v2 letters in cruds order, v1 read (rs), write (cud) and * (cruds), for system/ and user/', () => {
    const letters = (scope: string) => [...(parseScope(scope)?.permissions ?? [])].sort().join('');
    assert.equal(letters('system/Patient.rs'), 'rs');
    assert.equal(letters('user/Practitioner.cruds'), 'cdrsu');
    assert.equal(letters('system/Patient.read'), 'rs');
    assert.equal(letters('system/Patient.write'), 'cdu');
    assert.equal(letters('user/*.*'), 'cdrsu');
  });

  it('refuses patient/ context, letters out of order or repeated, constraints, empty and unknown actions', () => {
    for (const scope of [
      'patient/Patient.read',
      'system/Patient.sr',
      'system/Patient.rr',
      'system/Patient.rs?category=x',
      'system/Patient.',
      'system/Patient.all',
      'openid',
      'system/patient.r',
    ])
      assert.equal(parseScope(scope), undefined, scope);
  });

  it('allows a permission only on the named type or *, only with the letter granted', () => {
    assert.ok(allows(['system/Patient.rs'], 'Patient', 's'));
    assert.ok(!allows(['system/Patient.rs'], 'Patient', 'c'));
    assert.ok(!allows(['system/Patient.rs'], 'Practitioner', 'r'));
    assert.ok(allows(['openid', 'user/*.write'], 'Location', 'd'));
    assert.ok(!allows(['patient/*.*'], 'Patient', 'r'));
    assert.ok(!allows([], 'Patient', 'r'));
  });

  it('models map to Patient, Practitioner (providers) and a third model to its own name', () => {
    assert.equal(scopeResourceType(patientModel), 'Patient');
    assert.equal(scopeResourceType(providerModel), 'Practitioner');
    assert.equal(scopeResourceType(locationModel), 'Location');
  });
});
