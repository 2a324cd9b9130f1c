/**
 * The exact HTTP requests FhirStorage sends per operation and lookup (method,
 * path, query with its escaping, headers, body), and how it maps failures.
 * nock stands in for the server here only; behaviour is tested against HAPI.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import nock from 'nock';
import { useStrictNock } from '../support/strict-nock.js';
import {
  ConflictError,
  FhirStorage,
  StorageUnavailableError,
  ValidationError,
  comparisons as C,
  type Lookup,
} from '../../src/index.js';
import { linkSearchParameters } from '../../src/backends/fhir/link-guarantee.js';
import { events, type RetryEvent } from '../../src/transport/events.js';
import { call, startApp } from '../http/helpers.js';

const origin = 'http://fhir.test';
const baseUrl = `${origin}/fhir`;
const tag = { system: 'urn:test:scope', code: 'run-1' };
const createdUrl = 'https://healthcare-fhir.dev/fhir/StructureDefinition/created-date';

useStrictNock();

function patient(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id,
    meta: { versionId: '3', lastUpdated: '2026-01-02T03:04:05.678+00:00', tag: [tag] },
    extension: [{ url: createdUrl, valueDateTime: '2026-01-01T00:00:00.000Z' }],
    name: [{ text: 'Jane Doe', family: 'Doe', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1990-05-01',
    address: [{ city: 'Kampala' }],
    active: true,
    ...extra,
  };
}

const bundle = (resources: unknown[], next?: string) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
  entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
});

const capability = {
  resourceType: 'CapabilityStatement',
  rest: [
    {
      resource: ['Patient', 'Practitioner'].map((type) => ({
        type,
        searchParam: [
          'name',
          'gender',
          'birthdate',
          'death-date',
          'address-city',
          'active',
          'identifier',
        ].map((name) => ({ name })),
      })),
    },
  ],
};

/** A reply function's request body (nock passes it raw). */
const json = (body: unknown): Record<string, unknown> =>
  (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;

/** A storage with a page size set (learning the server's page is in page-size.test.ts). */
const storage = (options: Partial<ConstructorParameters<typeof FhirStorage>[0]> = {}) =>
  new FhirStorage({ baseUrl, scopeTag: tag, pageSize: 200, ...options });
/** Links that never rely on the server's unique index. */
const singleWriter = () => storage({ linkUniqueness: 'single-writer' });
/** Links that rely on the server's unique index without asking it. */
const guarded = () => storage({ linkUniqueness: 'server' });

/** Intercepts one search and records its raw path + query. */
function searchOnce(type: string, reply: nock.Body = bundle([])): string[] {
  const seen: string[] = [];
  nock(origin)
    .get((uri) => uri.startsWith(`/fhir/${type}?`) && seen.push(uri) > 0)
    .reply(200, reply);
  return seen;
}

/** The probe of one modifier on one string parameter, answered `status` (200: the server evaluates it). */
function modifierProbe(
  type: string,
  param: string,
  modifier: 'contains' | 'exact',
  status = 200,
): void {
  nock(origin)
    .get(`/fhir/${type}?${param}:${modifier}=healthcare-fhir-probe&_count=1`)
    .reply(status, status === 200 ? bundle([]) : { resourceType: 'OperationOutcome' });
}
const containsProbe = (type: string, param: string, status = 200) =>
  modifierProbe(type, param, 'contains', status);
const exactProbe = (type: string, param: string, status = 200) =>
  modifierProbe(type, param, 'exact', status);

describe('FhirStorage requests: records', () => {
  it('get: one GET with Accept application/fhir+json and the configured headers', async () => {
    const scope = nock(origin, {
      reqheaders: {
        accept: 'application/fhir+json',
        'x-tenant': 't1',
        authorization: 'Bearer abc',
      },
    })
      .get('/fhir/Patient/p-1.2')
      .reply(200, patient('p-1.2'));
    const s = storage({
      headers: { 'x-tenant': 't1' },
      authorize: async () => ({ authorization: 'Bearer abc' }),
    });
    assert.deepEqual(await s.getPatient('p-1.2'), {
      id: 'p-1.2',
      name: 'Jane Doe',
      sex: 'F',
      birth_date: '1990-05-01',
      death_date: null,
      location: 'Kampala',
      status: 'A',
      created_date: '2026-01-01T00:00:00.000Z',
      updated_date: '2026-01-02T03:04:05.678Z',
    });
    scope.done();
  });

  it('get: 404 and 410 (deleted) are null', async () => {
    nock(origin).get('/fhir/Patient/gone').reply(410, { resourceType: 'OperationOutcome' });
    nock(origin).get('/fhir/Practitioner/none').reply(404, { resourceType: 'OperationOutcome' });
    const s = storage();
    assert.equal(await s.getPatient('gone'), null);
    assert.equal(await s.getProvider('none'), null);
  });

  it('ids that are not FHIR ids send nothing and are missing', async () => {
    const s = storage();
    for (const id of [
      '../x',
      'a/b',
      '?x=1',
      '#f',
      'x y',
      '',
      'a'.repeat(65),
      '1/_history/1',
      'é',
    ]) {
      assert.equal(await s.getPatient(id), null);
      assert.equal(await s.updatePatient(id, { name: 'N' }), false);
      assert.equal(await s.deletePatient(id), false);
      assert.equal(await s.linkPatient(id, 's', 'n'), false);
      assert.equal(await s.unlinkPatient(id, 's', 'n'), false);
      assert.equal(await s.getPatientLinks(id), null);
      assert.equal(await s.getProvider(id), null);
    }
    await assert.rejects(s.getPatient(42 as unknown as string), ValidationError);
  });

  it('create: one POST of the mapped resource with the scope tag and the created-date extension', async () => {
    let sent: Record<string, unknown> | undefined;
    nock(origin, {
      reqheaders: { 'content-type': 'application/fhir+json', prefer: 'return=representation' },
    })
      .post('/fhir/Patient', (body: Record<string, unknown>) => {
        sent = body;
        return true;
      })
      .reply(201, (_uri, body) => ({
        ...json(body),
        id: 'new1',
        meta: {
          ...(json(body).meta as object),
          versionId: '1',
          lastUpdated: '2999-01-01T00:00:00.000Z',
        },
      }));
    const before = Date.now();
    const record = await storage().createPatient({
      name: 'Mary Ann Smith',
      sex: 'M',
      birth_date: '2000-01-15',
      death_date: '2020-03-01',
      location: 'Gulu',
    });
    const ext = (sent!.extension as { valueDateTime: string }[])[0]!.valueDateTime;
    assert.ok(Date.parse(ext) >= before - 1 && Date.parse(ext) <= Date.now());
    assert.deepEqual(sent, {
      resourceType: 'Patient',
      meta: { tag: [tag] },
      name: [{ text: 'Mary Ann Smith', family: 'Smith', given: ['Mary', 'Ann'] }],
      gender: 'male',
      birthDate: '2000-01-15',
      deceasedDateTime: '2020-03-01',
      address: [{ city: 'Gulu' }],
      active: true,
      extension: [{ url: createdUrl, valueDateTime: ext }],
    });
    assert.equal(record.id, 'new1');
    assert.equal(record.status, 'A');
    assert.equal(record.created_date, ext);
    assert.equal(record.updated_date, '2999-01-01T00:00:00.000Z');
  });

  it('create: when the server clock is behind ours, one PUT sets created_date to its lastUpdated', async () => {
    nock(origin)
      .post('/fhir/Patient')
      .reply(201, (_uri, body) => ({
        ...json(body),
        id: 'new2',
        meta: { versionId: '1', lastUpdated: '2000-01-01T00:00:00.000+00:00' },
      }));
    let sent: { extension?: unknown } | undefined;
    nock(origin)
      .put('/fhir/Patient/new2', (b: { extension?: unknown }) => ((sent = b), true))
      .matchHeader('if-match', 'W/"1"')
      .reply(200, (_uri, body) => ({
        ...json(body),
        meta: { versionId: '2', lastUpdated: '2000-01-01T00:00:00.100+00:00' },
      }));
    const record = await storage().createPatient({ name: 'Skew' });
    assert.deepEqual(sent?.extension, [
      { url: createdUrl, valueDateTime: '2000-01-01T00:00:00.000Z' },
    ]);
    assert.equal(record.created_date, '2000-01-01T00:00:00.000Z');
    assert.equal(record.updated_date, '2000-01-01T00:00:00.100Z');
  });

  it('created_date never reads later than updated_date (an extension ahead of meta.lastUpdated)', async () => {
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(
        200,
        patient('p1', {
          extension: [{ url: createdUrl, valueDateTime: '2026-01-02T03:04:06.000Z' }],
        }),
      );
    const record = await storage().getPatient('p1');
    assert.equal(record?.created_date, '2026-01-02T03:04:05.678Z');
    assert.equal(record?.updated_date, '2026-01-02T03:04:05.678Z');
  });

  it('update: an extension ahead of meta.lastUpdated is frozen at the created_date shown', async () => {
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(
        200,
        patient('p1', {
          extension: [{ url: createdUrl, valueDateTime: '2026-01-02T03:04:06.000Z' }],
        }),
      );
    let sent: { extension?: unknown } | undefined;
    nock(origin)
      .put('/fhir/Patient/p1', (b: { extension?: unknown }) => ((sent = b), true))
      .reply(200, (_u, b) => ({
        ...json(b),
        meta: { versionId: '4', lastUpdated: '2026-01-03T00:00:00Z' },
      }));
    assert.equal(await storage().updatePatient('p1', { location: 'Gulu' }), true);
    assert.deepEqual(sent?.extension, [
      { url: createdUrl, valueDateTime: '2026-01-02T03:04:05.678Z' },
    ]);
  });

  it('create: when the clock-skew PUT fails, the record created is still returned (a retry would duplicate it)', async () => {
    nock(origin)
      .post('/fhir/Patient')
      .reply(201, (_uri, body) => ({
        ...json(body),
        id: 'new3',
        meta: { versionId: '1', lastUpdated: '2000-01-01T00:00:00.000+00:00' },
      }));
    nock(origin).put('/fhir/Patient/new3').reply(503, 'busy');
    const record = await storage().createPatient({ name: 'Skew' });
    assert.equal(record.id, 'new3');
    assert.equal(record.created_date, '2000-01-01T00:00:00.000Z');
    assert.equal(record.updated_date, '2000-01-01T00:00:00.000Z');
  });

  it('create: invalid input sends nothing', async () => {
    const s = storage();
    await assert.rejects(s.createPatient({ name: '' }), ValidationError);
    await assert.rejects(s.createPatient({ name: 'x', sex: 'X' } as never), ValidationError);
    await assert.rejects(s.createProvider({ name: 'x', sex: 'M' }), ValidationError);
  });

  it('a blank string (which HAPI drops, so it would read back as null) is a ValidationError; nothing is sent', async () => {
    const s = storage();
    for (const location of ['', '   ', '\t\n']) {
      await assert.rejects(s.createPatient({ name: 'x', location }), (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.issues[0]?.field, 'location');
        return true;
      });
      await assert.rejects(s.updatePatient('p1', { location }), ValidationError);
      await assert.rejects(s.updateProvider('p1', { location }), ValidationError);
    }
  });

  it('update: GET, then PUT with If-Match of the version read, keeping unmapped elements', async () => {
    const current = patient('p1', {
      telecom: [{ system: 'email', value: 'j@x.org' }],
      address: [{ city: 'Kampala', line: ['1 Road'] }],
    });
    let sent: Record<string, unknown> | undefined;
    nock(origin).get('/fhir/Patient/p1').reply(200, current);
    nock(origin, { reqheaders: { 'if-match': 'W/"3"', 'content-type': 'application/fhir+json' } })
      .put('/fhir/Patient/p1', (body: Record<string, unknown>) => {
        sent = body;
        return true;
      })
      .reply(200, (_u, body) => ({
        ...json(body),
        meta: { versionId: '4', lastUpdated: '2026-01-03T00:00:00Z' },
      }));
    assert.equal(
      await storage().updatePatient('p1', { location: null, status: 'I', sex: null }),
      true,
    );
    const expected: Record<string, unknown> = {
      ...current,
      address: [{ line: ['1 Road'] }],
      active: false,
    };
    delete expected.gender;
    assert.deepEqual(sent, expected);
  });

  it('facade PATCH: GET and If-Match PUT only, answering the record the PUT returned', async () => {
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin)
      .put('/fhir/Patient/p1')
      .reply(200, (_u, body) => ({
        ...json(body),
        meta: { versionId: '4', lastUpdated: '2026-01-03T00:00:00.000Z' },
      }));
    nock.enableNetConnect('127.0.0.1');
    const app = await startApp({ storage: storage() });
    try {
      const answer = await call(app.baseUrl, 'PATCH', '/patients/p1', { body: { status: 'I' } });
      assert.equal(answer.status, 200, answer.text);
      const record = answer.json as Record<string, unknown>;
      assert.equal(record.status, 'I');
      assert.equal(record.updated_date, '2026-01-03T00:00:00.000Z');
    } finally {
      await app.close();
      nock.disableNetConnect();
    }
  });

  it('update: a 412 re-reads and re-applies; too many 412s are a ConflictError', async () => {
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin)
      .put('/fhir/Patient/p1')
      .matchHeader('if-match', 'W/"3"')
      .reply(412, { resourceType: 'OperationOutcome' });
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(200, { ...patient('p1'), meta: { versionId: '4' }, gender: 'male' });
    nock(origin)
      .put(
        '/fhir/Patient/p1',
        (body: { gender?: string; birthDate?: string }) =>
          body.gender === 'male' && body.birthDate === '1999-09-09',
      )
      .matchHeader('if-match', 'W/"4"')
      .reply(200, patient('p1'));
    assert.equal(await storage().updatePatient('p1', { birth_date: '1999-09-09' }), true);

    nock(origin).get('/fhir/Patient/p1').times(3).reply(200, patient('p1'));
    nock(origin).put('/fhir/Patient/p1').times(3).reply(412, {});
    await assert.rejects(
      storage({ maxRetries: 2 }).updatePatient('p1', { location: 'x' }),
      ConflictError,
    );
  });

  it('update: a missing record is one GET and false; no change is one GET and true', async () => {
    nock(origin).get('/fhir/Patient/p9').reply(404, { resourceType: 'OperationOutcome' });
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    const s = storage();
    assert.equal(await s.updatePatient('p9', { location: 'x' }), false);
    assert.equal(await s.updatePatient('p1', { location: 'Kampala' }), true);
  });

  it('update: a PUT that re-created a resource deleted meanwhile is undone and false', async () => {
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin).put('/fhir/Patient/p1').reply(201, patient('p1'));
    nock(origin).delete('/fhir/Patient/p1').reply(200, { resourceType: 'OperationOutcome' });
    assert.equal(await storage().updatePatient('p1', { location: 'x' }), false);
  });

  it('delete on HAPI (named in /metadata): one DELETE; HAPI\'s "not found" and "already deleted" outcomes are false', async () => {
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, { ...capability, software: { name: 'HAPI FHIR Server' } });
    const outcome = (code: string) => ({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', details: { coding: [{ code }] } }],
    });
    nock(origin).delete('/fhir/Patient/a').reply(200, outcome('SUCCESSFUL_DELETE'));
    nock(origin).delete('/fhir/Patient/b').reply(200, outcome('SUCCESSFUL_DELETE_NOT_FOUND'));
    nock(origin).delete('/fhir/Patient/c').reply(200, outcome('SUCCESSFUL_DELETE_ALREADY_DELETED'));
    nock(origin).delete('/fhir/Practitioner/d').reply(404, { resourceType: 'OperationOutcome' });
    nock(origin).delete('/fhir/Practitioner/e').reply(204);
    const s = storage();
    assert.equal(await s.deletePatient('a'), true);
    assert.equal(await s.deletePatient('b'), false);
    assert.equal(await s.deletePatient('c'), false);
    assert.equal(await s.deleteProvider('d'), false);
    assert.equal(await s.deleteProvider('e'), true);
  });
});

