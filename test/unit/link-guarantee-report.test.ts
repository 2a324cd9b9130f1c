/**
 * The link-guarantee report `healthcare-fhir check` prints, against the exact
 * FHIR answers (nock): guaranteed, missing on HAPI (and installed with
 * `install`), and a server that cannot enforce it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nock from 'nock';
import { useStrictNock } from '../support/strict-nock.js';
import { FhirRestClient } from '../../src/backends/fhir/fhir-rest.js';
import { linkSearchParameters } from '../../src/backends/fhir/link-guarantee.js';
import { reportLinkGuarantee } from '../../src/backends/fhir/link-guarantee-report.js';

const origin = 'http://fhir.test';
const rest = () => new FhirRestClient({ baseUrl: `${origin}/fhir`, retry: false });
const metadata = (name: string) =>
  nock(origin)
    .get('/fhir/metadata')
    .reply(200, { resourceType: 'CapabilityStatement', software: { name } });
const spAnswers = (present: boolean, times = 1) => {
  for (const sp of linkSearchParameters())
    nock(origin)
      .get(`/fhir/SearchParameter/${sp.id}`)
      .times(times)
      .reply(present ? 200 : 404, present ? sp : { resourceType: 'OperationOutcome' });
};

useStrictNock();

describe('link guarantee report (check)', () => {
  it('HAPI with both SearchParameters: guaranteed, no warning', async () => {
    metadata('HAPI FHIR Server');
    spAnswers(true);
    const report = await reportLinkGuarantee(rest());
    assert.equal(report.guaranteed, true);
    assert.equal(report.warning, false);
    assert.match(report.lines[0]!, /^unique links: guaranteed by the server/);
  });

  it('HAPI without them: a warning naming each missing SearchParameter and how to install it', async () => {
    metadata('HAPI FHIR Server');
    spAnswers(false, 2);
    const report = await reportLinkGuarantee(rest());
    assert.equal(report.guaranteed, false);
    assert.equal(report.warning, true);
    assert.match(report.lines[0]!, /^WARNING unique links: not guaranteed/);
    for (const sp of linkSearchParameters())
      assert.ok(
        report.lines.some((l) => l.includes(`SearchParameter/${sp.id}`)),
        sp.id,
      );
    assert.ok(report.lines.some((l) => l.includes('--install')));
  });

  it('install: PUTs each missing SearchParameter by id, then reports the guarantee', async () => {
    metadata('HAPI FHIR Server');
    spAnswers(false, 3);
    const put: string[] = [];
    nock(origin)
      .put(/\/fhir\/SearchParameter\/.*/)
      .times(2)
      .reply(201, (uri, body) => {
        put.push(uri);
        return body as object;
      });
    spAnswers(true);
    const report = await reportLinkGuarantee(rest(), {}, { install: true });
    assert.deepEqual(
      put,
      linkSearchParameters().map((sp) => `/fhir/SearchParameter/${sp.id}`),
    );
    assert.equal(report.guaranteed, true);
    assert.equal(report.warning, false);
  });

  it('a server not known to enforce sp-unique: a warning that it cannot be installed, nothing written', async () => {
    metadata('Some FHIR Server');
    const report = await reportLinkGuarantee(rest(), {}, { install: true });
    assert.equal(report.guaranteed, false);
    assert.ok(report.lines.some((l) => l.startsWith('cannot install: Some FHIR Server')));
  });
});
