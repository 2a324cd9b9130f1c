/**
 * The circuit breaker's exact behaviour (its states on a fake clock; which
 * requests it lets through, with nock standing in for the server), the
 * facade's 503 + Retry-After, the W3C traceparent sent on each FHIR request,
 * and the start-up checks of METRICS_PORT / FHIR_BREAKER.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import nock from 'nock';
import { freePort } from '../../fhir-server/launcher/index.js';
import { CircuitOpenError, FhirStorage, StorageUnavailableError } from '../../src/index.js';
import { readConfig } from '../../src/server.js';
import { parseTraceparent, traceFromHeaders } from '../../src/shared/trace-context.js';
import { CircuitBreaker, parseBreakerOptions } from '../../src/transport/breaker.js';
import { DEFAULT_RETRY, sendWithRetry } from '../../src/transport/retry.js';
import { call, captureLogger, startApp, type RunningApp } from '../http/helpers.js';
import { useStrictNock } from '../support/strict-nock.js';

const origin = 'http://fhir.test';
const baseUrl = `${origin}/fhir`;

/** A loopback FHIR base URL whose port nothing listens on (connections are refused); nock lets loopback through. */
async function refusingBaseUrl(): Promise<string> {
  const port = await freePort(); // free: nothing listens on it
  nock.enableNetConnect('127.0.0.1');
  return `http://127.0.0.1:${port}/fhir`;
}

useStrictNock();
afterEach(() => nock.disableNetConnect());

/** The facade on a loopback port (nock lets loopback through meanwhile). */
async function facadeOn(options: Parameters<typeof startApp>[0]): Promise<RunningApp> {
  nock.enableNetConnect('127.0.0.1');
  const app = await startApp(options);
  return {
    ...app,
    close: async () => {
      await app.close();
      nock.disableNetConnect();
    },
  };
}

describe('CircuitBreaker states', () => {
  const clock = () => {
    let now = 0;
    return { now: () => now, advance: (ms: number) => void (now += ms) };
  };

  it('opens after failureThreshold consecutive outages (unreachable, timeout, 502/503/504), not before', () => {
    const c = clock();
    const breaker = new CircuitBreaker(origin, { failureThreshold: 4, openMs: 1000 }, c.now);
    for (const status of ['unreachable', 'timeout', 502] as const) {
      breaker.admit('read').settle(status);
      assert.equal(breaker.state, 'closed');
    }
    breaker.admit('read').settle(504);
    assert.equal(breaker.state, 'open');
    assert.throws(() => breaker.admit('create'), CircuitOpenError);
  });

  it('never opens on answers that are not outages (4xx, 500, 429): they reset the count', () => {
    const breaker = new CircuitBreaker(origin, { failureThreshold: 2, openMs: 1000 });
    for (const status of [404, 401, 409, 412, 429, 500, 400])
      for (let i = 0; i < 3; i++) breaker.admit('read').settle(status);
    assert.equal(breaker.state, 'closed');
    breaker.admit('read').settle('unreachable');
    breaker.admit('read').settle(404);
    breaker.admit('read').settle('unreachable');
    assert.equal(breaker.state, 'closed', 'not consecutive');
  });

  it('open: refuses with the time left; after openMs one probe only; a failed probe reopens, a good one closes', () => {
    const c = clock();
    const breaker = new CircuitBreaker(origin, { failureThreshold: 1, openMs: 1000 }, c.now);
    breaker.admit('read').settle('unreachable');
    c.advance(400);
    assert.throws(
      () => breaker.admit('read'),
      (e: unknown) =>
        e instanceof CircuitOpenError && e.retryAfterMs === 600 && e.kind === 'unreachable',
    );
    c.advance(600);
    const probe = breaker.admit('read');
    assert.equal(breaker.state, 'half-open');
    assert.throws(() => breaker.admit('read'), CircuitOpenError, 'one probe at a time');
    probe.settle('timeout');
    assert.equal(breaker.state, 'open');
    assert.throws(() => breaker.admit('read'), CircuitOpenError);
    c.advance(1000);
    breaker.admit('read').settle(200);
    assert.equal(breaker.state, 'closed');
    breaker.admit('read').settle(200);
  });

  it('a late failure of a request sent before it opened does not reopen or extend it', () => {
    const c = clock();
    const breaker = new CircuitBreaker(origin, { failureThreshold: 1, openMs: 1000 }, c.now);
    const late = breaker.admit('read');
    breaker.admit('read').settle('unreachable');
    c.advance(1000);
    breaker.admit('read').settle(200);
    late.settle('timeout');
    assert.equal(breaker.state, 'closed');
  });

  it('the option: false or absent is no breaker; wrong values are TypeErrors naming the field', () => {
    assert.equal(parseBreakerOptions('FhirStorage', undefined, origin), undefined);
    assert.equal(parseBreakerOptions('FhirStorage', false, origin), undefined);
    assert.deepEqual(parseBreakerOptions('FhirStorage', {}, origin)?.options, {
      failureThreshold: 5,
      openMs: 5000,
    });
    for (const bad of [true, [], { failureThreshold: 0 }, { openMs: -1 }, { other: 1 }])
      assert.throws(() => new FhirStorage({ baseUrl, breaker: bad as never }), /breaker/);
  });
});