describe('FhirStorage requests: deletes on a server whose DELETE answer does not tell', () => {
  const allOk = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational' }],
  };
  const other = () =>
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, { ...capability, software: { name: 'Some FHIR Server', version: '1.0' } });

  it('delete on a server named neither HAPI nor Medplum: GET, then DELETE with If-Match on the version read; true', async () => {
    other();
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin, { reqheaders: { 'if-match': 'W/"3"' } })
      .delete('/fhir/Patient/p1')
      .reply(200, allOk);
    assert.equal(await storage().deletePatient('p1'), true);
  });

  it('delete of a deleted or missing record on a server not named HAPI: the GET (410/404) answers false, no DELETE is sent', async () => {
    other();
    nock(origin).get('/fhir/Patient/gone').reply(410, { resourceType: 'OperationOutcome' });
    nock(origin).get('/fhir/Patient/never').reply(404, { resourceType: 'OperationOutcome' });
    const s = storage();
    assert.equal(await s.deletePatient('gone'), false);
    assert.equal(await s.deletePatient('never'), false);
  });

  it('delete on Medplum: GET, a deletion claim (conditional create of a Basic), DELETE; true only for the claim made by this call', async () => {
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, { ...capability, software: { name: 'medplum', version: '5.0.10' } });
    let nonce: unknown;
    const claim = { system: 'urn:healthcare-fhir:delete-claim', value: 'Patient/p1' };
    for (const mine of [true, false]) {
      nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
      nock(origin, {
        reqheaders: {
          'if-none-exist': 'identifier=urn:healthcare-fhir:delete-claim%7CPatient%2Fp1',
        },
      })
        .post('/fhir/Basic', (body: Record<string, unknown>) => {
          nonce = (body.code as { text: string }).text;
          return (body.identifier as unknown[]).length === 1;
        })
        .reply(() => [
          mine ? 201 : 200,
          {
            resourceType: 'Basic',
            id: 'c1',
            identifier: [claim],
            code: { text: mine ? nonce : 'theirs' },
          },
        ]);
      nock(origin).delete('/fhir/Patient/p1').reply(200, allOk);
    }
    const s = storage();
    assert.equal(await s.deletePatient('p1'), true);
    assert.equal(await s.deletePatient('p1'), false);
  });

  it('delete with deleteAnswers read-first sends no /metadata; a 412 (newer version) reads again: gone → false', async () => {
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin).delete('/fhir/Patient/p1').reply(412, { resourceType: 'OperationOutcome' });
    nock(origin).get('/fhir/Patient/p1').reply(410, { resourceType: 'OperationOutcome' });
    assert.equal(await storage({ deleteAnswers: 'read-first' }).deletePatient('p1'), false);
  });

  it('deleteAnswers other than detect, tells or read-first is a TypeError at construction', () => {
    assert.throws(
      () => storage({ deleteAnswers: 'guess' as 'tells' }),
      /deleteAnswers must be 'detect', 'tells', 'read-first' or 'claimed'/,
    );
  });
});

