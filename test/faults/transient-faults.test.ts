/**
 * FhirStorage through a fault-injecting proxy in front of the real HAPI
 * server (FHIR_BASE_URL): idempotent requests ride out resets, delays, 5xx,
 * 429 with Retry-After and truncated bodies and recover by themselves; once
 * the budget is spent the answer is the typed StorageUnavailableError, never
 * a wrong null or false; a create is sent once. Each case reports, as a test
 * diagnostic, what the fault produced and how long the library took.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, describe, it, type TestContext } from 'node:test';
import { FhirStorage, StorageUnavailableError, comparisons as C } from '../../src/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { FhirRecordStore } from '../../src/backends/fhir/record-store.js';
import { startFaultProxy, type Fault } from './fault-proxy.js';

const upstream = requireFhirBaseUrl();
const run = randomBytes(5).toString('hex');
const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: `faults-${run}` };
const timeoutMs = 1000;
const retry = { maxAttempts: 4, maxElapsedMs: 3000 };

const proxy = await startFaultProxy(upstream);
after(() => proxy.stop());
afterEach(() => proxy.reset());

const storage = () => new FhirStorage({ baseUrl: proxy.baseUrl, scopeTag, timeoutMs, retry });
/**
 * A storage for searches: its first search reads /metadata (1.5 MB from HAPI,
 * over a second on a busy server), so it gets a longer timeout and reads it
 * before any fault is set.
 */
async function searchStorage(pageSize?: number): Promise<FhirStorage> {
  const s = new FhirStorage({ baseUrl: proxy.baseUrl, scopeTag, timeoutMs: 4000, retry, pageSize });
  await s.filterPatients(['name', C.EQUAL, `warm-up ${run}`]);
  proxy.requests.length = 0;
  return s;
}
/** Straight to HAPI: to set up and check records without the faults. */
const direct = new FhirStorage({ baseUrl: upstream, scopeTag });

async function timed<T>(work: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const start = performance.now();
  try {
    const value = await work;
    return { value, ms: Math.round(performance.now() - start) };
  } catch (error) {
    return { error, ms: Math.round(performance.now() - start) };
  }
}

function report(t: TestContext, fault: string, outcome: string, ms: number): void {
  t.diagnostic(`fault=${fault} outcome=${outcome} ms=${ms} requests=${proxy.requests.length}`);
}

const describeError = (e: unknown): string =>
  e instanceof StorageUnavailableError
    ? `${e.kind}${e.upstreamStatus ? `/${e.upstreamStatus}` : ''}`
    : String(e);

