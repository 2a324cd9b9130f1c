/**
 * The conformance suite through HttpStorage → the facade → FhirStorage on the
 * real HAPI FHIR server that `npm test` starts (FHIR_BASE_URL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { HttpStorage } from '../../src/client/http-storage.js';
import type { HealthcareStorage } from '../../src/api/types.js';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { runConformanceSuite } from '../../src/testing/index.js';
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
    running = await startApp({ storage: fhir, apiTokens: ['fhir-conformance'] });
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