describe('FhirStorage requests: deletes racing writes', () => {
  const tells = (options: Parameters<typeof storage>[0] = {}) =>
    storage({ deleteAnswers: 'tells', ...options });
  it('delete: a 409 (a concurrent update won, HAPI-0823) sends the DELETE again, then true', async () => {
    nock(origin).delete('/fhir/Patient/p1').reply(409, { resourceType: 'OperationOutcome' });
    nock(origin).delete('/fhir/Patient/p1').reply(200, { resourceType: 'OperationOutcome' });
    assert.equal(await tells().deletePatient('p1'), true);
  });

  it('delete: 409 on every try is a ConflictError after the retry budget', async () => {
    nock(origin)
      .delete('/fhir/Patient/p1')
      .times(3)
      .reply(409, { resourceType: 'OperationOutcome' });
    await assert.rejects(tells({ maxRetries: 2 }).deletePatient('p1'), ConflictError);
  });

  it('lost races tried again are reported on the retry channel with their status (update 412, delete 409); the last one is not', async () => {
    const seen: RetryEvent[] = [];
    const unsubscribe = events.retry.subscribe((event) => seen.push(event));
    try {
      nock(origin).get('/fhir/Patient/p1').times(2).reply(200, patient('p1'));
      nock(origin).put('/fhir/Patient/p1').times(2).reply(412, {});
      await assert.rejects(
        storage({ maxRetries: 1 }).updatePatient('p1', { location: 'x' }),
        ConflictError,
      );
      nock(origin)
        .delete('/fhir/Patient/p1')
        .times(2)
        .reply(409, { resourceType: 'OperationOutcome' });
      await assert.rejects(tells({ maxRetries: 1 }).deletePatient('p1'), ConflictError);
    } finally {
      unsubscribe();
    }
    assert.deepEqual(seen, [
      { interaction: 'update', status: 412 },
      { interaction: 'delete', status: 409 },
    ]);
  });
});

describe('FhirStorage requests: long searches', () => {
  it('a search whose URL would pass 4 KB is POST [type]/_search with the same parameters as a form body', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `id-${i}`);
    let form = '';
    let contentType = '';
    nock(origin)
      .post('/fhir/Patient/_search', (body: unknown) => {
        form =
          typeof body === 'string'
            ? body
            : new URLSearchParams(body as Record<string, string>).toString();
        return true;
      })
      .reply(function (this: nock.ReplyFnContext) {
        contentType = String(this.req.headers['content-type']);
        return [200, bundle([patient('id-7')])];
      });
    const found = await storage().filterPatients(['id', C.IN, ids]);
    assert.deepEqual(
      found.map((r) => r.id),
      ['id-7'],
    );
    assert.equal(contentType, 'application/x-www-form-urlencoded');
    const params = new URLSearchParams(form);
    assert.equal(params.get('_id'), ids.join(','));
    assert.equal(params.get('_tag'), `${tag.system}|${tag.code}`);
  });
});

