/**
 * What a request needs from the transport (src/transport/authorized-send.ts):
 * which requests may be sent twice by what they are, and the one more try
 * with a renewed credential after a 401. nock stands in for the server; the
 * same against a real OAuth server is in test/auth/oauth-fhir.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nock from 'nock';
import { FhirAuth } from '../../src/transport/auth.js';
import { repeatable, sendAuthorized } from '../../src/transport/authorized-send.js';
import type { HttpRequest } from '../../src/transport/http.js';
import { DEFAULT_RETRY } from '../../src/transport/retry.js';
import { useStrictNock } from '../support/strict-nock.js';

useStrictNock();

const origin = 'http://fhir.test';
const request = (extra: Partial<HttpRequest>): HttpRequest => ({
  method: 'GET',
  url: `${origin}/fhir/Patient`,
  timeoutMs: 1000,
  ...extra,
});

/** A credential handing out `Bearer t1`, `Bearer t2`, … anew after each invalidation. */
class CountingAuth extends FhirAuth {
  readonly method = 'client-credentials';
  issued = 1;
  readonly invalidated: string[] = [];
  constructor(readonly refreshable: boolean) {
    super();
  }
  authorization(): Promise<string> {
    return Promise.resolve(`Bearer t${this.issued}`);
  }
  override invalidate(used: string): void {
    this.invalidated.push(used);
    if (this.refreshable) this.issued++;
  }
}

describe('which requests the transport may send twice', () => {
  it('reads, searches, deletes, If-Match PUTs and If-None-Exist creates; not plain creates, Bundles, PUTs or PATCHes', () => {
    const cases: [Partial<HttpRequest>, boolean][] = [
      [{ method: 'GET' }, true],
      [{ method: 'POST', form: [['name', 'x']] }, true],
      [{ method: 'DELETE' }, true],
      [{ method: 'PUT', headers: { 'If-Match': 'W/"1"' } }, true],
      [{ method: 'POST', headers: { 'if-none-exist': 'identifier=a|b' }, body: {} }, true],
      [{ method: 'POST', body: { resourceType: 'Patient' } }, false],
      [{ method: 'POST', body: { resourceType: 'Bundle', type: 'transaction' } }, false],
      [{ method: 'PUT', body: {} }, false],
      [{ method: 'PATCH', headers: { 'if-match': 'W/"1"' } }, false],
    ];
    for (const [extra, expected] of cases) {
      assert.equal(repeatable(request(extra)), expected, JSON.stringify(extra));
    }
  });
});

describe('a 401 answered by the transport', () => {
  it('a renewable credential: the refused one is forgotten and one more try goes with a new one', async () => {
    nock(origin).get('/fhir/Patient').matchHeader('authorization', 'Bearer t1').reply(401);
    nock(origin).get('/fhir/Patient').matchHeader('authorization', 'Bearer t2').reply(200, {});
    const auth = new CountingAuth(true);
    const res = await sendAuthorized(request({}), { policy: DEFAULT_RETRY, auth });
    assert.equal(res.status, 200);
    assert.deepEqual(auth.invalidated, ['Bearer t1']);
  });

  it('a renewable credential refused twice: two tries, the second 401 is the answer', async () => {
    nock(origin).get('/fhir/Patient').times(2).reply(401);
    const auth = new CountingAuth(true);
    const res = await sendAuthorized(request({}), { policy: DEFAULT_RETRY, auth });
    assert.equal(res.status, 401);
    assert.deepEqual(auth.invalidated, ['Bearer t1', 'Bearer t2']);
  });

  it('a static credential: one try, its 401 is the answer', async () => {
    nock(origin).get('/fhir/Patient').reply(401);
    const auth = new CountingAuth(false);
    const res = await sendAuthorized(request({}), { policy: DEFAULT_RETRY, auth });
    assert.equal(res.status, 401);
    assert.deepEqual(auth.invalidated, ['Bearer t1']);
  });

  it('once: a 503 on a GET is not sent again', async () => {
    nock(origin).get('/fhir/Patient').reply(503);
    await assert.rejects(
      sendAuthorized(request({}), { policy: DEFAULT_RETRY, once: true }),
      /answered GET with 503 \(once\)/,
    );
  });
});
