/**
 * Limits per client (contract §6, `RATE_LIMIT`; client-limits.ts) on the real
 * app: a client over its rate gets 429 problem+json with `Retry-After` while
 * another client is still served; a client at its bound of requests in flight
 * gets 429 while another client is served; the bucket refills with time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { clientLimits, parseRateLimit } from '../../src/http/client-limits.js';
import { call, startApp, withStore, type RunningApp } from './helpers.js';

const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
type Json = Record<string, unknown>;

describe('RATE_LIMIT per client', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({
      storage: new MemoryStorage(),
      apiTokens: ['token-a', 'token-b'],
      limits: { rate: parseRateLimit('3/min') },
    });
  });
  after(() => app.close());

  it("a client's 4th request within the minute is 429 with Retry-After; another client is still served", async () => {
    for (let i = 0; i < 3; i++)
      assert.equal((await call(app.baseUrl, 'GET', '/patients', as('token-a'))).status, 200);
    const refused = await call(app.baseUrl, 'GET', '/patients', as('token-a'));
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal((refused.json as Json).type, 'urn:healthcare-fhir:problem:too-many-requests');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 20, `Retry-After ${retryAfter}`);
    assert.equal((await call(app.baseUrl, 'GET', '/patients', as('token-b'))).status, 200);
  });

  it('an unauthenticated request is 401, not counted against anyone', async () => {
    assert.equal((await call(app.baseUrl, 'GET', '/patients')).status, 401);
    assert.equal((await call(app.baseUrl, 'GET', '/patients', as('token-b'))).status, 200);
  });
});

describe('the bucket refills with time (token bucket, 2/s)', () => {
  it('2 requests pass, the 3rd is 429 with Retry-After 1, and after 1 s one more passes', async () => {
    let now = 0;
    const limit = clientLimits({ rate: parseRateLimit('2/s') }, () => now);
    const statuses: number[] = [];
    const request = () => {
      const headers: Record<string, string> = {};
      const res = {
        locals: {},
        set: (name: string, value: string) => (headers[name] = value),
        status(code: number) {
          statuses.push(code);
          return res;
        },
        type: () => res,
        send: () => res,
      };
      let passed = false;
      limit({} as never, res as never, () => (passed = true));
      return { passed, headers };
    };
    assert.equal(request().passed, true);
    assert.equal(request().passed, true);
    const third = request();
    assert.equal(third.passed, false);
    assert.deepEqual(statuses, [429]);
    assert.equal(third.headers['Retry-After'], '1');
    now += 500;
    assert.equal(request().passed, true, 'half a second refills one of two');
    assert.equal(request().passed, false);
  });
});

describe('requests in flight per client', () => {
  let app: RunningApp;
  let release: () => void = () => {};
  let gate = Promise.resolve();
  before(async () => {
    const memory = new MemoryStorage();
    const storage = withStore(memory, 'patient', {
      async get(id: string) {
        await gate;
        return memory.stores.patient.get(id);
      },
    });
    app = await startApp({ storage, apiTokens: ['busy', 'other'], limits: { maxInFlight: 2 } });
  });
  after(() => app.close());

  it("a client's 3rd concurrent request is 429; another client is served meanwhile; both held ones finish", async () => {
    gate = new Promise((resolve) => (release = resolve));
    const held = [1, 2].map(() => call(app.baseUrl, 'GET', '/patients/p1', as('busy')));
    await new Promise((r) => setTimeout(r, 100));
    const third = await call(app.baseUrl, 'GET', '/patients/p1', as('busy'));
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.match((third.json as Json).detail as string, /2 requests in flight/);
    assert.equal((await call(app.baseUrl, 'GET', '/patients', as('other'))).status, 200);
    release();
    assert.deepEqual(
      (await Promise.all(held)).map((a) => a.status),
      [404, 404],
    );
    assert.equal((await call(app.baseUrl, 'GET', '/patients/p1', as('busy'))).status, 404);
  });
});