describe('FhirStorage requests: lookups → search parameters', () => {
  const cases: [string, Lookup[], string][] = [
    ['no lookups', [], ''],
    [
      'name == → :exact on the value and on each part after a space (records without name.text)',
      [['name', C.EQUAL, 'Jane Doe-Smith']],
      'name:exact=Jane%20Doe-Smith%2CDoe-Smith',
    ],
    [
      'name == of one word → :exact on it alone',
      [['name', C.EQUAL, 'Okello']],
      'name:exact=Okello',
    ],
    [
      'name == with FHIR specials → :exact, values escaped',
      [['name', C.EQUAL, 'a,b|c$d\\e']],
      `name:exact=${encodeURIComponent('a\\,b\\|c\\$d\\\\e')}`,
    ],
    ['name % with FHIR specials', [['name', C.LIKE, 'a,b|c$d\\e%f jklmn']], 'name:contains=jklmn'],
    [
      'name in → one :exact parameter, the values and their parts OR-ed',
      [['name', C.IN, ['Ann Lee', 'Bo', 'Cy Lee']]],
      'name:exact=Ann%20Lee%2CLee%2CBo%2CCy%20Lee',
    ],
    [
      'name == of a long value (over the 200 characters HAPI keeps exactly) → starts-with on its leading chunk',
      [['name', C.EQUAL, `${'😀'.repeat(250)} tail`]],
      `name=${encodeURIComponent('😀'.repeat(200))}`,
    ],
    [
      'name == with a part that starts with whitespace → starts-with on its leading chunk',
      [['name', C.EQUAL, 'Ann  Lee']],
      'name=Ann',
    ],
    ["name < is the adapter's", [['name', C.LT, 'M']], ''],
    [
      'location == (address-city) → :exact on the whole value (a city is one string)',
      [['location', C.EQUAL, 'Kampala North']],
      'address-city:exact=Kampala%20North',
    ],
    [
      'location in → one :exact parameter',
      [['location', C.IN, ['Gulu', 'Lira']]],
      'address-city:exact=Gulu%2CLira',
    ],
    ['sex ==', [['sex', C.EQUAL, 'F']], 'gender=female'],
    ['sex in', [['sex', C.IN, ['M', 'F']]], 'gender=male%2Cfemale'],
    ['sex < M → the values below', [['sex', C.LT, 'M']], 'gender=female'],
    ['status == A (absent active is A)', [['status', C.EQUAL, 'A']], 'active:not=false'],
    ['status == I', [['status', C.EQUAL, 'I']], 'active=false'],
    ['status >= A: everything', [['status', C.GTE, 'A']], ''],
    [
      'birth_date == → that day (birthDate is a zone-less FHIR date: nothing to widen)',
      [['birth_date', C.EQUAL, '2000-01-15']],
      'birthdate=2000-01-15',
    ],
    [
      'birth_date in one day → that day',
      [['birth_date', C.IN, ['2000-01-15']]],
      'birthdate=2000-01-15',
    ],
    [
      'birth_date == and < together → that day alone (HAPI refuses eq beside a bound)',
      [
        ['birth_date', C.EQUAL, '2000-01-15'],
        ['birth_date', C.LT, '2000-03-01'],
      ],
      'birthdate=2000-01-15',
    ],
    [
      'birth_date == two different days → one ge and one le (nothing matches both)',
      [
        ['birth_date', C.EQUAL, '2000-01-15'],
        ['birth_date', C.EQUAL, '2000-01-16'],
      ],
      'birthdate=ge2000-01-16&birthdate=le2000-01-15',
    ],
    [
      'death_date >= and <= one day (a dateTime element) → the widened pair, never eq',
      [
        ['death_date', C.GTE, '2020-03-04'],
        ['death_date', C.LTE, '2020-03-02'],
      ],
      'death-date=ge2020-03-03&death-date=le2020-03-03',
    ],
    [
      'birth_date == a time that is no UTC midnight → widened a day',
      [['birth_date', C.EQUAL, '2000-01-15T10:00:00Z']],
      'birthdate=ge2000-01-14&birthdate=le2000-01-16',
    ],
    [
      'death_date == (deceasedDateTime: a time in any zone) → widened a day',
      [['death_date', C.EQUAL, '2020-03-04']],
      'death-date=ge2020-03-03&death-date=le2020-03-05',
    ],
    ['birth_date <', [['birth_date', C.LT, '2000-01-15']], 'birthdate=le2000-01-16'],
    [
      'birth_date > datetime',
      [['birth_date', C.GT, '2000-01-14T23:00:00-05:00']],
      'birthdate=ge2000-01-14',
    ],
    [
      'birth_date in',
      [['birth_date', C.IN, ['1990-05-01', '2010-12-31']]],
      'birthdate=ge1990-04-30&birthdate=le2011-01-01',
    ],
    ["birth_date % is the adapter's", [['birth_date', C.LIKE, '2000']], ''],
    ['death_date >=', [['death_date', C.GTE, '2020-03-01']], 'death-date=ge2020-02-29'],
    [
      'updated_date == → _lastUpdated ±1 s',
      [['updated_date', C.EQUAL, '2026-01-02T03:04:05.678Z']],
      '_lastUpdated=ge2026-01-02T03:04:04Z&_lastUpdated=le2026-01-02T03:04:07Z',
    ],
    [
      'updated_date > a Date',
      [['updated_date', C.GT, new Date('2026-01-02T00:00:00Z')]],
      '_lastUpdated=ge2026-01-01T23:59:59Z',
    ],
    [
      'created_date > → _lastUpdated ge (created_date <= updated_date), widened 1 s',
      [['created_date', C.GT, '2020-01-01']],
      '_lastUpdated=ge2019-12-31T23:59:59Z',
    ],
    [
      'created_date >= a datetime → _lastUpdated ge',
      [['created_date', C.GTE, '2026-01-02T03:04:05.678+02:00']],
      '_lastUpdated=ge2026-01-02T01:04:04Z',
    ],
    [
      'created_date == → only the lower bound on _lastUpdated',
      [['created_date', C.EQUAL, '2026-01-02T03:04:05.678Z']],
      '_lastUpdated=ge2026-01-02T03:04:04Z',
    ],
    [
      'created_date in → _lastUpdated ge the smallest',
      [['created_date', C.IN, ['2026-05-01T00:00:00Z', '2025-01-01T00:00:00.500Z']]],
      '_lastUpdated=ge2024-12-31T23:59:59Z',
    ],
    [
      "created_date < (an upper bound says nothing of _lastUpdated) is the adapter's",
      [['created_date', C.LT, '2020-01-01']],
      '',
    ],
    ["created_date % is the adapter's", [['created_date', C.LIKE, '2020']], ''],
    [
      'created_date > and updated_date < together',
      [
        ['created_date', C.GT, '2020-01-01'],
        ['updated_date', C.LT, '2021-01-01'],
      ],
      '_lastUpdated=ge2019-12-31T23:59:59Z&_lastUpdated=le2021-01-01T00:00:01Z',
    ],
    [
      'birth_date <= 9999-12-31: the widened bound is clamped to year 9999',
      [['birth_date', C.LTE, '9999-12-31']],
      'birthdate=le9999-12-31',
    ],
    [
      'birth_date >= 0001-01-01: the widened bound is clamped to year 0001',
      [['birth_date', C.GTE, '0001-01-01']],
      'birthdate=ge0001-01-01',
    ],
    [
      'updated_date past 9999 and before 0001 (zones): clamped instants',
      [
        ['updated_date', C.LTE, '9999-12-31T23:59:59-14:00'],
        ['updated_date', C.GTE, '0001-01-01T00:00:00+14:00'],
      ],
      '_lastUpdated=ge0001-01-01T00:00:00Z&_lastUpdated=le9999-12-31T23:59:59Z',
    ],
    [
      'name in with 200 values → one :exact parameter (index look-ups)',
      [['name', C.IN, Array.from({ length: 200 }, (_, i) => `N${i}`)]],
      `name:exact=${Array.from({ length: 200 }, (_, i) => `N${i}`).join('%2C')}`,
    ],
    [
      "name in with more than 500 exact values is the adapter's",
      [['name', C.IN, Array.from({ length: 501 }, (_, i) => `N${i}`)]],
      '',
    ],
    [
      'repeated lookups are sent once; at most 8 :contains parameters',
      Array.from({ length: 20 }, (_, i): Lookup => ['name', C.LIKE, `n${i % 10}`]),
      Array.from({ length: 8 }, (_, i) => `name:contains=n${i}`).join('&'),
    ],
    ['id ==', [['id', C.EQUAL, 'p-1']], '_id=p-1'],
    ['id in drops non-ids', [['id', C.IN, ['p-1', '../x', 'p.2']]], '_id=p-1%2Cp.2'],
    [
      'AND of several',
      [
        ['name', C.LIKE, 'Jo'],
        ['sex', C.EQUAL, 'M'],
        ['birth_date', C.GTE, '2000-01-01'],
      ],
      'name:contains=Jo&gender=male&birthdate=ge1999-12-31',
    ],
  ];
  for (const [title, lookups, query] of cases) {
    it(title, async () => {
      // /metadata (asked once per storage) only when a lookup may use a mapped search parameter
      if (lookups.some(([field]) => field !== 'id')) {
        nock(origin).get('/fhir/metadata').reply(200, capability);
      }
      // the storage probes :exact (==, in) and :contains (LIKE) once per string parameter a lookup would use, sent or not
      const param = (field: string) => (field === 'location' ? 'address-city' : 'name');
      const probes = new Set<string>();
      for (const [field, op] of lookups)
        if (field === 'name' || field === 'location')
          if (op === C.EQUAL || op === C.IN || op === C.LIKE)
            probes.add(`${param(field)}:${op === C.LIKE ? 'contains' : 'exact'}`);
      for (const probe of probes) {
        const [name, modifier] = probe.split(':') as [string, 'contains' | 'exact'];
        modifierProbe('Patient', name, modifier);
      }
      const seen = searchOnce('Patient');
      assert.deepEqual(await storage().filterPatients(...lookups), []);
      const scope = '_tag=urn:test:scope%7Crun-1&_sort=_lastUpdated&_count=200';
      assert.deepEqual(seen, [`/fhir/Patient?${query ? `${query}&` : ''}${scope}`]);
    });
  }

  const withoutExact: [string, Lookup[], string][] = [
    [
      'name == → the leading chunk, FHIR string search (starts-with)',
      [['name', C.EQUAL, 'Jane Doe-Smith']],
      'name=Jane',
    ],
    ['name in → the leading chunks', [['name', C.IN, ['Ann Lee', 'Bo']]], 'name=Ann%2CBo'],
    ["name == starting with a special character is the adapter's", [['name', C.EQUAL, ' Jo']], ''],
    [
      "name in with more than 50 values is the adapter's (hundreds of OR-ed LIKEs outlast reading)",
      [['name', C.IN, Array.from({ length: 51 }, (_, i) => `N${i}`)]],
      '',
    ],
    [
      'location == → address-city',
      [['location', C.EQUAL, 'Kampala North']],
      'address-city=Kampala',
    ],
  ];
  for (const [title, lookups, query] of withoutExact) {
    it(`:exact refused by the server (400): ${title}`, async () => {
      nock(origin).get('/fhir/metadata').reply(200, capability);
      exactProbe('Patient', lookups[0]![0] === 'location' ? 'address-city' : 'name', 400);
      const seen = searchOnce('Patient');
      assert.deepEqual(await storage().filterPatients(...lookups), []);
      const scope = '_tag=urn:test:scope%7Crun-1&_sort=_lastUpdated&_count=200';
      assert.deepEqual(seen, [`/fhir/Patient?${query ? `${query}&` : ''}${scope}`]);
    });
  }

  it(":contains refused by the server (405): name % is the adapter's; == still :exact", async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    containsProbe('Patient', 'name', 405);
    exactProbe('Patient', 'name');
    const seen = searchOnce('Patient');
    assert.deepEqual(
      await storage().filterPatients(['name', C.LIKE, 'oe'], ['name', C.EQUAL, 'Jo']),
      [],
    );
    assert.deepEqual(seen, [
      '/fhir/Patient?name:exact=Jo&_tag=urn:test:scope%7Crun-1&_sort=_lastUpdated&_count=200',
    ]);
  });

  it('the :exact probe is sent once per storage and parameter; a failed probe is asked again', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    nock(origin).get('/fhir/Patient?name:exact=healthcare-fhir-probe&_count=1').reply(503, 'down');
    const s = storage({ retry: false });
    await assert.rejects(s.filterPatients(['name', C.EQUAL, 'Jo']), StorageUnavailableError);
    exactProbe('Patient', 'name', 400);
    const first = searchOnce('Patient');
    const second = searchOnce('Patient');
    await s.filterPatients(['name', C.EQUAL, 'Jo']);
    await s.filterPatients(['name', C.EQUAL, 'Al']);
    assert.deepEqual(first, [
      '/fhir/Patient?name=Jo&_tag=urn:test:scope%7Crun-1&_sort=_lastUpdated&_count=200',
    ]);
    assert.deepEqual(second, [
      '/fhir/Patient?name=Al&_tag=urn:test:scope%7Crun-1&_sort=_lastUpdated&_count=200',
    ]);
  });

  it('lookups that can match nothing send nothing', async () => {
    const s = storage();
    assert.deepEqual(await s.filterPatients(['id', C.EQUAL, '../x']), []);
    assert.deepEqual(await s.filterPatients(['id', C.IN, []]), []);
    nock(origin).get('/fhir/metadata').reply(200, capability);
    assert.deepEqual(await s.filterPatients(['created_date', C.IN, []]), []);
    assert.deepEqual(await s.filterPatients(['sex', C.EQUAL, 'M'], ['sex', C.GT, 'M']), []);
    assert.deepEqual(await s.filterPatients(['name', C.IN, []]), []);
  });

  it('a search parameter the server does not list is left to the adapter; /metadata is asked once', async () => {
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, {
        resourceType: 'CapabilityStatement',
        rest: [{ resource: [{ type: 'Patient', searchParam: [{ name: 'name' }] }] }],
      });
    const s = storage({ scopeTag: undefined, pageSize: 5 });
    containsProbe('Patient', 'name');
    const first = searchOnce('Patient');
    const second = searchOnce('Patient');
    await s.filterPatients(['sex', C.EQUAL, 'M'], ['name', C.LIKE, 'Jo']);
    await s.filterPatients(['birth_date', C.GT, '2000-01-01']);
    assert.deepEqual(first, ['/fhir/Patient?name:contains=Jo&_sort=_lastUpdated&_count=5']);
    assert.deepEqual(second, ['/fhir/Patient?_sort=_lastUpdated&_count=5']);
  });

  it('candidates are checked exactly: case, accents, parts of names', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    exactProbe('Patient', 'name');
    searchOnce(
      'Patient',
      bundle([
        patient('a', { name: [{ text: 'JANE doe' }] }),
        patient('b', { name: [{ text: 'Jané Doe' }] }),
        patient('c', { name: [{ text: 'Jane Doe' }] }),
        patient('d', { name: [{ given: ['Jane'], family: 'Doe' }] }),
        patient('e', { name: [{ text: 'Jane Doe Jr' }] }),
      ]),
    );
    const found = await storage().filterPatients(['name', C.EQUAL, 'Jane Doe']);
    assert.deepEqual(
      found.map((r) => r.id),
      ['c', 'd'],
    );
  });

  it('pages: _cursor next links (absolute or relative to the base) without Bundle.total are followed to the end', async () => {
    // every record has one time: the keyset reads that time on its own, through the server's links
    const seen: string[] = [];
    nock(origin)
      .get((uri) => uri.startsWith('/fhir/Patient?'))
      .times(5)
      .reply((uri) => {
        seen.push(uri);
        const page = (resources: unknown[], next?: string) => {
          const b: Record<string, unknown> = bundle(resources, next);
          delete b.total;
          return [200, b] as [number, Record<string, unknown>];
        };
        if (uri.includes('_lastUpdated=gt')) return page([]);
        if (!uri.includes('_cursor'))
          return page([patient('1')], `${baseUrl}/Patient?_cursor=c1&_count=1`);
        if (uri.includes('_cursor=c1')) return page([patient('2')], 'Patient?_cursor=c2&_count=1');
        return page([patient('3')]);
      });
    const found = await storage({ pageSize: 1, scopeTag: undefined }).filterPatients();
    assert.deepEqual(
      found.map((r) => r.id),
      ['1', '2', '3'],
    );
    assert.deepEqual(seen.slice(2, 4), [
      '/fhir/Patient?_cursor=c1&_count=1',
      '/fhir/Patient?_cursor=c2&_count=1',
    ]);
  });

  /** Answers each search by its query (after the path), recording the queries in order. */
  function searchAnswers(answers: Record<string, unknown>): string[] {
    const seen: string[] = [];
    nock(origin)
      .get((uri) => uri.startsWith('/fhir/Patient?') || uri.startsWith('/fhir?'))
      .times(Object.keys(answers).length)
      .reply((uri) => {
        const query = decodeURIComponent(uri.slice(uri.indexOf('?') + 1));
        seen.push(query);
        return query in answers ? [200, answers[query]] : [500, {}];
      });
    return seen;
  }
  const at = (id: string, time: string) =>
    patient(id, { meta: { versionId: '1', lastUpdated: `2026-01-02T03:04:0${time}+00:00` } });
  const next = `${baseUrl}?_getpages=abc`;

  it('pages by a _lastUpdated keyset: each page a new sorted search from the last time seen, each record once', async () => {
    const seen = searchAnswers({
      '_sort=_lastUpdated&_count=2': bundle([at('1', '1.000'), at('2', '2.000')], next),
      // the page size (2) plus the one record read again at the keyset's time
      '_lastUpdated=ge2026-01-02T03:04:02.000+00:00&_sort=_lastUpdated&_count=3': bundle(
        [at('2', '2.000'), at('3', '3.000'), at('4', '3.000')],
        next,
      ),
      '_lastUpdated=ge2026-01-02T03:04:03.000+00:00&_sort=_lastUpdated&_count=4': bundle([
        at('3', '3.000'),
        at('4', '3.000'),
        at('5', '4.000'),
      ]),
    });
    const found = await storage({ pageSize: 2, scopeTag: undefined }).filterPatients();
    assert.deepEqual(
      found.map((r) => r.id),
      ['1', '2', '3', '4', '5'],
    );
    assert.equal(seen.length, 3);
  });

  it('n records in pages of P are ⌈n ÷ P⌉ keyset searches when the server allows _count past P', async () => {
    const seen = searchAnswers({
      '_sort=_lastUpdated&_count=2': bundle([at('1', '1.000'), at('2', '2.000')], next),
      '_lastUpdated=ge2026-01-02T03:04:02.000+00:00&_sort=_lastUpdated&_count=3': bundle([
        at('2', '2.000'),
        at('3', '3.000'),
        at('4', '4.000'),
      ]),
    });
    const found = await storage({ pageSize: 2, scopeTag: undefined }).filterPatients();
    assert.deepEqual(
      found.map((r) => r.id),
      ['1', '2', '3', '4'],
    );
    assert.equal(seen.length, 2);
  });

  /** Like searchAnswers, from a server that says it is HAPI (X-Powered-By), so pages carry `_offset` and sort ties by `_id`. */
  function hapiSearchAnswers(answers: Record<string, unknown>): string[] {
    const seen: string[] = [];
    nock(origin)
      .get((uri) => uri.startsWith('/fhir/Patient?'))
      .times(Object.keys(answers).length)
      .reply((uri) => {
        const query = decodeURIComponent(uri.slice(uri.indexOf('?') + 1));
        seen.push(query);
        const answer = query in answers ? answers[query] : {};
        return [
          query in answers ? 200 : 500,
          answer,
          { 'X-Powered-By': 'HAPI FHIR 8.0.0 REST Server' },
        ];
      });
    return seen;
  }
  const sorted = '_sort=_lastUpdated,_id';
  /** A storage that has had one answer from HAPI (a read of a missing patient), so it knows the server. */
  async function storageOnHapi(): Promise<FhirStorage> {
    const stored = storage({ pageSize: 3, scopeTag: undefined });
    nock(origin)
      .get('/fhir/Patient/missing')
      .reply(
        404,
        { resourceType: 'OperationOutcome' },
        { 'X-Powered-By': 'HAPI FHIR 8.0.0 REST Server' },
      );
    assert.equal(await stored.getPatient('missing'), null);
    return stored;
  }

  it('on HAPI a page whose last time continues skips the records it would read again but the last (_offset), which must come first', async () => {
    const t3 = '2026-01-02T03:04:03.000+00:00';
    const seen = hapiSearchAnswers({
      [`${sorted}&_count=3&_offset=0`]: bundle(
        [at('1', '1.000'), at('2', '3.000'), at('3', '3.000')],
        next,
      ),
      // HAPI now known: ties by _id; of the 2 records at 3 s the first is skipped, the last anchors
      [`_lastUpdated=ge${t3}&${sorted}&_count=4&_offset=1`]: bundle([
        at('3', '3.000'),
        at('4', '3.000'),
        at('5', '4.000'),
      ]),
    });
    const found = await (await storageOnHapi()).filterPatients();
    assert.deepEqual(
      found.map((r) => r.id),
      ['1', '2', '3', '4', '5'],
    );
    assert.equal(seen.length, 2);
  });

  it("on HAPI, when the anchor does not come first (its run changed), that page is asked again from the run's start, and nothing is missed", async () => {
    const t3 = '2026-01-02T03:04:03.000+00:00';
    const seen = hapiSearchAnswers({
      [`${sorted}&_count=3&_offset=0`]: bundle(
        [at('1', '1.000'), at('2', '3.000'), at('3', '3.000')],
        next,
      ),
      // record 2 was updated meanwhile: the run at 3 s shifted, 4 comes where 3 should
      [`_lastUpdated=ge${t3}&${sorted}&_count=4&_offset=1`]: bundle([
        at('4', '3.000'),
        at('2', '5.000'),
      ]),
      [`_lastUpdated=ge${t3}&${sorted}&_count=5&_offset=0`]: bundle([
        at('3', '3.000'),
        at('4', '3.000'),
        at('2', '5.000'),
      ]),
    });
    const found = await (await storageOnHapi()).filterPatients();
    assert.deepEqual(
      found.map((r) => r.id),
      ['1', '2', '3', '4'],
      'record 3, which the skip would have passed over, is read; record 2 once',
    );
    assert.deepEqual(seen.slice(1), [
      `_lastUpdated=ge${t3}&${sorted}&_count=4&_offset=1`,
      `_lastUpdated=ge${t3}&${sorted}&_count=5&_offset=0`,
    ]);
  });

  it('a whole page of one time is read on its own (every page of it), then the keyset goes past it', async () => {
    const time = '2026-01-02T03:04:01.000+00:00';
    const seen = searchAnswers({
      '_sort=_lastUpdated&_count=2': bundle([at('1', '1.000'), at('2', '1.000')], next),
      [`_lastUpdated=${time}&_count=2`]: bundle(
        [at('1', '1.000'), at('2', '1.000')],
        `${next}&_getpagesoffset=2`,
      ),
      '_getpages=abc&_getpagesoffset=2': bundle([at('3', '1.000')]),
      [`_lastUpdated=gt${time}&_sort=_lastUpdated&_count=2`]: bundle([at('4', '2.000')]),
    });
    const found = await storage({ pageSize: 2, scopeTag: undefined }).filterPatients();
    assert.deepEqual(
      found.map((r) => r.id),
      ['1', '2', '3', '4'],
    );
    assert.equal(seen.length, 4);
  });

  it('a server that does not sort by _lastUpdated: its next links from the start instead, each record once', async () => {
    const seen = searchAnswers({
      '_sort=_lastUpdated&_count=2': bundle([at('2', '2.000'), at('1', '1.000')], next),
      '_count=2': bundle([at('2', '2.000'), at('1', '1.000')], `${next}&_getpagesoffset=2`),
      '_getpages=abc&_getpagesoffset=2': bundle([at('1', '1.000'), at('3', '0.000')]),
    });
    const found = await storage({ pageSize: 2, scopeTag: undefined }).filterPatients();
    assert.deepEqual(found.map((r) => r.id).sort(), ['1', '2', '3']);
    assert.equal(seen.length, 3);
  });
});

