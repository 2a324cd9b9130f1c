/** parseHttpUrl: the one absolute http(s) URL check (base URLs, token endpoints, OIDC issuers). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseHttpUrl } from '../../src/shared/http-url.js';

it('parses absolute http and https URLs, and nothing else (other schemes, relative, not a string)', () => {
  assert.equal(parseHttpUrl('http://127.0.0.1:8090/fhir')?.href, 'http://127.0.0.1:8090/fhir');
  assert.equal(parseHttpUrl('HTTPS://Example.org/a?b#c')?.href, 'https://example.org/a?b#c');
  for (const value of ['ftp://example.org/', 'file:///etc/passwd', 'javascript:alert(1)']) {
    assert.equal(parseHttpUrl(value), undefined, value);
  }
  for (const value of ['/fhir', 'example.org', '', 'http//x', undefined, null, 42, {}]) {
    assert.equal(parseHttpUrl(value), undefined, JSON.stringify(value) ?? 'undefined');
  }
});