describe('breaker in the transport (nock)', () => {
  it('FhirStorage: after failureThreshold refused connections, requests fail with CircuitOpenError unsent', async () => {
    const storage = new FhirStorage({
      baseUrl: await refusingBaseUrl(),
      retry: false,
      breaker: { failureThreshold: 2 },
    });
    const unreachable = (e: unknown) =>
      e instanceof StorageUnavailableError &&
      e.kind === 'unreachable' &&
      !(e instanceof CircuitOpenError);
    for (let i = 0; i < 2; i++) await assert.rejects(storage.getPatient('1'), unreachable);
    // a request sent now would be refused by the port (unreachable), not by the breaker
    await assert.rejects(storage.getPatient('1'), CircuitOpenError);
    await assert.rejects(storage.createPatient({ name: 'Unsent' }), CircuitOpenError);
  });

  it('the library default has no breaker: every request is sent however many failed before', async () => {
    const storage = new FhirStorage({ baseUrl: await refusingBaseUrl(), retry: false });
    for (let i = 0; i < 8; i++)
      await assert.rejects(storage.getPatient('1'), (e) => !(e instanceof CircuitOpenError));
  });

  it('a retried PUT whose try timed out, refused by the breaker before its retry, reports the timeout (outcome unknown), sent once', async () => {
    const breaker = new CircuitBreaker(origin, { failureThreshold: 1, openMs: 60_000 });
    nock(origin).put('/fhir/Patient/1').delay(300).reply(200, {});
    await assert.rejects(
      sendWithRetry(
        { method: 'PUT', url: `${baseUrl}/Patient/1`, body: {}, timeoutMs: 50 },
        { ...DEFAULT_RETRY, baseDelayMs: 10, maxDelayMs: 10 },
        true,
        breaker,
      ),
      (e: unknown) =>
        e instanceof StorageUnavailableError &&
        !(e instanceof CircuitOpenError) &&
        e.kind === 'timeout',
    );
    assert.equal(breaker.state, 'open');
  });

  it('the facade answers 503 problem+json with Retry-After while open, and /readyz says the breaker is open', async () => {
    const storage = new FhirStorage({
      baseUrl: await refusingBaseUrl(),
      retry: false,
      breaker: { failureThreshold: 1, openMs: 30_000 },
    });
    const app = await facadeOn({ storage });
    try {
      const first = await call(app.baseUrl, 'GET', '/patients/1');
      assert.equal(first.status, 503, first.text);
      assert.equal(first.headers.get('retry-after'), null, 'the request that found it down');
      const fast = await call(app.baseUrl, 'GET', '/patients/1');
      assert.equal(fast.status, 503);
      assert.equal(fast.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(fast.headers.get('retry-after'), '30');
      assert.equal(
        (fast.json as { type: string }).type,
        'urn:healthcare-fhir:problem:storage-unreachable',
      );
      const ready = await call(app.baseUrl, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.equal(ready.headers.get('retry-after'), '30');
      assert.match((ready.json as { detail: string }).detail, /circuit breaker is open/);
    } finally {
      await app.close();
    }
  });
});

describe('W3C trace context', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';

  it('parseTraceparent: version 00 exactly, later versions with more fields; ff, zero ids, upper case, bad lengths refused', () => {
    assert.deepEqual(parseTraceparent(`00-${traceId}-${parent}-01`), {
      traceId,
      parentSpanId: parent,
      flags: '01',
    });
    assert.equal(parseTraceparent(`01-${traceId}-${parent}-03-more`)?.flags, '01');
    for (const bad of [
      undefined,
      '',
      `ff-${traceId}-${parent}-01`,
      `00-${'0'.repeat(32)}-${parent}-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `00-${traceId.toUpperCase()}-${parent}-01`,
      `00-${traceId}-${parent}-01-extra`,
      `01-${traceId}-${parent}-01x`,
      `00-${traceId}-${parent}`,
    ])
      assert.equal(parseTraceparent(bad), undefined, String(bad));
  });

  it('a new trace (sampled) when the header is missing or invalid; tracestate only with a valid traceparent', () => {
    const started = traceFromHeaders(`ff-${traceId}-${parent}-01`, 'a=b');
    assert.notEqual(started.traceId, traceId);
    assert.match(started.traceId, /^[0-9a-f]{32}$/);
    assert.equal(started.flags, '01');
    assert.equal(started.tracestate, undefined);
    assert.equal(
      traceFromHeaders(`00-${traceId}-${parent}-00`, 'congo=t61rcWkgMzE').tracestate,
      'congo=t61rcWkgMzE',
    );
  });

  it('each FHIR request of a facade call carries the caller trace id, flags and tracestate with a new span id; the log line names the trace', async () => {
    const storage = new FhirStorage({ baseUrl, retry: false });
    const { logger, lines } = captureLogger();
    const app = await facadeOn({ storage, logger });
    const sent: string[] = [];
    const record = (value: string) => (sent.push(value), true);
    try {
      nock(origin)
        .matchHeader('tracestate', 'congo=t61rcWkgMzE')
        .matchHeader('traceparent', record)
        .get('/fhir/Patient/1')
        .reply(404, { resourceType: 'OperationOutcome' });
      const answer = await call(app.baseUrl, 'GET', '/patients/1', {
        headers: { traceparent: `00-${traceId}-${parent}-00`, tracestate: 'congo=t61rcWkgMzE' },
      });
      assert.equal(answer.status, 404);
      assert.equal(sent.length, 1);
      const match = new RegExp(`^00-${traceId}-([0-9a-f]{16})-00$`).exec(sent[0]!);
      assert.ok(match, sent[0]);
      assert.notEqual(match[1], parent);
      const logged = lines()
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'request');
      assert.equal(logged?.traceId, traceId);
      assert.equal(logged?.parentSpanId, parent);
      assert.match(String(logged?.spanId), /^[0-9a-f]{16}$/);
      assert.notEqual(logged?.spanId, match[1], "the facade's span is not the FHIR request's");
    } finally {
      await app.close();
    }
  });

  it('without a traceparent, a call gets a trace of its own, sent on its FHIR requests; outside any call, none is sent', async () => {
    const storage = new FhirStorage({ baseUrl, retry: false });
    const app = await facadeOn({ storage });
    const sent: (string | undefined)[] = [];
    try {
      nock(origin)
        .get('/fhir/Patient/1')
        .twice()
        .reply(function () {
          sent.push(this.req.headers.traceparent);
          return [404, { resourceType: 'OperationOutcome' }];
        });
      await call(app.baseUrl, 'GET', '/patients/1');
      await storage.getPatient('1');
      assert.match(sent[0] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(sent[1], undefined, 'a library call outside withTraceContext');
    } finally {
      await app.close();
    }
  });
});

describe('operations settings from the environment', () => {
  it('METRICS_PORT and FHIR_BREAKER*: checked at start-up, the breaker on by default', () => {
    const base = { FHIR_BASE_URL: baseUrl };
    assert.deepEqual(readConfig(base).breaker, { failureThreshold: 5, openMs: 5000 });
    assert.equal(readConfig(base).metricsPort, undefined);
    assert.equal(readConfig({ ...base, METRICS_PORT: '9464' }).metricsPort, 9464);
    assert.equal(readConfig({ ...base, FHIR_BREAKER: 'off' }).breaker, false);
    assert.deepEqual(
      readConfig({ ...base, FHIR_BREAKER_FAILURES: '3', FHIR_BREAKER_OPEN_MS: '250' }).breaker,
      { failureThreshold: 3, openMs: 250 },
    );
    for (const [env, message] of [
      [{ METRICS_PORT: '70000' }, /METRICS_PORT must be a whole number/],
      [{ METRICS_PORT: 'x' }, /METRICS_PORT/],
      [{ METRICS_PORT: '3000', PORT: '3000' }, /METRICS_PORT must differ from PORT/],
      [{ FHIR_BREAKER: 'maybe' }, /FHIR_BREAKER must be "on" or "off"/],
      [{ FHIR_BREAKER_FAILURES: '0' }, /FHIR_BREAKER_FAILURES/],
      [
        { FHIR_BREAKER: 'off', FHIR_BREAKER_OPEN_MS: '10' },
        /FHIR_BREAKER_OPEN_MS set but FHIR_BREAKER is off/,
      ],
    ] as const)
      assert.throws(() => readConfig({ ...base, ...env }), message);
  });
});
