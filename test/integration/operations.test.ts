/**
 * Running the facade as a service, against real parts: a HAPI server of this
 * test's own (H2 on disk, so a restart keeps the data), a recording proxy in
 * front of it (every FHIR request with its `traceparent`), and the facade as a
 * process (`src/server.ts`) with METRICS_PORT and its circuit breaker on.
 * Metrics move by exactly the calls made; a caller's trace reaches every
 * FHIR request of its call; with HAPI stopped, then frozen (SIGSTOP), calls are
 * answered 503 with Retry-After without reaching it, the breaker closes again
 * after a restart / SIGCONT, and no acknowledged create is lost.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalFhirServer, type LocalFhirServer } from '../../fhir-server/launcher/index.js';
import { call } from '../http/helpers.js';
import { FhirStorage } from '../../src/index.js';
import { startFacadeProcess, type FacadeProcess } from '../support/facade-process.js';
import {
  forward,
  readBody,
  relay,
  startLoopbackProxy,
  type LoopbackProxy,
} from '../support/forward.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hapi-operations-'));
const start = (port = 0) =>
  startLocalFhirServer({ database: 'h2-file', dataDir, port, output: 'ignore' });
const run = `ops-${process.pid}-${Date.now()}`;
const scopeTag = () => ({ system: 'urn:test:ops', code: run });
const auditLog = path.join(
  fs.mkdtempSync(path.join(os.tmpdir(), 'audit-operations-')),
  'audit.jsonl',
);
const auditLines = () => fs.readFileSync(auditLog, 'utf8').split('\n').filter(Boolean).length;

/** Prometheus text → value by `name{label="value",…}` as written. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** How much each series moved between two scrapes (only those that moved). */
function moved(before: Map<string, number>, after: Map<string, number>, prefix: string) {
  const delta: Record<string, number> = {};
  for (const [key, value] of after) {
    if (!key.startsWith(prefix)) continue;
    const d = value - (before.get(key) ?? 0);
    if (d !== 0) delta[key] = d;
  }
  return delta;
}

interface Seen {
  method: string;
  traceparent?: string;
}

interface Answered {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  /** FHIR requests the proxy received during this call (the only client calling). */
  fhirRequests: number;
  id?: string;
}