describe('a GET rides out a transient fault and recovers by itself', () => {
  const cases: [string, Fault[]][] = [
    ['2 connection resets', [{ kind: 'reset' }, { kind: 'reset' }]],
    [
      '503 twice',
      [
        { kind: 'status', status: 503 },
        { kind: 'status', status: 503 },
      ],
    ],
    [
      '502 then 504',
      [
        { kind: 'status', status: 502 },
        { kind: 'status', status: 504 },
      ],
    ],
    ['a truncated body', [{ kind: 'truncate' }]],
    ['a delay past the timeout', [{ kind: 'delay', ms: timeoutMs + 500 }]],
  ];
  for (const [title, faults] of cases) {
    it(`${title}: getPatient returns the record`, async (t) => {
      const created = await direct.createPatient({ name: `Fault ${run}` });
      proxy.plan(...faults);
      const { value, error, ms } = await timed(storage().getPatient(created.id));
      report(t, title, error ? describeError(error) : 'recovered', ms);
      assert.equal(error, undefined);
      assert.deepEqual(value, created);
      assert.equal(proxy.requests.length, faults.length + 1);
    });
  }

  it('429 with Retry-After: 1 is waited out (at least 1 s), then the record is returned', async (t) => {
    const created = await direct.createPatient({ name: `Fault ${run}` });
    proxy.plan({ kind: 'status', status: 429, retryAfter: '1' });
    const { value, ms } = await timed(storage().getPatient(created.id));
    report(t, '429 Retry-After 1', value ? 'recovered' : 'failed', ms);
    assert.deepEqual(value, created);
    assert.ok(ms >= 1000, `waited ${ms} ms`);
  });

  it('a server down (every connection reset) for 2 s, budget 10 attempts in 6 s: the request succeeds once it is back', async (t) => {
    const created = await direct.createPatient({ name: `Fault ${run}` });
    const patient = new FhirStorage({
      baseUrl: proxy.baseUrl,
      scopeTag,
      timeoutMs,
      retry: { maxAttempts: 10, maxElapsedMs: 6000 },
    });
    proxy.standing = { kind: 'reset' };
    const back = setTimeout(() => (proxy.standing = undefined), 2000);
    const { value, error, ms } = await timed(patient.getPatient(created.id));
    clearTimeout(back);
    report(t, 'down 2 s', error ? describeError(error) : 'recovered', ms);
    assert.deepEqual(value, created);
    assert.ok(ms >= 2000);
  });

  it('a search whose second page answers 503 returns every record once', async (t) => {
    const name = `Paged ${run}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await direct.createPatient({ name })).id);
    const s = await searchStorage(2);
    proxy.plan({ kind: 'delay', ms: 0 }, { kind: 'status', status: 503 });
    const { value, ms } = await timed(s.filterPatients(['name', C.EQUAL, name]));
    report(t, '503 on page 2', value ? 'recovered' : 'failed', ms);
    assert.deepEqual(value?.map((r) => r.id).sort(), [...ids].sort());
  });

  it('an update whose PUT answer is lost (reset after the server applied it) returns true, applied once', async (t) => {
    const created = await direct.createPatient({ name: `Upd ${run}` });
    proxy.plan({ kind: 'delay', ms: 0 }, { kind: 'reset-after-forward' });
    const { value, ms } = await timed(storage().updatePatient(created.id, { location: 'Gulu' }));
    report(t, 'PUT answer lost', String(value), ms);
    assert.equal(value, true);
    assert.equal((await direct.getPatient(created.id))?.location, 'Gulu');
  });

  // single-writer mode fixes the request order (search, GET, PUT, search) whatever the server has installed
  const linkStorage = () =>
    new FhirStorage({
      baseUrl: proxy.baseUrl,
      scopeTag,
      timeoutMs,
      retry,
      linkUniqueness: 'single-writer',
    });

  it('a link whose PUT answer is lost (reset after the server applied it) returns true, and the pair is on that patient', async (t) => {
    const created = await direct.createPatient({ name: `Link ${run}` });
    proxy.plan({ kind: 'delay', ms: 0 }, { kind: 'delay', ms: 0 }, { kind: 'reset-after-forward' });
    const { value, ms } = await timed(
      linkStorage().linkPatient(created.id, `lost-${run}`, 'faults'),
    );
    report(t, 'link PUT answer lost', String(value), ms);
    assert.ok(
      proxy.requests.filter((r) => r.startsWith('PUT')).length >= 2,
      'the PUT was sent again',
    );
    assert.equal(value, true);
    assert.equal((await direct.getPatient(`lost-${run}`, 'faults'))?.id, created.id);
  });

  it('an unlink whose PUT answer is lost (reset after the server applied it) returns true, and the pair is gone', async (t) => {
    const created = await direct.createPatient({ name: `Unlink ${run}` });
    assert.equal(await direct.linkPatient(created.id, `gone-${run}`, 'faults'), true);
    proxy.plan({ kind: 'delay', ms: 0 }, { kind: 'reset-after-forward' });
    const { value, ms } = await timed(
      linkStorage().unlinkPatient(created.id, `gone-${run}`, 'faults'),
    );
    report(t, 'unlink PUT answer lost', String(value), ms);
    assert.ok(
      proxy.requests.filter((r) => r.startsWith('PUT')).length >= 2,
      'the PUT was sent again',
    );
    assert.equal(value, true);
    assert.equal(await direct.getPatient(`gone-${run}`, 'faults'), null);
  });

  it('a delete whose answer is lost (reset after the server applied it) returns true, not false', async (t) => {
    const created = await direct.createPatient({ name: `Del ${run}` });
    proxy.plan({ kind: 'reset-after-forward' });
    const { value, ms } = await timed(storage().deletePatient(created.id));
    report(t, 'DELETE answer lost', String(value), ms);
    assert.equal(value, true);
    assert.equal(await direct.getPatient(created.id), null);
  });

  it('a delete reset before it reached the server is sent again and returns true', async (t) => {
    const created = await direct.createPatient({ name: `Del ${run}` });
    proxy.plan({ kind: 'reset' });
    const { value, ms } = await timed(storage().deletePatient(created.id));
    report(t, 'DELETE reset', String(value), ms);
    assert.equal(value, true);
    assert.equal(await direct.getPatient(created.id), null);
  });
});

describe('after the budget: the typed error, never a wrong null or false', () => {
  const budgetCases: [string, Fault, string][] = [
    ['503 on every try', { kind: 'status', status: 503 }, 'unreachable/503'],
    ['429 without Retry-After on every try', { kind: 'status', status: 429 }, 'unreachable/429'],
    ['every connection reset', { kind: 'reset' }, 'unreachable'],
    ['every body truncated', { kind: 'truncate' }, 'unreachable'],
    ['every answer past the timeout', { kind: 'delay', ms: 4500 }, 'timeout'],
  ];
  for (const [title, fault, expected] of budgetCases) {
    it(`${title}: get, update, delete and filter reject with ${expected} within the budget`, async (t) => {
      const created = await direct.createPatient({ name: `Budget ${run}` });
      const s = storage();
      const searching = await searchStorage();
      proxy.standing = fault;
      for (const [op, work] of [
        ['get', () => s.getPatient(created.id)],
        ['update', () => s.updatePatient(created.id, { location: 'X' })],
        ['delete', () => s.deletePatient(created.id)],
        ['filter', () => searching.filterPatients(['name', C.EQUAL, `Budget ${run}`])],
      ] as const) {
        proxy.requests.length = 0;
        const { error, ms } = await timed((work as () => Promise<unknown>)());
        report(t, `${title} (${op})`, describeError(error), ms);
        assert.ok(error instanceof StorageUnavailableError, `${op}: ${String(error)}`);
        assert.equal(describeError(error), expected);
        assert.ok(
          proxy.requests.length <= retry.maxAttempts,
          `${op}: ${proxy.requests.length} requests`,
        );
        assert.ok(ms < retry.maxElapsedMs + 4000 + 500, `${op}: gave up after ${ms} ms`);
      }
      proxy.standing = undefined;
      // A fault in front of the server leaves the record alone; one after it
      // (a truncated or late answer) may have let the server do the work.
      if (fault.kind === 'status' || fault.kind === 'reset')
        assert.equal((await s.getPatient(created.id))?.location, null, 'nothing was changed');
    });
  }

  it('429 with a Retry-After beyond the budget gives up at once (one request)', async (t) => {
    proxy.standing = { kind: 'status', status: 429, retryAfter: '60' };
    const { error, ms } = await timed(storage().getPatient('any'));
    report(t, '429 Retry-After 60', describeError(error), ms);
    assert.equal(describeError(error), 'unreachable/429');
    assert.equal(proxy.requests.length, 1);
    assert.ok(ms < 500);
  });

  it('a 500 is not transient: bad-response after one request', async (t) => {
    proxy.standing = { kind: 'status', status: 500 };
    const { error, ms } = await timed(storage().getPatient('any'));
    report(t, '500', describeError(error), ms);
    assert.equal(describeError(error), 'bad-response/500');
    assert.equal(proxy.requests.length, 1);
  });

  it('retry: false sends a GET once', async () => {
    proxy.standing = { kind: 'status', status: 503 };
    const s = new FhirStorage({ baseUrl: proxy.baseUrl, scopeTag, timeoutMs, retry: false });
    await assert.rejects(s.getPatient('any'), StorageUnavailableError);
    assert.equal(proxy.requests.length, 1);
  });
});

describe('a create is sent once, except after a 429', () => {
  const faults: [string, Fault, string][] = [
    ['503', { kind: 'status', status: 503 }, 'unreachable/503'],
    ['a connection reset', { kind: 'reset' }, 'unreachable'],
    ['a lost answer (applied, then reset)', { kind: 'reset-after-forward' }, 'unreachable'],
  ];
  for (const [title, fault, expected] of faults) {
    it(`${title}: createPatient rejects with ${expected} after one POST`, async (t) => {
      const name = `Create ${title} ${run}`;
      proxy.plan(fault);
      const { error, ms } = await timed(storage().createPatient({ name }));
      report(t, `POST ${title}`, describeError(error), ms);
      assert.equal(describeError(error), expected);
      assert.deepEqual(
        proxy.requests.filter((r) => r.startsWith('POST')),
        [`POST ${new URL(proxy.baseUrl).pathname}/Patient`],
      );
      const stored = await direct.filterPatients(['name', C.EQUAL, name]);
      assert.equal(stored.length, fault.kind === 'reset-after-forward' ? 1 : 0);
    });
  }
});

describe('429 (refused before any work): every request waits the server out', () => {
  /** Medplum's form: the spent policy's reset in seconds. */
  const throttled = (t: number): Fault => ({
    kind: 'status',
    status: 429,
    rateLimit: `"requests";r=0;t=${t}, "fhirInteractions";r=40;t=60`,
  });

  it('a create answered 429 with RateLimit t=1 is sent again after at least 1 s and stored once', async (t) => {
    const name = `Throttled create ${run}`;
    proxy.plan(throttled(1));
    const { value, error, ms } = await timed(storage().createPatient({ name }));
    report(t, '429 RateLimit t=1 on POST', error ? describeError(error) : 'created', ms);
    assert.equal(error, undefined);
    assert.ok(ms >= 1000, `waited ${ms} ms`);
    assert.equal(proxy.requests.filter((r) => r.startsWith('POST')).length, 2);
    const stored = await direct.filterPatients(['name', C.EQUAL, name]);
    assert.deepEqual(
      stored.map((r) => r.id),
      [value!.id],
    );
  });

  it('an import transaction answered 429 with Retry-After: 1 is sent again and writes each row once', async (t) => {
    const name = `Throttled import ${run}`;
    const store = storage().store('patient') as FhirRecordStore;
    const rows = [1, 2, 3].map((i) => ({
      data: { name: `${name} ${i}` },
      hash: `${run}${i}`.padEnd(40, '0'),
    }));
    // new rows (none found earlier): the first request is the transaction, throttled
    proxy.plan({ kind: 'status', status: 429, retryAfter: '1' });
    const { value, error, ms } = await timed(store.importRows(rows, new Map()));
    report(t, '429 Retry-After 1 on a transaction', error ? describeError(error) : 'written', ms);
    assert.equal(error, undefined);
    assert.ok(
      value!.every((r) => 'id' in r),
      JSON.stringify(value),
    );
    assert.equal(proxy.requests.filter((r) => r.startsWith('POST')).length, 2);
    assert.ok(ms >= 1000);
    const stored = await direct.filterPatients(['name', C.LIKE, name]);
    assert.equal(stored.length, 3);
  });

  it('an import transaction throttled past the retry budget (t=5, budget 3 s) waits the reset out instead of failing its rows', async (t) => {
    const name = `Paced import ${run}`;
    const store = storage().store('patient') as FhirRecordStore;
    const rows = [{ data: { name }, hash: `${run}pace`.padEnd(40, '0') }];
    // a new row (none found earlier): the first request is the transaction, throttled
    proxy.plan(throttled(5));
    const { value, error, ms } = await timed(store.importRows(rows, new Map()));
    report(
      t,
      '429 t=5 past the budget on a transaction',
      error ? describeError(error) : 'written',
      ms,
    );
    assert.equal(error, undefined);
    assert.ok(
      value!.every((r) => 'id' in r),
      JSON.stringify(value),
    );
    assert.ok(ms >= 5000, `waited ${ms} ms`);
    assert.equal((await direct.filterPatients(['name', C.EQUAL, name])).length, 1);
  });

  it('a search answered 429 with RateLimit t=1 is sent again and finds the record', async (t) => {
    const name = `Throttled search ${run}`;
    const created = await direct.createPatient({ name });
    const s = await searchStorage();
    proxy.plan(throttled(1));
    const { value, ms } = await timed(s.filterPatients(['name', C.EQUAL, name]));
    report(t, '429 RateLimit t=1 on a search', value ? 'found' : 'failed', ms);
    assert.deepEqual(
      value?.map((r) => r.id),
      [created.id],
    );
    assert.ok(ms >= 1000);
  });

  it("a 429 whose reset (t=60) outlasts the budget gives up at once with the server's wait on the error", async (t) => {
    proxy.standing = throttled(60);
    const { error, ms } = await timed(storage().createPatient({ name: `Too long ${run}` }));
    report(t, '429 t=60', describeError(error), ms);
    assert.equal(describeError(error), 'unreachable/429');
    assert.equal((error as StorageUnavailableError).retryAfterMs, 60_000);
    assert.equal(proxy.requests.length, 1);
  });
});
