/**
 * A FHIR server's quota (429), as the transport reads it: the wait it asks for
 * (`Retry-After`, else the `RateLimit` header's reset), every request sent
 * again after it (creates and transactions too, a 429 being a refusal before
 * any work), other transient statuses still only for idempotent requests, and
 * a 429 that outlasts the budget answered by the facade as 503 with
 * `Retry-After`. nock stands in for the server; the same faults against HAPI
 * are in test/faults/transient-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import nock from 'nock';
import { FhirStorage, StorageUnavailableError } from '../../src/index.js';
import { waitingOutThrottle } from '../../src/transport/retry.js';
import { rateLimitResetMs, serverWaitMs } from '../../src/transport/server-wait.js';
import { call, startApp } from '../http/helpers.js';
import { useStrictNock } from '../support/strict-nock.js';

const origin = 'http://fhir.test';
const baseUrl = `${origin}/fhir`;

useStrictNock();

const headers = (entries: Record<string, string>) => ({
  get: (name: string) => entries[name.toLowerCase()] ?? null,
});

const created = (id: string) => ({
  resourceType: 'Patient',
  id,
  meta: { versionId: '1', lastUpdated: new Date(Date.now() + 60_000).toISOString() },
  name: [{ text: 'Throttled' }],
});

describe('the wait a 429 asks for', () => {
  it('RateLimit (Medplum form): the reset of the spent policy, not of the others', () => {
    const h = headers({ ratelimit: '"requests";r=0;t=42, "fhirInteractions";r=40;t=60' });
    assert.equal(rateLimitResetMs(h), 42_000);
  });

  it('RateLimit with no spent policy: the latest reset; RateLimit-Reset alone: its seconds; neither: undefined', () => {
    assert.equal(rateLimitResetMs(headers({ ratelimit: '"a";r=3;t=5, "b";r=1;t=9' })), 9_000);
    assert.equal(rateLimitResetMs(headers({ 'ratelimit-reset': '7' })), 7_000);
    assert.equal(rateLimitResetMs(headers({ ratelimit: 'garbage' })), undefined);
    assert.equal(rateLimitResetMs(headers({})), undefined);
  });

  it('Retry-After wins over RateLimit; RateLimit counts only on a 429', () => {
    const both = headers({ 'retry-after': '2', ratelimit: '"requests";r=0;t=30' });
    assert.equal(serverWaitMs(429, both), 2_000);
    const onlyRateLimit = headers({ ratelimit: '"requests";r=0;t=30' });
    assert.equal(serverWaitMs(429, onlyRateLimit), 30_000);
    assert.equal(serverWaitMs(503, onlyRateLimit), undefined);
  });
});

describe('which requests are sent again', () => {
  it('a create answered 429 (RateLimit t=0) is POSTed again and returns the record', async () => {
    nock(origin)
      .post('/fhir/Patient')
      .reply(429, { resourceType: 'OperationOutcome' }, { ratelimit: '"requests";r=0;t=0' });
    nock(origin).post('/fhir/Patient').reply(201, created('p1'));
    const record = await new FhirStorage({ baseUrl }).createPatient({ name: 'Throttled' });
    assert.equal(record.id, 'p1');
  });

  it('a create answered 503, 502 or 504 is sent once (the server or a gateway may have written it)', async () => {
    for (const status of [503, 502, 504]) {
      nock(origin).post('/fhir/Patient').reply(status, 'busy', { 'retry-after': '0' });
      await assert.rejects(
        new FhirStorage({ baseUrl }).createPatient({ name: 'Once' }),
        (e: unknown) => e instanceof StorageUnavailableError && e.upstreamStatus === status,
      );
    }
  });

  it('a 429 whose reset outlasts the budget rejects after one request, carrying the wait', async () => {
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(429, 'slow down', { ratelimit: '"requests";r=0;t=60' });
    await assert.rejects(
      new FhirStorage({ baseUrl }).getPatient('p1'),
      (e: unknown) =>
        e instanceof StorageUnavailableError &&
        e.kind === 'unreachable' &&
        e.upstreamStatus === 429 &&
        e.retryAfterMs === 60_000,
    );
  });
});

describe('bulk work waiting out a quota (import batches and links)', () => {
  const throttled = (waitMs: number) => {
    const error = new StorageUnavailableError('unreachable', 'answered with 429', 429);
    error.retryAfterMs = waitMs;
    return error;
  };

  it("work refused with 429 past the budget runs again after the server's wait until it succeeds", async () => {
    let runs = 0;
    const started = Date.now();
    const result = await waitingOutThrottle(async () => {
      runs++;
      if (runs < 3) throw throttled(20);
      return 'linked';
    });
    assert.equal(result, 'linked');
    assert.equal(runs, 3);
    assert.ok(Date.now() - started >= 40, "it waited the server's 20 ms twice");
  });

  it('any other failure (a 503, a 4xx) is thrown at once, the work run once', async () => {
    for (const error of [
      new StorageUnavailableError('unreachable', 'answered with 503', 503),
      new Error('refused'),
    ]) {
      let runs = 0;
      await assert.rejects(
        waitingOutThrottle(() => {
          runs++;
          return Promise.reject(error);
        }),
        (e: unknown) => e === error,
      );
      assert.equal(runs, 1);
    }
  });

  it('a server that keeps throttling past the patience fails the work with its 429', async () => {
    let runs = 0;
    await assert.rejects(
      waitingOutThrottle(() => {
        runs++;
        return Promise.reject(throttled(30));
      }, 70),
      (e: unknown) => e instanceof StorageUnavailableError && e.upstreamStatus === 429,
    );
    assert.equal(runs, 3, 'waited 30 + 30 ms; a third wait would pass 70 ms');
  });
});

describe('the facade over a throttling FHIR server', () => {
  beforeEach(() => nock.enableNetConnect('127.0.0.1'));
  it('a 429 that outlasts the retry budget is a 503 problem with Retry-After (seconds)', async () => {
    nock(origin)
      .post('/fhir/Patient')
      .reply(429, 'slow down', { ratelimit: '"requests";r=0;t=42' });
    const app = await startApp({ storage: new FhirStorage({ baseUrl }) });
    try {
      const answer = await call(app.baseUrl, 'POST', '/patients', { body: { name: 'Late' } });
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.headers.get('retry-after'), '42');
      assert.equal(
        (answer.json as { type: string }).type,
        'urn:healthcare-fhir:problem:storage-unreachable',
      );
    } finally {
      await app.close();
    }
  });

  it('a storage failure without a server wait (503 past the budget) has no Retry-After', async () => {
    nock(origin).get('/fhir/Patient/p1').reply(503, 'down');
    const app = await startApp({ storage: new FhirStorage({ baseUrl, retry: false }) });
    try {
      const answer = await call(app.baseUrl, 'GET', '/patients/p1');
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), null);
    } finally {
      await app.close();
    }
  });
});