describe('facade as a service: metrics, trace context, circuit breaker (own HAPI)', () => {
  let server: LocalFhirServer;
  let proxy: LoopbackProxy;
  let facade: FacadeProcess;
  const seen: Seen[] = [];
  const acknowledged: string[] = [];

  before(async () => {
    const startedAt = performance.now();
    server = await start();
    process.stdout.write(
      `# HAPI (H2 on disk) started in ${Math.round((performance.now() - startedAt) / 1000)} s\n`,
    );
    const upstream = server.baseUrl;
    proxy = await startLoopbackProxy(upstream, async (req, body, res, host) => {
      seen.push({ method: req.method!, traceparent: req.headers.traceparent as string });
      let answer;
      try {
        answer = await forward(upstream, req, body, host, { keepAuthorization: true });
      } catch {
        res.socket?.destroy(); // the server is down: the connection breaks, as without a proxy
        return;
      }
      relay(answer, await readBody(answer), res);
    });
    facade = await startFacadeProcess(proxy.baseUrl, 60_000, {
      METRICS_PORT: '0',
      AUDIT_LOG: auditLog,
      FHIR_TIMEOUT_MS: '1000',
      FHIR_RETRY_MAX_ELAPSED_MS: '500',
      FHIR_BREAKER_FAILURES: '3',
      FHIR_BREAKER_OPEN_MS: '1500',
      FHIR_SCOPE_TAG: `${scopeTag().system}|${scopeTag().code}`,
    });
  });

  after(async () => {
    if (server?.pid) process.kill(server.pid, 'SIGCONT');
    await facade?.stop();
    await proxy?.stop();
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(path.dirname(auditLog), { recursive: true, force: true });
  });

  const create = async (label: string): Promise<Answered> => {
    const mark = seen.length;
    const answer = await call(facade.url, 'POST', '/patients', { body: { name: label } });
    const id = answer.status === 201 ? (answer.json as { id: string }).id : undefined;
    if (id) acknowledged.push(id);
    return {
      status: answer.status,
      retryAfter: answer.headers.get('retry-after'),
      contentType: answer.headers.get('content-type'),
      fhirRequests: seen.length - mark,
      ...(id ? { id } : {}),
    };
  };

  it('metrics move by exactly the calls made: facade requests by route and status, FHIR requests by interaction', async () => {
    assert.ok(facade.metricsUrl, 'the facade logs where its metrics are');
    const warm = await create(`Metrics warm-up ${run}`); // first-call requests (capabilities) happen here
    assert.equal(warm.status, 201);
    const before = await scrape(facade.metricsUrl);
    const mark = seen.length;
    const auditMark = auditLines();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(`Metrics ${i} ${run}`)).id!);
    for (const id of ids)
      assert.equal((await call(facade.url, 'GET', `/patients/${id}`)).status, 200);
    for (let i = 0; i < 2; i++)
      assert.equal((await call(facade.url, 'GET', `/patients/9${i}${Date.now()}`)).status, 404);
    const after = await scrape(facade.metricsUrl);

    assert.deepEqual(moved(before, after, 'healthcare_fhir_http_requests_total'), {
      'healthcare_fhir_http_requests_total{method="POST",route="/patients",status="201"}': 3,
      'healthcare_fhir_http_requests_total{method="GET",route="/patients/:id",status="200"}': 3,
      'healthcare_fhir_http_requests_total{method="GET",route="/patients/:id",status="404"}': 2,
    });
    const durations = moved(before, after, 'healthcare_fhir_http_request_duration_seconds_count');
    assert.equal(
      Object.values(durations).reduce((a, b) => a + b, 0),
      8,
    );
    assert.deepEqual(moved(before, after, 'healthcare_fhir_audit_events_written_total'), {
      'healthcare_fhir_audit_events_written_total{action="create",status="201"}': 3,
      'healthcare_fhir_audit_events_written_total{action="read",status="200"}': 3,
      'healthcare_fhir_audit_events_written_total{action="read",status="404"}': 2,
    });
    assert.equal(auditLines() - auditMark, 8, 'one audit line per event counted');
    const upstream = moved(before, after, 'healthcare_fhir_upstream_requests_total');
    assert.equal(
      upstream['healthcare_fhir_upstream_requests_total{interaction="create",status="201"}'],
      3,
    );
    assert.equal(
      upstream['healthcare_fhir_upstream_requests_total{interaction="read",status="200"}'],
      3,
    );
    assert.equal(
      Object.values(upstream).reduce((a, b) => a + b, 0),
      seen.length - mark,
      'every FHIR request the server received is counted once',
    );
    const text = await (await fetch(facade.metricsUrl)).text();
    // label values only: a numeric id can turn up inside a sample's value (a byte count)
    const labelValues = [...text.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    assert.ok(labelValues.length > 10, `labels parsed (${labelValues.length})`);
    for (const id of ids)
      assert.ok(!labelValues.some((v) => v.includes(id)), `no record id in any label (${id})`);
    assert.ok(!text.includes(run), 'no record value in any label');
    assert.match(text, /^process_cpu_user_seconds_total /m, 'Node process metrics');
    assert.match(text, /^healthcare_fhir_circuit_breaker_state\{state="closed"\} 1$/m);
  });

  it("a caller's traceparent reaches every FHIR request of its call: same trace id, a new span id each; without one the facade starts a trace", async () => {
    const { id } = await create(`Trace ${run}`);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    let mark = seen.length;
    const patched = await call(facade.url, 'PATCH', `/patients/${id}`, {
      body: { status: 'I' },
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    assert.equal(patched.status, 200);
    const ofCall = seen.slice(mark);
    assert.ok(ofCall.length >= 2, `a patch reads and writes (${ofCall.length} requests)`);
    const spans = ofCall.map((r) => {
      const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(r.traceparent ?? '');
      assert.ok(match, `${r.method} carries a traceparent`);
      assert.equal(match[1], traceId, `${r.method}: the caller's trace id`);
      return match[2]!;
    });
    assert.equal(new Set(spans).size, spans.length, 'a span id of its own per FHIR request');
    assert.ok(!spans.includes(callerSpan), "never the caller's span id");
    const logged = await logLine(`"traceId":"${traceId}"`);
    assert.ok(logged, 'the request is logged with its trace id');
    assert.match(logged, new RegExp(`"parentSpanId":"${callerSpan}"`));

    mark = seen.length;
    assert.equal((await call(facade.url, 'GET', `/patients/${id}`)).status, 200);
    const started = seen
      .slice(mark)
      .map((r) => /^00-([0-9a-f]{32})-/.exec(r.traceparent ?? '')?.[1]);
    assert.equal(started.length, 1);
    assert.ok(started[0] && started[0] !== traceId, 'a trace of its own');
    assert.ok(await logLine(`"traceId":"${started[0]}"`), 'logged with the started trace');
  });

  /** The facade's log line containing `text`, waiting a little for it (its log reaches us through a pipe). */
  async function logLine(text: string): Promise<string | undefined> {
    for (let i = 0; i < 50; i++) {
      const line = facade
        .log()
        .split('\n')
        .find((l) => l.includes(text));
      if (line) return line;
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /**
   * One client creating patients, one call after another, until `done` says
   * so: each answer with the FHIR requests the proxy saw during it.
   */
  async function callThrough(phase: string, done: (answers: Answered[]) => boolean) {
    const answers: Answered[] = [];
    for (let i = 0; !done(answers); i++) {
      answers.push(await create(`Breaker ${phase} ${i} ${run}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    return answers;
  }

  /** What every outage phase must show: fast answers sent nowhere, then success again. */
  function assertOutage(answers: Answered[]): void {
    const refused = answers.filter((a) => a.retryAfter !== null);
    assert.ok(
      refused.length >= 5,
      `the breaker opened (${refused.length} answers with Retry-After)`,
    );
    for (const a of refused) {
      assert.equal(a.status, 503);
      assert.match(a.contentType ?? '', /^application\/problem\+json/);
      assert.match(a.retryAfter!, /^[1-9]\d*$/);
      assert.equal(a.fhirRequests, 0, 'a call answered by the open breaker sends no FHIR request');
    }
    assert.ok(
      answers.every((a) => a.status === 201 || a.status === 503 || a.status === 504),
      `only created, unavailable or timed out: ${[...new Set(answers.map((a) => a.status))].join(',')}`,
    );
    assert.deepEqual(
      answers.slice(-3).map((a) => a.status),
      [201, 201, 201],
      'creates succeed again',
    );
  }

  const consecutiveRefused = (n: number) => (answers: Answered[]) =>
    answers.length >= n && answers.slice(-n).every((a) => a.retryAfter !== null);
  const recovered = (answers: Answered[]) =>
    answers.length >= 3 && answers.slice(-3).every((a) => a.status === 201);

  it('HAPI stopped: the breaker opens, calls are answered 503 + Retry-After without reaching it; after a restart it closes', async (t) => {
    const port = server.port;
    await server.kill(); // stopped at once (SIGKILL), its port closed
    const down = await callThrough('stopped', consecutiveRefused(5));
    const restartedAt = performance.now();
    const restarting = start(port).then((s) => (server = s));
    const during = await callThrough('restarting', (a) => a.length > 0 && recovered(a));
    await restarting;
    t.diagnostic(
      `HAPI restart took ${Math.round((performance.now() - restartedAt) / 1000)} s; ${during.length} calls meanwhile`,
    );
    assertOutage([...down, ...during]);
    const metrics = await scrape(facade.metricsUrl!);
    assert.equal(metrics.get('healthcare_fhir_circuit_breaker_state{state="closed"}'), 1);
    assert.ok(metrics.get('healthcare_fhir_circuit_breaker_transitions_total{state="open"}')! >= 1);
    assert.ok(
      metrics.get('healthcare_fhir_circuit_breaker_rejections_total{interaction="create"}')! >= 5,
    );
    assert.match(facade.log(), /circuit breaker open/);
    assert.match(facade.log(), /circuit breaker closed/);
    assert.equal((await call(facade.url, 'GET', '/readyz')).status, 200);
  });

  it('HAPI frozen (SIGSTOP): calls time out until the breaker opens, then are answered at once; after SIGCONT it closes; /readyz says so', async () => {
    process.kill(server.pid!, 'SIGSTOP');
    let answers: Answered[];
    let readyWhileOpen: Awaited<ReturnType<typeof call>> | undefined;
    try {
      answers = await callThrough('frozen', consecutiveRefused(5));
      // the readiness check itself may be the probe when the open time has just passed
      for (let i = 0; i < 3 && !readyWhileOpen?.headers.get('retry-after'); i++)
        readyWhileOpen = await call(facade.url, 'GET', '/readyz');
    } finally {
      process.kill(server.pid!, 'SIGCONT');
    }
    answers.push(...(await callThrough('thawed', recovered)));
    assertOutage(answers);
    assert.ok(
      answers.some((a) => a.status === 504),
      'the first calls timed out',
    );
    assert.equal(readyWhileOpen?.status, 503);
    assert.ok(readyWhileOpen.headers.get('retry-after'), '/readyz: Retry-After while open');
    assert.match(readyWhileOpen.text, /circuit breaker is (open|half-open)/);
  });

  it('every create the facade acknowledged through the outages is readable', async () => {
    assert.ok(acknowledged.length > 10);
    // read straight from HAPI with the library's default timeout and retries: a server just
    // thawed may be slow, and slow is not lost (the facade's 1 s timeout is for the outages)
    const reader = new FhirStorage({ baseUrl: server.baseUrl, scopeTag: scopeTag() });
    const lost: string[] = [];
    for (const id of acknowledged) if (!(await reader.getPatient(id))) lost.push(id);
    assert.deepEqual(lost, [], 'acknowledged creates missing on the server');
  });
});