describe('FhirStorage requests: links', () => {
  const system = 'urn:healthcare-fhir:source:Clinic%20%C3%9C%7Cx';
  const escapedQuery =
    'identifier=urn:healthcare-fhir:source:Clinic%2520%25C3%259C%257Cx%7Ca%5C%7Cb%5C%2Cc%5C%24d%5C%5Ce';

  it('link with claims: the claim (If-None-Exist on its hash), GET, If-Match PUT, the claim read again; true', async () => {
    const { claimKey } = await import('../../src/backends/fhir/link-claims.js');
    const key = claimKey('Patient', 'urn:healthcare-fhir:source:emr', 'x1');
    const claim = {
      resourceType: 'Basic',
      id: 'c1',
      meta: { versionId: '1', lastUpdated: new Date().toISOString() },
      identifier: [{ system: 'urn:healthcare-fhir:link-claim', value: key }],
      subject: { reference: 'Patient/p1' },
    };
    nock(origin, {
      reqheaders: { 'if-none-exist': `identifier=urn:healthcare-fhir:link-claim%7C${key}` },
    })
      .post('/fhir/Basic')
      .reply(201, claim);
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin, { reqheaders: { 'if-match': 'W/"3"' } })
      .put('/fhir/Patient/p1')
      .reply(200, (_: string, body: Record<string, unknown>) => ({
        ...json(body),
        meta: { versionId: '4' },
      }));
    nock(origin).get('/fhir/Basic/c1').reply(200, claim);
    assert.equal(await storage({ linkUniqueness: 'claims' }).linkPatient('p1', 'x1', 'emr'), true);
  });

  it('link with claims: a fresh claim naming another live record that lacks the pair is left to its linker; false after 2 requests', async () => {
    nock(origin)
      .post('/fhir/Basic')
      .reply(200, {
        resourceType: 'Basic',
        id: 'c1',
        meta: { versionId: '1', lastUpdated: new Date().toISOString() },
        subject: { reference: 'Patient/other' },
      });
    nock(origin).get('/fhir/Patient/other').reply(200, patient('other'));
    assert.equal(await storage({ linkUniqueness: 'claims' }).linkPatient('p1', 'x1', 'emr'), false);
  });

  it('link with claims: a claim older than the grace whose record lacks the pair (its linker died) is moved to us with If-Match, then the link lands; true', async () => {
    const stale = {
      resourceType: 'Basic',
      id: 'c1',
      meta: { versionId: '1', lastUpdated: new Date(Date.now() - 120_000).toISOString() },
      subject: { reference: 'Patient/dead' },
    };
    const moved = { ...stale, meta: { versionId: '2' }, subject: { reference: 'Patient/p1' } };
    nock(origin).post('/fhir/Basic').reply(200, stale);
    nock(origin).get('/fhir/Patient/dead').times(2).reply(200, patient('dead'));
    nock(origin, { reqheaders: { 'if-match': 'W/"1"' } })
      .put('/fhir/Basic/c1', (body: Record<string, unknown>) => {
        return (body.subject as { reference: string }).reference === 'Patient/p1';
      })
      .reply(200, moved);
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin)
      .put('/fhir/Patient/p1')
      .reply(200, (_: string, body: Record<string, unknown>) => ({
        ...json(body),
        meta: { versionId: '4' },
      }));
    nock(origin).get('/fhir/Basic/c1').reply(200, moved);
    assert.equal(await storage({ linkUniqueness: 'claims' }).linkPatient('p1', 'x1', 'emr'), true);
  });

  it('get by source: one identifier search, value escaped, scoped', async () => {
    const seen = searchOnce(
      'Patient',
      bundle([patient('p1', { identifier: [{ system, value: 'a|b,c$d\\e' }] })]),
    );
    const found = await storage().getPatient('a|b,c$d\\e', 'Clinic Ü|x');
    assert.equal(found?.id, 'p1');
    assert.deepEqual(seen, [
      `/fhir/Patient?${escapedQuery}&_tag=urn:test:scope%7Crun-1&_count=200`,
    ]);
  });

  it('a configured identifier system is used and read back', async () => {
    const seen = searchOnce('Patient');
    const s = storage({
      identifierSystems: { mrn: 'http://hospital.example.org/mrn' },
      scopeTag: undefined,
    });
    assert.equal(await s.getPatient('M1', 'mrn'), null);
    assert.deepEqual(seen, [
      '/fhir/Patient?identifier=http:%2F%2Fhospital.example.org%2Fmrn%7CM1&_count=200',
    ]);
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(
        200,
        patient('p1', {
          identifier: [
            { system: 'http://hospital.example.org/mrn', value: 'M1' },
            { system: 'http://other.org', value: 'O' },
            { system: 'urn:healthcare-fhir:source:a%2Fb', value: 'X' },
            { system: 'urn:healthcare-fhir:source:bad%zz', value: 'Y' },
          ],
        }),
      );
    assert.deepEqual(await s.getPatientLinks('p1'), [
      { source_id: 'M1', source_name: 'mrn' },
      { source_id: 'X', source_name: 'a/b' },
    ]);
  });

  it('single-writer link: search, GET, PUT with If-Match adding the identifier, verify search', async () => {
    const before = patient('p1', { identifier: [{ system: 'http://other.org', value: 'O' }] });
    const seen = searchOnce('Patient');
    const seenBySystem = searchOnce('Patient');
    nock(origin).get('/fhir/Patient/p1').reply(200, before);
    let sent: { identifier?: unknown } | undefined;
    nock(origin)
      .put('/fhir/Patient/p1', (b: { identifier?: unknown }) => ((sent = b), true))
      .matchHeader('if-match', 'W/"3"')
      .reply(200, (_u, b) => json(b));
    const verify = searchOnce(
      'Patient',
      bundle([
        {
          ...before,
          identifier: [
            { system: 'http://other.org', value: 'O' },
            { system, value: 'a|b,c$d\\e' },
          ],
        },
      ]),
    );
    assert.equal(await singleWriter().linkPatient('p1', 'a|b,c$d\\e', 'Clinic Ü|x'), true);
    assert.deepEqual(sent?.identifier, [
      { system: 'http://other.org', value: 'O' },
      { system, value: 'a|b,c$d\\e' },
    ]);
    const systemQuery = 'identifier=urn:healthcare-fhir:source:Clinic%2520%25C3%259C%257Cx%7C';
    assert.ok(seen[0]!.startsWith(`/fhir/Patient?${systemQuery}a%5C%7Cb%5C%2Cc%5C%24d%5C%5Ce&`));
    assert.ok(
      seenBySystem[0]!.startsWith(`/fhir/Patient?${systemQuery}&`),
      'a miss on a value that needs escaping is checked by the system alone (escaping not yet shown to work)',
    );
    assert.equal(verify.length, 1);
  });

  it('link lookups: a server that does not unescape token values (Helios) is learned; then the system alone is searched', async () => {
    const held = patient('p9', {
      identifier: [{ system: 'urn:healthcare-fhir:source:c', value: 'a|b' }],
    });
    const escapedMiss = searchOnce('Patient');
    const bySystem = searchOnce('Patient', bundle([held]));
    const s = storage();
    assert.equal((await s.getPatient('a|b', 'c'))?.id, 'p9');
    const onlyBySystem = searchOnce('Patient', bundle([held]));
    assert.equal((await s.getPatient('a|b', 'c'))?.id, 'p9');
    assert.equal(escapedMiss.length, 1);
    assert.match(bySystem[0]!, /^\/fhir\/Patient\?identifier=urn:healthcare-fhir:source:c%7C&/);
    assert.match(onlyBySystem[0]!, /^\/fhir\/Patient\?identifier=urn:healthcare-fhir:source:c%7C&/);
  });

  it('single-writer link: a pair already held is false after one search', async () => {
    searchOnce(
      'Patient',
      bundle([
        patient('p2', { identifier: [{ system: 'urn:healthcare-fhir:source:c', value: 'v' }] }),
      ]),
    );
    assert.equal(await singleWriter().linkPatient('p1', 'v', 'c'), false);
  });

  it('single-writer link: if another patient got the pair meanwhile, our identifier is taken back and it is false', async () => {
    const mine = { system: 'urn:healthcare-fhir:source:c', value: 'v' };
    searchOnce('Patient');
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin)
      .put('/fhir/Patient/p1')
      .reply(200, patient('p1', { identifier: [mine] }));
    searchOnce(
      'Patient',
      bundle([patient('p1', { identifier: [mine] }), patient('p2', { identifier: [mine] })]),
    );
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(200, { ...patient('p1', { identifier: [mine] }), meta: { versionId: '4' } });
    let undone: Record<string, unknown> | undefined;
    nock(origin)
      .put('/fhir/Patient/p1', (b: Record<string, unknown>) => ((undone = b), true))
      .matchHeader('if-match', 'W/"4"')
      .reply(200, patient('p1'));
    assert.equal(await singleWriter().linkPatient('p1', 'v', 'c'), false);
    assert.equal(undone?.identifier, undefined);
  });

  it('server-guaranteed link: GET, then one PUT with If-Match adding the identifier; 2 requests', async () => {
    const mine = { system: 'urn:healthcare-fhir:source:c', value: 'v' };
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    let sent: { identifier?: unknown } | undefined;
    nock(origin)
      .put('/fhir/Patient/p1', (b: { identifier?: unknown }) => ((sent = b), true))
      .matchHeader('if-match', 'W/"3"')
      .reply(200, (_u, b) => json(b));
    assert.equal(await guarded().linkPatient('p1', 'v', 'c'), true);
    assert.deepEqual(sent?.identifier, [mine]);
  });

  it('server-guaranteed link: a 409 with another holder found by an unscoped search is false, nothing retried', async () => {
    const mine = { system: 'urn:healthcare-fhir:source:c', value: 'v' };
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin).put('/fhir/Patient/p1').reply(409, { resourceType: 'OperationOutcome' });
    const seen = searchOnce('Patient', bundle([patient('p2', { identifier: [mine] })]));
    assert.equal(await guarded().linkPatient('p1', 'v', 'c'), false);
    assert.deepEqual(seen, ['/fhir/Patient?identifier=urn:healthcare-fhir:source:c%7Cv']);
  });

  it('server-guaranteed link: a 409 with no holder (a stale version) reads and writes again', async () => {
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin).put('/fhir/Patient/p1').reply(409, { resourceType: 'OperationOutcome' });
    searchOnce('Patient');
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(200, { ...patient('p1'), meta: { versionId: '4' } });
    nock(origin)
      .put('/fhir/Patient/p1')
      .matchHeader('if-match', 'W/"4"')
      .reply(200, (_u, b) => json(b));
    assert.equal(await guarded().linkPatient('p1', 'v', 'c'), true);
  });

  it('server-guaranteed link: the pair already on this patient is false after one GET', async () => {
    const mine = { system: 'urn:healthcare-fhir:source:c', value: 'v' };
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(200, patient('p1', { identifier: [mine] }));
    assert.equal(await guarded().linkPatient('p1', 'v', 'c'), false);
  });

  it('detect: HAPI in /metadata and both SearchParameters as ours → links rely on the server (no search before the write)', async () => {
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, { ...capability, software: { name: 'HAPI FHIR Server' } });
    for (const sp of linkSearchParameters())
      nock(origin).get(`/fhir/SearchParameter/${sp.id}`).reply(200, sp);
    nock(origin).get('/fhir/Patient/p1').reply(200, patient('p1'));
    nock(origin)
      .put('/fhir/Patient/p1')
      .reply(200, (_u, b) => json(b));
    nock(origin).get('/fhir/Patient/p2').reply(200, patient('p2'));
    nock(origin)
      .put('/fhir/Patient/p2')
      .reply(200, (_u, b) => json(b));
    const s = storage();
    assert.equal(await s.linkPatient('p1', 'v', 'c'), true);
    assert.equal(await s.linkPatient('p2', 'w', 'c'), true); // detected once
  });

  it('detect: a server that is not HAPI → single-writer links (a search before the write)', async () => {
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, { ...capability, software: { name: 'Other FHIR' } });
    searchOnce(
      'Patient',
      bundle([
        patient('p2', { identifier: [{ system: 'urn:healthcare-fhir:source:c', value: 'v' }] }),
      ]),
    );
    assert.equal(await storage().linkPatient('p1', 'v', 'c'), false);
  });

  it('detect: HAPI without our SearchParameters → single-writer links', async () => {
    nock(origin)
      .get('/fhir/metadata')
      .reply(200, { ...capability, software: { name: 'HAPI FHIR Server' } });
    nock(origin)
      .get(/\/fhir\/SearchParameter\/.*/)
      .times(2)
      .reply(404, { resourceType: 'OperationOutcome' });
    searchOnce(
      'Patient',
      bundle([
        patient('p2', { identifier: [{ system: 'urn:healthcare-fhir:source:c', value: 'v' }] }),
      ]),
    );
    assert.equal(await storage().linkPatient('p1', 'v', 'c'), false);
  });

  it('unlink: GET, PUT without exactly that pair; absent pair is one GET and false', async () => {
    const ids = [
      { system: 'urn:healthcare-fhir:source:c', value: 'v' },
      { system: 'urn:healthcare-fhir:source:c', value: 'w' },
      { system: 'http://other.org', value: 'v' },
    ];
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(200, patient('p1', { identifier: ids }));
    let sent: { identifier?: unknown } | undefined;
    nock(origin)
      .put('/fhir/Patient/p1', (b: { identifier?: unknown }) => ((sent = b), true))
      .reply(200, patient('p1'));
    nock(origin)
      .get('/fhir/Patient/p1')
      .reply(200, patient('p1', { identifier: ids.slice(1) }));
    const s = singleWriter(); // a detected mode would read /metadata first (claims are freed after an unlink)
    assert.equal(await s.unlinkPatient('p1', 'v', 'c'), true);
    assert.deepEqual(sent?.identifier, ids.slice(1));
    assert.equal(await s.unlinkPatient('p1', 'v', 'c'), false);
  });
});

