/** isHapi: the one way HAPI FHIR is recognised, by /metadata software.name or X-Powered-By. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isHapi } from '../../src/backends/fhir/hapi.js';

it('recognises HAPI FHIR by the word HAPI in a software name, any case, and nothing else', () => {
  for (const name of [
    'HAPI FHIR Server',
    'HAPI FHIR 8.8.0 REST Server (FHIR Server; FHIR 4.0.1/R4)',
    'hapi',
  ])
    assert.equal(isHapi(name), true, name);
  for (const name of ['Helios', 'Medplum', 'Shapiro FHIR', 'HAPIFHIR', '', undefined])
    assert.equal(isHapi(name), false, String(name));
});
