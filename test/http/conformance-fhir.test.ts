/**
 * The conformance suite through HttpStorage → the facade → FhirStorage on the
 * real HAPI FHIR server that `npm test` starts (FHIR_BASE_URL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HttpStorage } from '../../src/client/http-storage.js';
import type { HealthcareStorage } from '../../src/api/types.js';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { AuditTrail } from '../../src/http/audit/trail.js';
import { runConformanceSuite } from '../../src/testing/index.js';
import { readTrail, requestIds, requestSourceNames, requestValues } from './audit-helpers.js';
import { call, startApp, type Answer, type RunningApp } from './helpers.js';
import { OpenApiChecker } from './openapi-check.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import {
  forward,
  readBody,
  relay,
  startLoopbackProxy,
  type LoopbackProxy,
} from '../support/forward.js';

const baseUrl = requireFhirBaseUrl();

let running: RunningApp | undefined;
let fhir: HealthcareStorage | undefined;
let openApi: Record<string, unknown> | undefined;

/** Every answer the facade gives HttpStorage during the suite (through a recording proxy), to check against /openapi.json. */
const answers: { method: string; path: string; answer: Answer }[] = [];
let recorder: LoopbackProxy | undefined;
/** The facade's audit trail during the suite, and every record value the suite's requests and answers carried. */
const auditDir = mkdtempSync(path.join(tmpdir(), 'conformance-audit-'));
const auditLog = path.join(auditDir, 'audit.jsonl');
const valuesSeen = new Set<string>();
const idsSeen = new Set<string>();
const sourceNamesSeen = new Set<string>();

/** A proxy in front of the facade that keeps a copy of each answer. */
function startRecorder(facadeUrl: string): Promise<LoopbackProxy> {
  return startLoopbackProxy(facadeUrl, async (req, body, res, host) => {
    const upstream = await forward(facadeUrl, req, body, host, { keepAuthorization: true });
    const payload = await readBody(upstream);
    const headers = new Headers();
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const text = payload.toString('utf8');
    for (const value of requestValues(req.url ?? '/', body.toString('utf8'), text))
      valuesSeen.add(value);
    for (const id of requestIds(req.url ?? '/', text)) idsSeen.add(id);
    for (const name of requestSourceNames(req.url ?? '/', body.toString('utf8')))
      sourceNamesSeen.add(name);
    answers.push({
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', facadeUrl).pathname,
      answer: {
        status: upstream.statusCode ?? 0,
        headers,
        text,
        json:
          text && !headers.get('content-type')?.startsWith('application/x-ndjson')
            ? JSON.parse(text)
            : undefined,
      },
    });
    relay(upstream, payload, res);
  });
}

/** The OpenAPI path template of a facade path. */
function template(path: string): string {
  const [, collection, id, sub] = path.split('/');
  if (id === undefined) return `/${collection}`;
  if (id === '_search') return `/${collection}/_search`;
  return sub === 'links' ? `/${collection}/{id}/links` : `/${collection}/{id}`;
}
runConformanceSuite(
  'HttpStorage over the facade over FhirStorage',
  async () => {
    fhir = new FhirStorage({
      baseUrl,
      scopeTag: {
        system: 'urn:healthcare-fhir:test',
        code: `http-${randomBytes(4).toString('hex')}`,
      },
    });
    running = await startApp({
      storage: fhir,
      apiTokens: ['fhir-conformance'],
      audit: await AuditTrail.open({ log: auditLog }),
    });
    openApi = (
      await call(running.baseUrl, 'GET', '/openapi.json', {
        headers: { authorization: 'Bearer fhir-conformance' },
      })
    ).json as Record<string, unknown>;
    recorder = await startRecorder(running.baseUrl);
    return new HttpStorage({
      baseUrl: recorder.baseUrl,
      token: 'fhir-conformance',
      timeoutMs: 30_000,
    });
  },
  {
    teardown: async () => {
      await recorder?.stop();
      await running?.close();
      await fhir?.close?.();
    },
  },
);

it('the audit trail of the whole suite: ids only of records addressed or answered, source names as sent; no name, date, source id or lookup value anywhere else', () => {
  const events = readTrail(auditLog); // `time` (the event's own instant) checked and left out
  rmSync(auditDir, { recursive: true, force: true });
  assert.ok(events.length > 300, `one event per record request (${events.length})`);
  const strangers = events.flatMap((e) => e.ids).filter((id) => !idsSeen.has(id));
  assert.deepEqual(strangers, [], 'ids are the ids requests addressed or answers carried');
  const names = events.flatMap((e) => (e.source_name === undefined ? [] : [e.source_name]));
  assert.ok(
    names.length > 10 && names.every((n) => sourceNamesSeen.has(n)),
    'source names as sent',
  );
  assert.ok(
    events.every((e) => /^[0-9a-f-]{36}$/.test(e.request_id)),
    'request ids are UUIDs',
  );
  // ids, source names and request ids are what they were checked to be above (a lookup on `id`
  // has an id as its value; the suite's missing ids and source names hold its run token, a
  // lookup value too; a 4-digit value can occur in a random UUID)
  const trail = events
    .map(({ ids: _i, source_name: _s, request_id: _r, ...e }) => JSON.stringify(e))
    .join('\n');
  // shorter values (enum letters, two-letter lookups) would match field names and ids by chance
  const searched = [...valuesSeen].filter((v) => v.trim().length >= 3);
  assert.ok(searched.length > 200, `values captured from the requests (${searched.length})`);
  const found = searched.filter(
    (v) => trail.includes(v) || trail.includes(JSON.stringify(v).slice(1, -1)),
  );
  assert.deepEqual(found, []);
});

it('every answer the FHIR-backed facade gave during the suite matches /openapi.json', async () => {
  const recorded = answers;
  assert.ok(
    recorded.length > 300,
    `the suite went through the facade (${recorded.length} answers)`,
  );
  const checker = new OpenApiChecker(openApi!);
  for (const { method, path, answer } of recorded) checker.check(answer, method, template(path));
  const statuses = new Set(recorded.map((r) => r.answer.status));
  for (const status of [200, 201, 204, 400, 404, 409])
    assert.ok(statuses.has(status), `saw ${status}`);
});

describe('the facade over FhirStorage: readiness and upstream failures', () => {
  it('/readyz → 200 on the real HAPI server', async () => {
    const storage = new FhirStorage({
      baseUrl,
      scopeTag: {
        system: 'urn:healthcare-fhir:test',
        code: `http-${randomBytes(4).toString('hex')}`,
      },
    });
    const app = await startApp({ storage });
    try {
      assert.equal((await call(app.baseUrl, 'GET', '/readyz')).status, 200);
    } finally {
      await app.close();
      await storage.close?.();
    }
  });

  it('a FHIR server that is not there → /readyz 503, record routes 503 problem+json', async () => {
    const storage = new FhirStorage({ baseUrl: 'http://127.0.0.1:9/fhir' });
    const app = await startApp({ storage });
    try {
      assert.equal((await call(app.baseUrl, 'GET', '/readyz')).status, 503);
      for (const [method, path, body] of [
        ['GET', '/patients/abc', undefined],
        ['GET', '/providers?name__like=x', undefined],
        ['POST', '/patients', { name: 'Nobody' }],
      ] as const) {
        const answer = await call(app.baseUrl, method, path, body ? { body } : {});
        assert.equal(answer.status, 503, `${method} ${path}: ${answer.text}`);
        assert.match(answer.headers.get('content-type')!, /^application\/problem\+json/);
      }
    } finally {
      await app.close();
      await storage.close?.();
    }
  });
});
