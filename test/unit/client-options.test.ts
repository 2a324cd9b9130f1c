import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FhirStorage, HttpStorage } from '../../src/index.js';
import { parseBaseUrl, parseTimeout } from '../../src/transport/http.js';

describe('client options are checked when the client is made', () => {
  it('base URLs: absolute http(s), normalised', () => {
    assert.equal(parseBaseUrl('X', 'http://h:8080/fhir/?a=1#b'), 'http://h:8080/fhir');
    assert.equal(parseBaseUrl('X', 'https://h/fhir'), 'https://h/fhir');
    for (const bad of ['fhir', '/fhir', 'ftp://h/fhir', '', undefined, 42]) {
      assert.throws(
        () => parseBaseUrl('X', bad),
        /^TypeError: X: baseUrl must be an absolute http\(s\) URL$/,
      );
    }
  });

  it('timeouts: a positive number of ms, or the default', () => {
    assert.equal(parseTimeout('X', undefined, 10_000), 10_000);
    assert.equal(parseTimeout('X', 250, 10_000), 250);
    for (const bad of [0, -1, Number.NaN, Infinity, '100', null]) {
      assert.throws(() => parseTimeout('X', bad, 10_000), /X: timeoutMs must be a positive number/);
    }
  });

  it('FhirStorage and HttpStorage refuse bad options with their own name', () => {
    assert.throws(() => new FhirStorage({ baseUrl: 'nope' }), /^TypeError: FhirStorage: baseUrl/);
    assert.throws(
      () => new FhirStorage({ baseUrl: 'http://h/fhir', timeoutMs: 0 }),
      /FhirStorage: timeoutMs/,
    );
    assert.throws(() => new HttpStorage({ baseUrl: 'nope' }), /^TypeError: HttpStorage: baseUrl/);
    assert.throws(
      () => new HttpStorage({ baseUrl: 'http://h', timeoutMs: -5 }),
      /HttpStorage: timeoutMs/,
    );
  });
});