describe('FhirStorage: failures of the server', () => {
  const kind = (k: string) => (e: unknown) => e instanceof StorageUnavailableError && e.kind === k;

  it('connection refused → unreachable', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    nock.enableNetConnect('127.0.0.1');
    try {
      await assert.rejects(
        new FhirStorage({ baseUrl: `http://127.0.0.1:${port}/fhir` }).getPatient('1'),
        kind('unreachable'),
      );
    } finally {
      nock.disableNetConnect();
    }
  });

  it('a slow answer, retries off → timeout', async () => {
    nock(origin).get('/fhir/Patient/1').delay(500).reply(200, patient('1'));
    await assert.rejects(
      storage({ timeoutMs: 100, retry: false }).getPatient('1'),
      kind('timeout'),
    );
  });

  it('a body that is not JSON, a 500, a 401, a wrong resource or a broken Bundle → bad-response', async () => {
    const s = storage({ deleteAnswers: 'tells' });
    nock(origin).get('/fhir/Patient/1').reply(200, '<html>proxy</html>');
    await assert.rejects(s.getPatient('1'), kind('bad-response'));
    nock(origin).get('/fhir/Patient/1').reply(500, { resourceType: 'OperationOutcome' });
    await assert.rejects(s.getPatient('1'), kind('bad-response'));
    nock(origin).delete('/fhir/Patient/1').reply(401, {});
    await assert.rejects(s.deletePatient('1'), kind('bad-response'));
    nock(origin).get('/fhir/Patient/1').reply(200, { resourceType: 'Practitioner', id: '1' });
    await assert.rejects(s.getPatient('1'), kind('bad-response'));
    nock(origin)
      .get(/\/fhir\/Patient\?/)
      .reply(200, { resourceType: 'OperationOutcome' });
    await assert.rejects(s.filterPatients(), kind('bad-response'));
    nock(origin)
      .get(/\/fhir\/Patient\?/)
      .reply(200, {
        resourceType: 'Bundle',
        entry: [{ resource: { resourceType: 'Patient', id: '../x' } }],
      });
    await assert.rejects(s.filterPatients(), kind('bad-response'));
    nock(origin).post('/fhir/Patient').reply(200, '');
    await assert.rejects(s.createPatient({ name: 'x' }), kind('bad-response'));
    nock(origin)
      .get('/fhir/Patient/1')
      .reply(200, patient('1', { meta: {} }));
    // without meta.versionId an update could only be a blind write: refused after the one GET
    await assert.rejects(s.updatePatient('1', { location: 'new' }), kind('bad-response'));
  });

  it('error messages carry no patient data', async () => {
    nock(origin)
      .get('/fhir/Patient/1')
      .reply(500, { resourceType: 'OperationOutcome', issue: [{ diagnostics: 'Jane Doe 1990' }] });
    await assert.rejects(storage().getPatient('1'), (e: Error) => !/Jane|1990/.test(e.message));
  });

  it('checkReady: GET /metadata', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    await storage().checkReady();
    nock(origin).get('/fhir/metadata').reply(503, 'down');
    await assert.rejects(storage().checkReady(), StorageUnavailableError);
  });
});

