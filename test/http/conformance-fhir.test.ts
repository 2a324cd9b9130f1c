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

const baseUrl = requireFhirBaseUrl();

let running: RunningApp | undefined;
let fhir: HealthcareStorage | undefined;
let openApi: Record<string, unknown> | undefined;

/** Every answer the facade gives HttpStorage during the suite, to check against /openapi.json. */
const answers: Promise<{ method: string; path: string; answer: Answer }>[] = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await realFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (running && url.origin === new URL(running.baseUrl).origin) {
    const copy = response.clone();
    answers.push(
      copy.text().then((text) => ({
        method: init?.method ?? 'GET',
        path: url.pathname,
        answer: {
          status: copy.status,
          headers: copy.headers,
          text,
          json:
            text && !copy.headers.get('content-type')?.startsWith('application/x-ndjson')
              ? JSON.parse(text)
              : undefined,
        },
      })),
    );
  }
  return response;
};

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
    return new HttpStorage({
      baseUrl: running.baseUrl,
      token: 'fhir-conformance',
      timeoutMs: 30_000,
    });
  },
  {
    teardown: async () => {
      await running?.close();
      await fhir?.close?.();
    },
  },
);

it('every answer the FHIR-backed facade gave during the suite matches /openapi.json', async () => {
  const recorded = await Promise.all(answers);
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
