/**
 * Smoke test of the FHIR server at FHIR_BASE_URL (the local HAPI FHIR server that
 * scripts/test.ts starts, or any server given by the caller), with plain fetch.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { requireFhirBaseUrl } from '../fhir-base-url.js';

const baseUrl = requireFhirBaseUrl();
/** The bundled server's profile under test (scripts/server-matrix.ts sets it): `tuned` or `stock`. */
const profile = process.env.FHIR_SERVER_PROFILE === 'stock' ? 'stock' : 'tuned';
const FHIR_JSON = 'application/fhir+json';
const TAG_SYSTEM = 'urn:healthcare-fhir:test-run';
const runTag = randomUUID();
const family = `Smoketest${runTag.replace(/-/g, '').slice(0, 12)}`;

interface Resource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; tag?: { system?: string; code?: string }[] };
  [key: string]: unknown;
}
interface Bundle extends Resource {
  total?: number;
  entry?: { resource: Resource }[];
}

function url(path: string): string {
  return `${baseUrl}/${path}`;
}

async function fhir(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Resource }> {
  const res = await fetch(url(path), {
    method,
    headers: {
      accept: FHIR_JSON,
      ...(body === undefined ? {} : { 'content-type': FHIR_JSON }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: Resource;
  try {
    json = JSON.parse(text) as Resource;
  } catch {
    assert.fail(`${method} ${path}: ${res.status} with a non-JSON body: ${text.slice(0, 300)}`);
  }
  return { status: res.status, headers: res.headers, json };
}

async function search(query: string, headers: Record<string, string> = {}): Promise<string[]> {
  const { status, json } = await fhir('GET', query, undefined, headers);
  assert.equal(status, 200, `GET ${query}: ${JSON.stringify(json).slice(0, 300)}`);
  assert.equal(json.resourceType, 'Bundle');
  return ((json as Bundle).entry ?? []).map((e) => e.resource.id ?? '');
}

function newPatient(): Resource {
  return {
    resourceType: 'Patient',
    meta: { tag: [{ system: TAG_SYSTEM, code: runTag }] },
    active: true,
    name: [{ family, given: ['Ada'] }],
    gender: 'female',
    birthDate: '2021-05-06',
  };
}

describe('local FHIR server (FHIR_BASE_URL)', () => {
  it('serves an R4 CapabilityStatement at /metadata', async () => {
    const { status, json } = await fhir('GET', 'metadata');
    assert.equal(status, 200);
    assert.equal(json.resourceType, 'CapabilityStatement');
    assert.equal(json.fhirVersion, '4.0.1');
  });

  it('creates a Patient with a server-assigned id and reads it back', async () => {
    const created = await fhir('POST', 'Patient', newPatient());
    assert.equal(created.status, 201);
    const id = created.json.id;
    assert.ok(id, 'server assigned an id');
    assert.equal(created.json.meta?.versionId, '1');

    const read = await fhir('GET', `Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.json.id, id);
    assert.deepEqual(read.json.name, [{ family, given: ['Ada'] }]);
    assert.equal(read.headers.get('etag'), 'W/"1"');
  });

  it('rejects a version-conditional PUT with a stale If-Match with 409, as stock HAPI does', async () => {
    const created = await fhir('POST', 'Patient', newPatient());
    const id = created.json.id;
    assert.ok(id);
    const v2 = await fhir(
      'PUT',
      `Patient/${id}`,
      { ...newPatient(), id, active: false },
      {
        'if-match': 'W/"1"',
      },
    );
    assert.equal(v2.status, 200);
    assert.equal(v2.json.meta?.versionId, '2');

    const stale = await fhir(
      'PUT',
      `Patient/${id}`,
      { ...newPatient(), id, gender: 'male' },
      {
        'if-match': 'W/"1"',
      },
    );
    assert.equal(stale.status, 409); // HAPI's answer; the FHIR spec says 412, FhirStorage takes both
    assert.equal(stale.json.resourceType, 'OperationOutcome');

    const read = await fhir('GET', `Patient/${id}`);
    assert.equal(read.json.meta?.versionId, '2');
    assert.equal(read.json.gender, 'female');
  });

  if (profile === 'tuned') {
    it('tuned: finds a resource in a search made right after its creation (no search cache)', async () => {
      const before = await search(`Patient?family=${family}&_count=100`);
      const created = await fhir('POST', 'Patient', newPatient());
      const after = await search(`Patient?family=${family}&_count=100`);
      assert.ok(created.json.id);
      assert.ok(after.includes(created.json.id), 'new patient found');
      assert.equal(after.length, before.length + 1);
    });

    it('tuned: supports name:contains', async () => {
      const created = await fhir('POST', 'Patient', newPatient());
      const middle = family.slice(3, 12); // neither a prefix nor the whole name
      const ids = await search(`Patient?name:contains=${middle}&_count=100`);
      assert.ok(ids.includes(created.json.id ?? '<none>'));
      const plain = await search(`Patient?name=${middle}&_count=100`);
      assert.ok(!plain.includes(created.json.id ?? '<none>'), 'plain name search is prefix-only');
    });
  } else {
    it('stock: a repeated search is answered from the search cache (stale), and Cache-Control: no-cache runs it anew', async () => {
      const query = `Patient?family=${family}stale&_count=100`;
      const before = await search(query);
      const created = await fhir('POST', 'Patient', {
        ...newPatient(),
        name: [{ family: `${family}stale` }],
      });
      assert.deepEqual(await search(query), before, 'the cached answer, without the new patient');
      const fresh = await search(query, { 'cache-control': 'no-cache' });
      assert.ok(fresh.includes(created.json.id ?? '<none>'), 'no-cache: the new patient is found');
    });

    it('stock: name:contains is refused with 405 HAPI-1258; the plain name search is starts-with on each part', async () => {
      const refused = await fhir('GET', `Patient?name:contains=${family.slice(3, 12)}&_count=1`);
      assert.equal(refused.status, 405);
      assert.match(JSON.stringify(refused.json), /HAPI-1258/);
      const created = await fhir('POST', 'Patient', newPatient());
      const nocache = { 'cache-control': 'no-cache' };
      const prefix = await search(
        `Patient?name=${family.slice(0, 8).toLowerCase()}&_count=100`,
        nocache,
      );
      assert.ok(
        prefix.includes(created.json.id ?? '<none>'),
        'any case, a prefix of the family name',
      );
      const middle = await search(`Patient?name=${family.slice(3, 12)}&_count=100`, nocache);
      assert.ok(!middle.includes(created.json.id ?? '<none>'), 'not a middle part');
    });
  }

  it('name:exact is evaluated on every profile and matches one indexed name part as written: the text, a given name, the family name', async () => {
    const nocache = { 'cache-control': 'no-cache' };
    const withText = await fhir('POST', 'Patient', {
      resourceType: 'Patient',
      name: [{ text: `Ann ${family} X`, given: ['Ann', family], family: 'X' }],
    });
    const partsOnly = await fhir('POST', 'Patient', {
      resourceType: 'Patient',
      name: [{ given: ['Bo', 'Cy'], family: `${family}Z` }],
    });
    const exact = (value: string) =>
      search(`Patient?name:exact=${encodeURIComponent(value)}&_count=100`, nocache);
    assert.deepEqual(await exact(`Ann ${family} X`), [withText.json.id], 'the text, whole');
    assert.deepEqual(await exact(`${family}Z`), [partsOnly.json.id], 'the family name');
    assert.ok((await exact('Cy')).includes(partsOnly.json.id!), 'a given name');
    assert.deepEqual(await exact(`ann ${family} x`), [], 'case counts');
    assert.deepEqual(await exact(`Bo Cy ${family}Z`), [], 'parts are not joined into a text');
    assert.deepEqual(await exact(`Ann ${family}`), [], 'not a prefix');
  });

  it('supports _tag=system|code searches', async () => {
    const created = await fhir('POST', 'Patient', newPatient());
    const ids = await search(`Patient?_tag=${TAG_SYSTEM}|${runTag}&_count=100`);
    assert.ok(ids.includes(created.json.id ?? '<none>'));
    const other = await search(`Patient?_tag=${TAG_SYSTEM}|${randomUUID()}`);
    assert.deepEqual(other, []);
  });
});