describe('FhirStorage#explain', () => {
  it('reports support and reliance, and per lookup what the server narrows and whether an index serves it; its request is the one filter sends', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    exactProbe('Patient', 'name', 400);
    containsProbe('Patient', 'name', 405);
    exactProbe('Patient', 'address-city');
    containsProbe('Patient', 'address-city', 200);
    const s = storage();
    const lookups: Lookup[] = [
      ['name', C.EQUAL, 'Jane Doe'],
      ['location', C.LIKE, 'ampa'],
      ['name', C.LIKE, 'ne D'],
      ['location', C.IN, ['Gulu', 'Lira']],
    ];
    const explained = await s.explain('patient', lookups);
    assert.deepEqual(explained.contains, { name: false, 'address-city': true });
    assert.deepEqual(explained.exact, { name: false, 'address-city': true });
    assert.equal(explained.searchParams.gender, true);
    assert.deepEqual(
      explained.lookups.map((l) => [l.server, l.served]),
      [
        ['name=Jane', 'index'],
        ['address-city:contains=ampa', 'scan'],
        ['nothing: every record in scope is a candidate', 'scan'],
        ['address-city:exact=Gulu,Lira', 'index'],
      ],
    );
    assert.deepEqual(
      explained.warnings.map((w) => w.split(':')[0]),
      ['location %', 'name %'],
      'one warning per lookup the server must scan for',
    );
    assert.ok(explained.reliesOn.some((r) => r.startsWith('name: :exact refused (probed)')));
    assert.ok(
      explained.reliesOn.some((r) => r.startsWith('address-city:exact (probed: evaluated)')),
    );
    const seen = searchOnce('Patient');
    await s.filterPatients(...lookups);
    assert.deepEqual(
      explained.requests.map((r) => r.replace(`GET ${origin}`, '')),
      seen,
      'filter sent exactly the explained request (the probes were not repeated)',
    );
  });

  it('explain names the name parts a name == or in also reads (each part after a space), and none for one word or a city', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    for (const param of ['name', 'address-city']) {
      exactProbe('Patient', param);
      containsProbe('Patient', param);
    }
    const explained = await storage().explain('patient', [
      ['name', C.EQUAL, 'Amina Okello'],
      ['name', C.IN, ['Jo', 'Ann Mary Lee']],
      ['location', C.EQUAL, 'Gulu Town'],
    ]);
    assert.deepEqual(
      explained.lookups.map((l) => [l.server, l.alsoReads]),
      [
        ['name:exact=Amina Okello,Okello', ['Okello']],
        ['name:exact=Jo,Ann Mary Lee,Mary Lee,Lee', ['Mary Lee', 'Lee']],
        ['address-city:exact=Gulu Town', []],
      ],
    );
  });

  it('a lookup that can match nothing: no request (served: none), no warning', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    for (const param of ['name', 'address-city']) {
      exactProbe('Patient', param);
      containsProbe('Patient', param);
    }
    const explained = await storage().explain('patient', [['name', C.IN, []]]);
    assert.deepEqual(
      explained.lookups.map((l) => l.served),
      ['none'],
    );
    assert.deepEqual(explained.warnings, []);
  });

  it('a lookup that can match nothing: no request; a bad lookup is a ValidationError; an unknown model a TypeError', async () => {
    nock(origin).get('/fhir/metadata').reply(200, capability);
    for (const param of ['name', 'address-city']) {
      exactProbe('Practitioner', param);
      containsProbe('Practitioner', param);
    }
    const s = storage();
    const explained = await s.explain('provider', [['status', C.IN, []]]);
    assert.deepEqual(explained.requests, []);
    assert.equal(explained.resourceType, 'Practitioner');
    await assert.rejects(s.explain('provider', [['sex', C.EQUAL, 'M']]), ValidationError);
    assert.throws(() => s.explain('visit', []), TypeError);
  });
});
