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
import { call, startApp, type RunningApp } from './helpers.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';

const baseUrl = requireFhirBaseUrl();

let running: RunningApp | undefined;
let fhir: HealthcareStorage | undefined;
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
