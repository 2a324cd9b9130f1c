/**
 * Inputs at the edge of what the facade takes (dot-segment ids, very large
 * searches, boundary dates, lone UTF-16 surrogates, bodies that are not their
 * Content-Encoding), through the facade on FhirStorage on the real HAPI server
 * (FHIR_BASE_URL): answered as the memory backend answers them, never a 5xx.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { call, sendRaw, startApp, type RunningApp } from './helpers.js';

/** A request with its path sent as written (fetch would remove `%2e` dot segments before sending). */
async function rawStatus(
  baseUrl: string,
  method: string,
  path: string,
  body?: string,
): Promise<number> {
  const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
  const answer = await sendRaw(baseUrl, {
    method,
    path,
    headers,
    ...(body ? { body: Buffer.from(body) } : {}),
  });
  return answer.status;
}

describe('edge inputs through the facade on FhirStorage (real HAPI), answered as on memory', () => {
  let fhir: FhirStorage;
  let onFhir: RunningApp;
  let onMemory: RunningApp;
  let patientId: string;
  const token = `edge${randomBytes(3).toString('hex')}`;

  before(async () => {
    fhir = new FhirStorage({
      baseUrl: requireFhirBaseUrl(),
      scopeTag: { system: 'urn:healthcare-fhir:test', code: `edge-inputs-${token}` },
      timeoutMs: 30_000,
    });
    onFhir = await startApp({ storage: fhir });
    onMemory = await startApp({ storage: new MemoryStorage() });
    for (const app of [onFhir, onMemory]) {
      const created = await call(app.baseUrl, 'POST', '/patients', {
        body: { name: `Ada ${token}`, birth_date: '1990-05-06' },
      });
      assert.equal(created.status, 201, created.text);
      if (app === onFhir) patientId = (created.json as { id: string }).id;
    }
  });
  after(async () => {
    await onFhir.close();
    await onMemory.close();
    await fhir.close();
  });

  it('ids "." and ".." (plain and %2e-encoded) on every id route: 404 on both backends, and the patient they would reach is unchanged', async () => {
    const link = JSON.stringify({ source_id: 'x', source_name: 'y' });
    for (const id of ['.', '..', '%2e', '%2e%2e', '%2E', '.%2e']) {
      for (const [method, path, body] of [
        ['GET', `/patients/${id}`],
        ['PATCH', `/patients/${id}`, '{"status":"I"}'],
        ['DELETE', `/patients/${id}`],
        ['GET', `/patients/${id}/links`],
        ['POST', `/patients/${id}/links`, link],
        ['DELETE', `/patients/${id}/links?source_id=x&source_name=y`],
        ['GET', `/providers/${id}`],
        ['PATCH', `/providers/${id}`, '{"status":"I"}'],
        ['DELETE', `/providers/${id}`],
      ] as const) {
        const fhirStatus = await rawStatus(onFhir.baseUrl, method, path, body);
        const memoryStatus = await rawStatus(onMemory.baseUrl, method, path, body);
        assert.equal(memoryStatus, 404, `memory ${method} ${path}`);
        assert.equal(fhirStatus, 404, `fhir ${method} ${path}`);
      }
    }
    // and the patient the dot segments would have reached is untouched
    const still = await call(onFhir.baseUrl, 'GET', `/patients/${patientId}`);
    assert.equal((still.json as { status: string }).status, 'A');
  });

  it('POST /patients/_search with an IN of 808 names, an IN of 1500 ids or 111 LIKE lookups: 200 with exactly the one matching patient', async () => {
    const names = Array.from({ length: 808 }, (_, i) => `Nobody ${i} ${token}`);
    names[500] = `Ada ${token}`;
    const inAnswer = await call(onFhir.baseUrl, 'POST', '/patients/_search', {
      body: { lookups: [['name', 'in', names]] },
    });
    assert.equal(inAnswer.status, 200, inAnswer.text.slice(0, 300));
    assert.deepEqual(
      (inAnswer.json as { id: string }[]).map((r) => r.id),
      [patientId],
    );
    // 1500 ids (about 30 KB of `_id=`) only fit in a POST [type]/_search form body
    const ids = Array.from({ length: 1500 }, (_, i) => `missing-${token}-${i}`);
    ids[700] = patientId;
    const idAnswer = await call(onFhir.baseUrl, 'POST', '/patients/_search', {
      body: { lookups: [['id', 'in', ids]] },
    });
    assert.equal(idAnswer.status, 200, idAnswer.text.slice(0, 300));
    assert.deepEqual(
      (idAnswer.json as { id: string }[]).map((r) => r.id),
      [patientId],
    );
    const likes = Array.from({ length: 111 }, (_, i) => ['name', '%', i % 2 ? 'Ada' : token]);
    const likeAnswer = await call(onFhir.baseUrl, 'POST', '/patients/_search', {
      body: { lookups: likes },
    });
    assert.equal(likeAnswer.status, 200, likeAnswer.text.slice(0, 300));
    assert.deepEqual(
      (likeAnswer.json as { id: string }[]).map((r) => r.id),
      [patientId],
    );
  });

  it('boundary dates (0001-01-01, 9999-12-31, datetimes at ±14:00) on birth_date, updated_date and created_date: 200 with as many records as memory', async () => {
    for (const query of [
      'birth_date__lte=9999-12-31',
      'birth_date__lt=9999-12-31',
      'birth_date__gte=0001-01-01',
      'birth_date__gt=0001-01-01',
      'birth_date=9999-12-31',
      'birth_date__in=0001-01-01&birth_date__in=9999-12-31',
      'updated_date__lte=9999-12-31',
      'updated_date__gte=0001-01-01',
      'updated_date__gte=0001-01-01T00:00:00%2B14:00',
      'updated_date__lte=9999-12-31T23:59:59-14:00',
      'created_date__gte=0001-01-01',
    ]) {
      const fhirAnswer = await call(
        onFhir.baseUrl,
        'GET',
        `/patients?name__like=${token}&${query}`,
      );
      const memoryAnswer = await call(
        onMemory.baseUrl,
        'GET',
        `/patients?name__like=${token}&${query}`,
      );
      assert.equal(fhirAnswer.status, 200, `${query}: ${fhirAnswer.text.slice(0, 200)}`);
      assert.equal(memoryAnswer.status, 200, query);
      assert.equal(
        (fhirAnswer.json as unknown[]).length,
        (memoryAnswer.json as unknown[]).length,
        query,
      );
    }
  });

  it('a lone UTF-16 surrogate in a created or patched field, a lookup or a link: 400 validation-error on both backends, and the patient is unchanged', async () => {
    for (const app of [onFhir, onMemory]) {
      for (const [method, path, raw] of [
        ['POST', '/patients', '{"name":"\\ud800x"}'],
        ['POST', '/providers', '{"name":"ok","location":"x\\udfff"}'],
        ['PATCH', `/patients/${app === onFhir ? patientId : '1'}`, '{"name":"\\ud800x"}'],
        ['POST', '/patients/_search', '{"lookups":[["name","%","\\ud800"]]}'],
        [
          'POST',
          `/patients/${app === onFhir ? patientId : '1'}/links`,
          '{"source_id":"\\udc00","source_name":"n"}',
        ],
      ] as const) {
        const answer = await call(app.baseUrl, method, path, { raw });
        assert.equal(answer.status, 400, `${method} ${path}: ${answer.text.slice(0, 200)}`);
        assert.equal(
          (answer.json as { type: string }).type,
          'urn:healthcare-fhir:problem:validation-error',
        );
      }
    }
    const unchanged = await call(onFhir.baseUrl, 'GET', `/patients/${patientId}`);
    assert.equal((unchanged.json as { name: string }).name, `Ada ${token}`);
  });

  it('a POST body that is not data of its Content-Encoding (gzip, deflate, br): 400 problem+json', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      for (const path of ['/patients', '/patients/_search']) {
        const answer = await call(onFhir.baseUrl, 'POST', path, {
          raw: '{"name":"not compressed"}',
          headers: { 'content-encoding': encoding },
        });
        assert.equal(answer.status, 400, `${encoding} ${path}: ${answer.text}`);
        assert.match(answer.headers.get('content-type')!, /^application\/problem\+json/);
      }
    }
  });
});
