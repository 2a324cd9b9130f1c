/**
 * The unique link SearchParameters: the repository's JSON is what the default
 * systems need, and configured systems are added to the expression with
 * FHIRPath string escaping. Their effect is tested on HAPI in
 * test/integration/link-guarantee.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  linkIdentifierExpression,
  linkSearchParameterTemplates,
  linkSearchParameters,
} from '../../src/backends/fhir/link-guarantee.js';

describe('link SearchParameters', () => {
  it('for the default systems they are exactly the JSON files in fhir-server/search-parameters', () => {
    assert.deepEqual(linkSearchParameters(), linkSearchParameterTemplates());
  });

  it('the unique one is a HAPI sp-unique composite over the link token parameter', () => {
    const [token, unique] = linkSearchParameters();
    assert.equal(token!.type, 'token');
    assert.equal(unique!.type, 'composite');
    assert.deepEqual(unique!.extension, [
      { url: 'http://hapifhir.io/fhir/StructureDefinition/sp-unique', valueBoolean: true },
    ]);
    assert.deepEqual(
      (unique!.component as { definition: string }[]).map((c) => c.definition),
      [token!.url],
    );
    assert.deepEqual(unique!.base, token!.base);
  });

  it('selects configured source systems too, escaping quotes and backslashes', () => {
    const expression = linkIdentifierExpression({
      identifierSystemBase: 'urn:x:',
      identifierSystems: { mrn: "http://h.example/it's", lab: 'urn:a\\b' },
    });
    const condition =
      "system.startsWith('urn:x:') or system = 'http://h.example/it\\'s' or system = 'urn:a\\\\b'";
    assert.equal(
      expression,
      `Patient.identifier.where(${condition}) | Practitioner.identifier.where(${condition})`,
    );
    assert.equal(
      linkSearchParameters({ identifierSystemBase: 'urn:x:' })[0]!.expression,
      "Patient.identifier.where(system.startsWith('urn:x:')) | Practitioner.identifier.where(system.startsWith('urn:x:'))",
    );
  });
});
