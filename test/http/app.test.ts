/**
 * The facade on the memory backend: every route and error path, auth on and
 * off, limits, content types, problem+json, readiness, request ids, logs — and
 * every answer checked against the facade's own /openapi.json.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { ConflictError, StorageUnavailableError } from '../../src/api/errors.js';
import { extendModel, defaultModels, patientModel } from '../../src/api/models.js';
import { OpenApiChecker } from './openapi-check.js';
import {
  call,
  captureLogger,
  failingStorage,
  startApp,
  type Answer,
  type RunningApp,
} from './helpers.js';

type Json = Record<string, unknown>;
const problemType = 'application/problem+json';

function assertProblem(answer: Answer, status: number): Json {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers.get('content-type')?.split(';')[0], problemType);
  const body = answer.json as Json;
  assert.equal(body.status, status);
  for (const key of ['type', 'title', 'detail']) assert.equal(typeof body[key], 'string', key);
  assert.doesNotMatch(answer.text, /\bat .*\.(ts|js):\d+/, 'no stack trace');
  assert.ok(!('stack' in body));
  if (status === 400)
    assert.ok(Array.isArray(body.issues) && body.issues.length > 0, 'issues listed');
  return body;
}

/** One app for the route tests, every answer validated against its OpenAPI document. */
describe('facade on MemoryStorage', () => {
  let app: RunningApp;
  let checker: OpenApiChecker;
  const log = captureLogger();

  /** Calls the facade and checks the answer against the OpenAPI document. */
  async function api(
    method: string,
    path: string,
    template: string,
    options: Parameters<typeof call>[3] = {},
  ): Promise<Answer> {
    const answer = await call(app.baseUrl, method, path, options);
    checker.check(answer, method, template);
    return answer;
  }

  before(async () => {
    app = await startApp({ storage: new MemoryStorage(), logger: log.logger, bodyLimit: 2048 });
    const doc = await call(app.baseUrl, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    checker = new OpenApiChecker(doc.json as Json);
  });
  after(async () => {
    await app.close();
  });

  describe('patients', () => {
    let id: string;

    it('POST /patients → 201, the full record, Location', async () => {
      const answer = await api('POST', '/patients', '/patients', {
        body: { name: 'Zebulon Quux', birth_date: '2020-02-03', sex: 'M', location: 'Ward 7' },
      });
      assert.equal(answer.status, 201);
      const record = answer.json as Json;
      id = record.id as string;
      assert.equal(answer.headers.get('location'), `/patients/${id}`);
      assert.deepEqual(
        { ...record, created_date: 'x', updated_date: 'x' },
        {
          id,
          name: 'Zebulon Quux',
          sex: 'M',
          birth_date: '2020-02-03',
          death_date: null,
          location: 'Ward 7',
          status: 'A',
          created_date: 'x',
          updated_date: 'x',
        },
      );
      const again = await api('GET', answer.headers.get('location')!, '/patients/{id}');
      assert.equal(again.status, 200);
      assert.deepEqual(again.json, record);
    });

    it('POST /patients with invalid fields → 400 listing every issue, nothing written', async () => {
      const before = ((await api('GET', '/patients', '/patients')).json as unknown[]).length;
      const cases: [unknown, string[]][] = [
        [{}, ['name']],
        [{ name: '' }, ['name']],
        [{ name: 'A', id: '7', created_date: '2020-01-01T00:00:00.000Z' }, ['id', 'created_date']],
        [{ name: 'A', favourite_colour: 'blue' }, ['favourite_colour']],
        [
          { name: 'A', birth_date: '2021-02-30', sex: 'X', status: null },
          ['birth_date', 'sex', 'status'],
        ],
        [{ name: 42 }, ['name']],
      ];
      for (const [body, fields] of cases) {
        const answer = await api('POST', '/patients', '/patients', { body });
        const problem = assertProblem(answer, 400);
        const issues = problem.issues as { field?: string }[];
        assert.deepEqual(
          issues.map((i) => i.field).sort(),
          [...fields].sort(),
          JSON.stringify(body),
        );
      }
      const array = await api('POST', '/patients', '/patients', { body: [{ name: 'A' }] });
      assertProblem(array, 400);
      const after = ((await api('GET', '/patients', '/patients')).json as unknown[]).length;
      assert.equal(after, before);
    });

    it('GET /patients/{id} of a missing or odd id → 404', async () => {
      for (const path of [
        '/patients/999999',
        '/patients/a%2Fb',
        '/patients/x%20y',
        '/patients/%3Fx%3D1',
      ]) {
        assertProblem(await api('GET', path, '/patients/{id}'), 404);
      }
    });

    it('PATCH /patients/{id} → 200 with the updated record', async () => {
      const before = (await api('GET', `/patients/${id}`, '/patients/{id}')).json as Json;
      const answer = await api('PATCH', `/patients/${id}`, '/patients/{id}', {
        body: { status: 'I', location: null },
      });
      assert.equal(answer.status, 200);
      const record = answer.json as Json;
      assert.equal(record.status, 'I');
      assert.equal(record.location, null);
      assert.equal(record.name, 'Zebulon Quux');
      assert.ok((record.updated_date as string) > (before.updated_date as string));
      assert.deepEqual((await api('GET', `/patients/${id}`, '/patients/{id}')).json, record);
    });

    it('PATCH → 400 on invalid fields, 404 on a missing patient', async () => {
      assertProblem(
        await api('PATCH', `/patients/${id}`, '/patients/{id}', { body: { updated_date: 'x' } }),
        400,
      );
      assertProblem(
        await api('PATCH', `/patients/${id}`, '/patients/{id}', { body: { name: null } }),
        400,
      );
      assertProblem(await api('PATCH', `/patients/${id}`, '/patients/{id}', { raw: 'null' }), 400);
      assertProblem(
        await api('PATCH', '/patients/999999', '/patients/{id}', { body: { status: 'A' } }),
        404,
      );
    });

    it('DELETE /patients/{id} → 204, then 404', async () => {
      const created = await api('POST', '/patients', '/patients', {
        body: { name: 'Short Lived' },
      });
      const pid = (created.json as Json).id as string;
      const answer = await api('DELETE', `/patients/${pid}`, '/patients/{id}');
      assert.equal(answer.status, 204);
      assert.equal(answer.text, '');
      assertProblem(await api('DELETE', `/patients/${pid}`, '/patients/{id}'), 404);
      assertProblem(await api('GET', `/patients/${pid}`, '/patients/{id}'), 404);
    });

    it('GET /patients/{id} with an unknown query parameter → 400', async () => {
      assertProblem(await api('GET', `/patients/${id}?sauce=x`, '/patients/{id}'), 400);
      assertProblem(await api('GET', `/patients/${id}?source=a&source=b`, '/patients/{id}'), 400);
    });
  });

  describe('filters', () => {
    const ids: Record<string, string> = {};
    before(async () => {
      const people = {
        joe: { name: 'Joe Filter', birth_date: '2019-12-31', status: 'A' },
        jane: { name: 'Jane Filter', birth_date: '2020-01-01', status: 'A' },
        john: { name: 'John Filter', birth_date: '2021-06-15', status: 'I' },
        ann: { name: 'Ann Filter', birth_date: null, status: 'A' },
      };
      for (const [key, body] of Object.entries(people)) {
        const answer = await call(app.baseUrl, 'POST', '/patients', { body });
        ids[key] = (answer.json as Json).id as string;
      }
    });
    const names = (answer: Answer): string[] =>
      (answer.json as Json[])
        .filter((r) => (r.name as string).endsWith(' Filter'))
        .map((r) => (r.name as string).split(' ')[0]!)
        .sort();

    it('query string: EQUAL, __like, __gte, repeated __in, single __in, combined with AND', async () => {
      const q = async (query: string) => {
        const answer = await api('GET', `/patients?${query}`, '/patients');
        assert.equal(answer.status, 200, answer.text);
        return names(answer);
      };
      assert.deepEqual(await q('name=Joe%20Filter'), ['Joe']);
      assert.deepEqual(await q('name__exact=Joe+Filter'), ['Joe']);
      assert.deepEqual(await q('name__like=Jo'), ['Joe', 'John']);
      assert.deepEqual(await q('name__like=jo'), []);
      assert.deepEqual(await q('name__like=Filter&birth_date__gte=2020-01-01'), ['Jane', 'John']);
      assert.deepEqual(await q('name__like=Filter&birth_date__lt=2020-01-01T00:00:00Z'), ['Joe']);
      assert.deepEqual(await q('name__in=Joe%20Filter&name__in=Jane%20Filter'), ['Jane', 'Joe']);
      assert.deepEqual(await q('name__in=Ann%20Filter'), ['Ann']);
      assert.deepEqual(await q('name__like=Filter&status=I'), ['John']);
      assert.deepEqual(await q('name__like=Filter&birth_date__lte=2030-01-01'), [
        'Jane',
        'Joe',
        'John',
      ]);
      assert.ok(((await api('GET', '/patients', '/patients')).json as unknown[]).length >= 4);
    });

    it('query string: unknown field, operator or bad value, repeated non-IN → 400', async () => {
      for (const query of [
        'colour=blue',
        'name__regex=J',
        'name__=J',
        'birth_date__gte=yesterday',
        'birth_date=2021-02-30',
        'name=Joe&name=Jane',
        'source=emr',
      ]) {
        assertProblem(await api('GET', `/patients?${query}`, '/patients'), 400);
      }
    });

    it('POST /patients/_search with lookup triples → 200', async () => {
      const s = async (lookups: unknown) => {
        const answer = await api('POST', '/patients/_search', '/patients/_search', {
          body: { lookups },
        });
        assert.equal(answer.status, 200, answer.text);
        return names(answer);
      };
      assert.deepEqual(
        await s([
          ['name', '%', 'Filter'],
          ['birth_date', '>=', '2020-01-01'],
        ]),
        ['Jane', 'John'],
      );
      assert.deepEqual(await s([['name', 'in', ['Joe Filter', 'Ann Filter']]]), ['Ann', 'Joe']);
      assert.deepEqual(await s([['name', '==', 'Ann Filter']]), ['Ann']);
      const all = await api('POST', '/patients/_search', '/patients/_search', { body: {} });
      assert.ok((all.json as unknown[]).length >= 4);
    });

    it('POST /patients/_search with a bad body → 400', async () => {
      for (const body of [
        [],
        { lookups: 'name' },
        { lookups: [['name', '%']] },
        { lookups: [['colour', '==', 'x']] },
        { lookups: [['name', '~', 'x']] },
        { lookups: [['name', 'in', 'x']] },
        { lookups: [['birth_date', '>', 'soon']] },
        { lookups: [], extra: 1 },
      ]) {
        assertProblem(await api('POST', '/patients/_search', '/patients/_search', { body }), 400);
      }
    });
  });

  describe('links', () => {
    let a: string;
    let b: string;
    before(async () => {
      a = (
        (await call(app.baseUrl, 'POST', '/patients', { body: { name: 'Link A' } })).json as Json
      ).id as string;
      b = (
        (await call(app.baseUrl, 'POST', '/patients', { body: { name: 'Link B' } })).json as Json
      ).id as string;
    });
    const link = { source_id: 'MRN-SECRET-4711', source_name: 'emr/ü, x' };

    it('POST /patients/{id}/links → 201; same pair again → 409 (any patient); no patient → 404', async () => {
      const created = await api('POST', `/patients/${a}/links`, '/patients/{id}/links', {
        body: link,
      });
      assert.equal(created.status, 201);
      assert.deepEqual(created.json, link);
      const again = await api('POST', `/patients/${a}/links`, '/patients/{id}/links', {
        body: link,
      });
      assert.equal(assertProblem(again, 409).type, 'urn:healthcare-fhir:problem:link-conflict');
      assertProblem(
        await api('POST', `/patients/${b}/links`, '/patients/{id}/links', { body: link }),
        409,
      );
      assertProblem(
        await api('POST', '/patients/999999/links', '/patients/{id}/links', { body: link }),
        404,
      );
    });

    it('POST links with a bad body → 400', async () => {
      for (const body of [
        {},
        { source_id: 'x' },
        { source_id: 1, source_name: 'y' },
        { ...link, extra: 'z' },
        [],
      ]) {
        assertProblem(
          await api('POST', `/patients/${a}/links`, '/patients/{id}/links', { body }),
          400,
        );
      }
    });

    it('GET /patients/{id}/links → 200 list; missing patient → 404', async () => {
      const answer = await api('GET', `/patients/${a}/links`, '/patients/{id}/links');
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json, [link]);
      assert.deepEqual((await api('GET', `/patients/${b}/links`, '/patients/{id}/links')).json, []);
      assertProblem(await api('GET', '/patients/999999/links', '/patients/{id}/links'), 404);
    });

    it('GET /patients/{sourceId}?source={sourceName} → 200 the linked patient; unknown → 404', async () => {
      const path = `/patients/${encodeURIComponent(link.source_id)}?source=${encodeURIComponent(link.source_name)}`;
      const answer = await api('GET', path, '/patients/{id}');
      assert.equal(answer.status, 200);
      assert.equal((answer.json as Json).id, a);
      assertProblem(
        await api(
          'GET',
          `/patients/${encodeURIComponent(link.source_id)}?source=other`,
          '/patients/{id}',
        ),
        404,
      );
      assertProblem(
        await api(
          'GET',
          `/patients/${a}?source=${encodeURIComponent(link.source_name)}`,
          '/patients/{id}',
        ),
        404,
      );
    });

    it('DELETE /patients/{id}/links?source_id&source_name → 204, then 404; wrong patient → 404', async () => {
      const query = `source_id=${encodeURIComponent(link.source_id)}&source_name=${encodeURIComponent(link.source_name)}`;
      assertProblem(
        await api('DELETE', `/patients/${b}/links?${query}`, '/patients/{id}/links'),
        404,
      );
      const removed = await api('DELETE', `/patients/${a}/links?${query}`, '/patients/{id}/links');
      assert.equal(removed.status, 204);
      assertProblem(
        await api('DELETE', `/patients/${a}/links?${query}`, '/patients/{id}/links'),
        404,
      );
      const path = `/patients/${encodeURIComponent(link.source_id)}?source=${encodeURIComponent(link.source_name)}`;
      assertProblem(await api('GET', path, '/patients/{id}'), 404);
    });

    it('DELETE links without source_id/source_name → 400', async () => {
      for (const query of [
        '',
        '?source_id=x',
        '?source_name=y',
        '?source_id=x&source_name=y&z=1',
      ]) {
        assertProblem(
          await api('DELETE', `/patients/${a}/links${query}`, '/patients/{id}/links'),
          400,
        );
      }
    });
  });

  describe('providers', () => {
    it('create, get, filter, search, update, delete with §3 statuses', async () => {
      const created = await api('POST', '/providers', '/providers', {
        body: { name: 'Dr Prov', location: 'L1' },
      });
      assert.equal(created.status, 201);
      const record = created.json as Json;
      const id = record.id as string;
      assert.equal(created.headers.get('location'), `/providers/${id}`);
      assert.deepEqual(
        Object.keys(record).sort(),
        Object.keys(defaultModels.provider.fields).sort(),
      );
      assert.deepEqual((await api('GET', `/providers/${id}`, '/providers/{id}')).json, record);
      const listed = await api('GET', '/providers?name__like=Prov&location=L1', '/providers');
      assert.deepEqual(
        (listed.json as Json[]).map((r) => r.id),
        [id],
      );
      const searched = await api('POST', '/providers/_search', '/providers/_search', {
        body: { lookups: [['name', 'in', ['Dr Prov']]] },
      });
      assert.deepEqual(
        (searched.json as Json[]).map((r) => r.id),
        [id],
      );
      const updated = await api('PATCH', `/providers/${id}`, '/providers/{id}', {
        body: { status: 'I' },
      });
      assert.equal((updated.json as Json).status, 'I');
      assertProblem(
        await api('POST', '/providers', '/providers', { body: { name: 'X', sex: 'M' } }),
        400,
      );
      assertProblem(await api('GET', '/providers?sex=M', '/providers'), 400);
      assertProblem(await api('GET', `/providers/${id}?source=emr`, '/providers/{id}'), 400);
      assert.equal((await api('DELETE', `/providers/${id}`, '/providers/{id}')).status, 204);
      assertProblem(await api('DELETE', `/providers/${id}`, '/providers/{id}'), 404);
      assertProblem(await api('GET', `/providers/${id}`, '/providers/{id}'), 404);
      assertProblem(await api('PATCH', `/providers/${id}`, '/providers/{id}', { body: {} }), 404);
    });

    it('providers have no links route', async () => {
      assertProblem(await call(app.baseUrl, 'GET', '/providers/1/links'), 404);
    });
  });

  describe('request errors', () => {
    it('malformed JSON → 400, and the body is not echoed', async () => {
      const answer = await api('POST', '/patients', '/patients', {
        raw: '{"name": "Secret Name",',
      });
      assertProblem(answer, 400);
      assert.doesNotMatch(answer.text, /Secret Name/);
      assertProblem(await api('POST', '/patients', '/patients', { raw: '"just a string"' }), 400);
    });

    it('a non-JSON content type → 415', async () => {
      assertProblem(
        await api('POST', '/patients', '/patients', { raw: 'name=x', contentType: 'text/plain' }),
        415,
      );
      assertProblem(
        await api('POST', '/patients/_search', '/patients/_search', {
          raw: 'name=x',
          contentType: 'application/x-www-form-urlencoded',
        }),
        415,
      );
      const ok = await api('POST', '/patients', '/patients', {
        raw: JSON.stringify({ name: 'Charset' }),
        contentType: 'application/json; charset=utf-8',
      });
      assert.equal(ok.status, 201);
    });

    it('a body over the limit → 413', async () => {
      const answer = await api('POST', '/patients', '/patients', {
        body: { name: 'x'.repeat(5000) },
      });
      assertProblem(answer, 413);
    });

    it('no body → 400', async () => {
      assertProblem(await api('POST', '/patients', '/patients'), 400);
    });

    it('unknown route → 404 problem; wrong method → 405 with Allow', async () => {
      assertProblem(await call(app.baseUrl, 'GET', '/nowhere'), 404);
      assertProblem(await call(app.baseUrl, 'GET', '/patients/1/links/extra'), 404);
      const put = await call(app.baseUrl, 'PUT', '/patients/1', { body: {} });
      assertProblem(put, 405);
      assert.equal(put.headers.get('allow'), 'GET, PATCH, DELETE, HEAD, OPTIONS');
      assertProblem(await call(app.baseUrl, 'DELETE', '/patients'), 405);
      assertProblem(await call(app.baseUrl, 'GET', '/patients/_search'), 405);
      const options = await call(app.baseUrl, 'OPTIONS', '/patients');
      assert.equal(options.status, 204);
      assert.equal(options.headers.get('allow'), 'GET, POST, HEAD, OPTIONS');
    });
  });

  describe('operations', () => {
    it('/healthz → 200; /readyz → 200 on a ready storage', async () => {
      const health = await api('GET', '/healthz', '/healthz');
      assert.deepEqual(health.json, { status: 'ok' });
      const ready = await api('GET', '/readyz', '/readyz');
      assert.deepEqual(ready.json, { status: 'ready' });
    });

    it('X-Request-Id: a sane one is echoed, others are replaced by a generated id', async () => {
      const echoed = await call(app.baseUrl, 'GET', '/healthz', {
        headers: { 'x-request-id': 'req-123.abc' },
      });
      assert.equal(echoed.headers.get('x-request-id'), 'req-123.abc');
      const replaced = await call(app.baseUrl, 'GET', '/healthz', {
        headers: { 'x-request-id': 'Jane Doe 1970' },
      });
      assert.match(replaced.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
      const generated = await call(app.baseUrl, 'GET', '/healthz');
      assert.match(generated.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
      const long = await call(app.baseUrl, 'GET', '/healthz', {
        headers: { 'x-request-id': 'a'.repeat(200) },
      });
      assert.match(long.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
    });

    it('/docs serves swagger-ui from the package, pointed at /openapi.json', async () => {
      const redirect = await fetch(`${app.baseUrl}/docs`, { redirect: 'manual' });
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get('location'), '/docs/');
      const page = await call(app.baseUrl, 'GET', '/docs/');
      assert.equal(page.status, 200);
      assert.match(page.text, /swagger-ui-bundle\.js/);
      assert.doesNotMatch(page.text, /https?:\/\//, 'no CDN');
      const init = await call(app.baseUrl, 'GET', '/docs/swagger-initializer.js');
      assert.match(init.text, /openapi\.json/);
      for (const asset of [
        'swagger-ui-bundle.js',
        'swagger-ui.css',
        'swagger-ui-standalone-preset.js',
      ]) {
        const answer = await fetch(`${app.baseUrl}/docs/${asset}`);
        assert.equal(answer.status, 200, asset);
        await answer.arrayBuffer();
      }
    });
  });

  describe('OpenAPI document', () => {
    it('is OpenAPI 3.1 with every route of §3 and problem responses', () => {
      const doc = checker.document;
      assert.equal(doc.openapi, '3.1.0');
      const paths = doc.paths as Record<string, Json>;
      const expected: Record<string, string[]> = {
        '/patients': ['get', 'post'],
        '/patients/_search': ['post'],
        '/patients/{id}': ['get', 'patch', 'delete'],
        '/patients/{id}/links': ['get', 'post', 'delete'],
        '/providers': ['get', 'post'],
        '/providers/_search': ['post'],
        '/providers/{id}': ['get', 'patch', 'delete'],
        '/healthz': ['get'],
        '/readyz': ['get'],
        '/openapi.json': ['get'],
      };
      assert.deepEqual(Object.keys(paths).sort(), Object.keys(expected).sort());
      for (const [path, methods] of Object.entries(expected)) {
        for (const method of methods) assert.ok(paths[path]![method], `${method} ${path}`);
      }
      assert.equal(doc.security, undefined, 'no security without tokens');
      const schemas = (doc.components as Json).schemas as Record<string, Json>;
      assert.deepEqual(
        Object.keys(schemas.Patient!.properties as Json).sort(),
        Object.keys(patientModel.fields).sort(),
      );
      const listParams = ((paths['/patients']!.get as Json).parameters as Json[]).map(
        (p) => p.name,
      );
      for (const name of ['name', 'name__like', 'name__in', 'birth_date__gte', 'status']) {
        assert.ok(listParams.includes(name), name);
      }
    });

    it('the answers of this suite covered every documented operation', () => {
      const operations = Object.entries(checker.document.paths as Record<string, Json>).flatMap(
        ([path, item]) =>
          Object.keys(item)
            .filter((m) => m !== 'parameters')
            .map((m) => `${m.toUpperCase()} ${path}`),
      );
      const missing = operations.filter(
        (op) => op !== 'GET /openapi.json' && !checker.seen.has(op),
      );
      assert.deepEqual(missing, []);
    });
  });

  describe('logs', () => {
    it('one JSON line per request: id, method, route pattern, status, latency; no patient data', () => {
      const lines = log.lines().map((l) => JSON.parse(l) as Json);
      const requests = lines.filter((l) => l.msg === 'request');
      assert.ok(requests.length > 50);
      for (const line of requests) {
        assert.equal(typeof line.requestId, 'string');
        assert.equal(typeof line.method, 'string');
        assert.equal(typeof line.status, 'number');
        assert.equal(typeof line.latencyMs, 'number');
        assert.match(
          line.route as string,
          /^(\/[a-z_.{}:]*)+$|^\(unmatched\)$/,
          String(line.route),
        );
      }
      const routes = new Set(requests.map((l) => l.route));
      for (const r of [
        '/patients',
        '/patients/:id',
        '/patients/:id/links',
        '/patients/_search',
        '/providers/:id',
      ]) {
        assert.ok(routes.has(r), r);
      }
      const all = log.lines().join('\n');
      for (const secret of [
        'Zebulon',
        'Quux',
        '2020-02-03',
        'Ward 7',
        'MRN-SECRET-4711',
        'emr/',
        'Secret Name',
        'Filter',
        'Jane Doe',
        'name__like',
        'source=',
      ]) {
        assert.ok(!all.includes(secret), `the logs do not contain ${secret}`);
      }
      const errors = requests.filter((l) => l.status === 400);
      assert.ok(errors.some((l) => l.errorClass === 'ValidationError'));
      assert.ok(errors.some((l) => l.errorKind === 'entity.parse.failed'));
    });
  });
});

describe('auth', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({
      storage: new MemoryStorage(),
      apiTokens: ['token-one', 'token-two-longer'],
    });
  });
  after(async () => app.close());

  it('401 problem with WWW-Authenticate without a token or with a wrong one', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'Bearer token-on' },
      { authorization: 'Basic dG9rZW4tb25lOg==' },
      { authorization: 'token-one' },
      { authorization: 'Bearer ' },
    ];
    for (const headers of variants) {
      for (const path of ['/patients', '/readyz', '/openapi.json', '/docs/', '/nowhere']) {
        const answer = await call(app.baseUrl, 'GET', path, { headers });
        assertProblem(answer, 401);
        assert.match(answer.headers.get('www-authenticate')!, /^Bearer/);
      }
    }
  });

  it('200 with either configured token; /healthz open', async () => {
    for (const token of ['token-one', 'token-two-longer']) {
      const answer = await call(app.baseUrl, 'GET', '/patients', {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(answer.status, 200);
    }
    const created = await call(app.baseUrl, 'POST', '/patients', {
      headers: { authorization: 'bearer token-one' },
      body: { name: 'Authed' },
    });
    assert.equal(created.status, 201);
    assert.equal((await call(app.baseUrl, 'GET', '/healthz')).status, 200);
  });

  it('the OpenAPI document declares bearer security, and the scope each record route needs', async () => {
    const answer = await call(app.baseUrl, 'GET', '/openapi.json', {
      headers: { authorization: 'Bearer token-one' },
    });
    const doc = answer.json as Json;
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    const scheme = ((doc.components as Json).securitySchemes as Json).bearerAuth as Json;
    assert.equal(scheme.type, 'http');
    assert.equal(scheme.scheme, 'bearer');
    assert.match(scheme.description as string, /API_TOKENS.*API_CLIENTS_FILE.*OIDC_ISSUER/);
    const deletePatient = (doc.paths as Record<string, Json>)['/patients/{id}']!.delete as Json;
    assert.deepEqual(deletePatient.security, [{ bearerAuth: ['system/Patient.d'] }]);
    assert.ok('403' in (deletePatient.responses as Json));
    const healthz = (doc.paths as Record<string, Json>)['/healthz']!.get as Json;
    assert.deepEqual(healthz.security, []);
    const checker = new OpenApiChecker(doc);
    checker.check(await call(app.baseUrl, 'GET', '/patients'), 'GET', '/patients');
  });
});

describe('storage failures', () => {
  const cases: [() => Error, number, string][] = [
    [
      () =>
        new StorageUnavailableError('bad-response', 'http://fhir:8080 said 500 for Jane Doe', 500),
      502,
      'bad-response',
    ],
    [
      () => new StorageUnavailableError('unreachable', 'http://fhir:8080 is unreachable'),
      503,
      'unreachable',
    ],
    [() => new StorageUnavailableError('timeout', 'http://fhir:8080 timed out'), 504, 'timeout'],
    [() => new ConflictError('lost the race on Jane Doe'), 409, 'conflict'],
    [() => new Error('boom: Jane Doe born 1970-01-01'), 500, 'unexpected'],
  ];
  for (const [error, status, label] of cases) {
    it(`${label} → ${status} problem, a clear detail, no internals`, async () => {
      const log = captureLogger();
      const app = await startApp({ storage: failingStorage(error), logger: log.logger });
      try {
        const doc = new OpenApiChecker(
          (await call(app.baseUrl, 'GET', '/openapi.json')).json as Json,
        );
        const requests: [string, string, string, unknown?][] = [
          ['GET', '/patients/1', '/patients/{id}'],
          ['GET', '/patients?name=x', '/patients'],
          ['POST', '/patients', '/patients', { name: 'Jane Doe' }],
          ['POST', '/providers/_search', '/providers/_search', { lookups: [] }],
          ['PATCH', '/providers/1', '/providers/{id}', { name: 'Jane Doe' }],
          ['DELETE', '/patients/1', '/patients/{id}'],
          [
            'POST',
            '/patients/1/links',
            '/patients/{id}/links',
            { source_id: 'a', source_name: 'b' },
          ],
          ['GET', '/patients/1/links', '/patients/{id}/links'],
        ];
        for (const [method, path, template, body] of requests) {
          // A write conflict only comes from writes.
          if (status === 409 && (method === 'GET' || template.endsWith('_search'))) continue;
          const answer = await call(app.baseUrl, method, path, body === undefined ? {} : { body });
          const problem = assertProblem(answer, status);
          doc.check(answer, method, template);
          assert.doesNotMatch(answer.text, /fhir:8080|Jane Doe|boom|1970-01-01/);
          assert.ok((problem.detail as string).length > 10);
        }
        const logs = log.lines().join('\n');
        assert.doesNotMatch(logs, /fhir:8080|Jane Doe|boom|1970-01-01/);
        if (error() instanceof StorageUnavailableError)
          assert.match(logs, new RegExp(`"errorKind":"${label}"`));
      } finally {
        await app.close();
      }
    });
  }
});

describe('readiness', () => {
  it('/readyz → 503 when checkReady rejects', async () => {
    const storage = failingStorage(
      () => new Error('x'),
      async () => {
        throw new StorageUnavailableError('unreachable', 'down');
      },
    );
    const app = await startApp({ storage });
    try {
      const answer = await call(app.baseUrl, 'GET', '/readyz');
      assertProblem(answer, 503);
      assert.equal((await call(app.baseUrl, 'GET', '/healthz')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('/readyz → 503 within the timeout when checkReady hangs', async () => {
    const storage = failingStorage(
      () => new Error('x'),
      () => new Promise<void>(() => {}),
    );
    const app = await startApp({ storage, readyTimeoutMs: 200 });
    try {
      const started = Date.now();
      const answer = await call(app.baseUrl, 'GET', '/readyz');
      assertProblem(answer, 503);
      assert.ok(Date.now() - started < 2000);
      assert.match((answer.json as Json).detail as string, /200 ms/);
    } finally {
      await app.close();
    }
  });

  it('/readyz → 200 when the storage has no checkReady', async () => {
    const app = await startApp({ storage: failingStorage(() => new Error('x')) });
    try {
      assert.equal((await call(app.baseUrl, 'GET', '/readyz')).status, 200);
    } finally {
      await app.close();
    }
  });
});

describe('mapped extra fields', () => {
  it('appear in the OpenAPI schemas and are accepted and filterable over HTTP', async () => {
    const patient = extendModel(defaultModels.patient, {
      mrn: { kind: 'string', description: 'Medical record number.' },
    });
    const app = await startApp({
      storage: new MemoryStorage({ models: { ...defaultModels, patient } }),
    });
    try {
      const doc = (await call(app.baseUrl, 'GET', '/openapi.json')).json as Json;
      const schemas = (doc.components as Json).schemas as Record<string, Json>;
      assert.ok((schemas.Patient!.properties as Json).mrn);
      assert.ok((schemas.PatientCreate!.properties as Json).mrn);
      assert.ok(!(schemas.Provider!.properties as Json).mrn);
      const checker = new OpenApiChecker(doc);
      const created = await call(app.baseUrl, 'POST', '/patients', {
        body: { name: 'M', mrn: 'X-1' },
      });
      checker.check(created, 'POST', '/patients');
      assert.equal((created.json as Json).mrn, 'X-1');
      const found = await call(app.baseUrl, 'GET', '/patients?mrn__like=X-');
      checker.check(found, 'GET', '/patients');
      assert.equal((found.json as Json[]).length, 1);
    } finally {
      await app.close();
    }
  });
});

describe('edge cases at the edge', () => {
  let app: RunningApp;
  let checker: OpenApiChecker;
  let id: string;
  const api = async (
    method: string,
    path: string,
    template: string,
    options: Parameters<typeof call>[3] = {},
  ): Promise<Answer> => {
    const answer = await call(app.baseUrl, method, path, options);
    checker.check(answer, method, template);
    return answer;
  };
  before(async () => {
    app = await startApp({ storage: new MemoryStorage() });
    checker = new OpenApiChecker((await call(app.baseUrl, 'GET', '/openapi.json')).json as Json);
    id = ((await call(app.baseUrl, 'POST', '/patients', { body: { name: 'Edge' } })).json as Json)
      .id as string;
  });
  after(async () => app.close());

  it('a path that is not valid percent-encoding → 400, not 500', async () => {
    assertProblem(await api('GET', '/patients/%E0%A4%A', '/patients/{id}'), 400);
    assertProblem(await api('DELETE', '/providers/%ZZ', '/providers/{id}'), 400);
  });

  it('_search with "lookups": null or a non-array → 400 (not every record)', async () => {
    for (const lookups of [null, 'x', 3, {}]) {
      const answer = await api('POST', '/patients/_search', '/patients/_search', {
        body: { lookups },
      });
      const problem = assertProblem(answer, 400);
      assert.deepEqual(problem.issues, [
        { field: 'lookups', message: 'must be an array of [field, operator, value]' },
      ]);
    }
  });

  it('query-string issues name the query parameter, not a lookup position', async () => {
    const cases: [string, string][] = [
      ['colour=blue', 'colour'],
      ['birth_date__gte=yesterday', 'birth_date__gte'],
      ['name__in=a&death_date__lt=soon', 'death_date__lt'],
    ];
    for (const [query, field] of cases) {
      const problem = assertProblem(await api('GET', `/patients?${query}`, '/patients'), 400);
      const fields = (problem.issues as { field?: string }[]).map((i) => i.field);
      assert.deepEqual(fields, [field], query);
    }
  });

  it('every 400 a route can give is documented (links with an unknown query parameter)', async () => {
    assertProblem(await api('GET', `/patients/${id}/links?x=1`, '/patients/{id}/links'), 400);
    assertProblem(
      await api('POST', `/patients/${id}/links?x=1`, '/patients/{id}/links', {
        body: { source_id: 'a', source_name: 'b' },
      }),
      400,
    );
    const bare = failingStorage(() => new Error('x'));
    delete bare.getPatientLinks;
    const other = await startApp({ storage: bare });
    try {
      const answer = await call(other.baseUrl, 'GET', '/patients/1/links');
      assertProblem(answer, 501);
      checker.check(answer, 'GET', '/patients/{id}/links');
    } finally {
      await other.close();
    }
  });

  it('JSON that is not an object (null, a string, a number) → 400 saying an object is needed', async () => {
    for (const raw of ['null', '"x"', '42', 'true']) {
      for (const [method, path, template] of [
        ['POST', '/patients', '/patients'],
        ['PATCH', `/patients/${id}`, '/patients/{id}'],
        ['POST', '/providers/_search', '/providers/_search'],
        ['POST', `/patients/${id}/links`, '/patients/{id}/links'],
      ] as const) {
        const problem = assertProblem(await api(method, path, template, { raw }), 400);
        assert.match(problem.detail as string, /must be a JSON object/, `${method} ${path} ${raw}`);
      }
    }
  });

  it('content types: application/json (any charset spelling of UTF-8); PATCH also application/merge-patch+json; other +json types → 415', async () => {
    const patched = await api('PATCH', `/patients/${id}`, '/patients/{id}', {
      raw: JSON.stringify({ location: 'Merge' }),
      contentType: 'application/merge-patch+json',
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((patched.json as Json).location, 'Merge');
    for (const [method, path, template, contentType] of [
      ['POST', '/patients', '/patients', 'application/fhir+json'],
      ['POST', '/patients', '/patients', 'application/merge-patch+json'],
      ['PATCH', `/patients/${id}`, '/patients/{id}', 'application/fhir+json'],
      ['POST', '/patients/_search', '/patients/_search', 'application/problem+json'],
    ] as const) {
      assertProblem(
        await api(method, path, template, { raw: '{"name":"Nope"}', contentType }),
        415,
      );
    }
    const ok = await api('POST', '/patients', '/patients', {
      raw: '{"name":"Charset"}',
      contentType: 'Application/JSON; Charset="UTF-8"',
    });
    assert.equal(ok.status, 201, ok.text);
    const update = (checker.document.paths as Record<string, Json>)['/patients/{id}']!
      .patch as Json;
    assert.deepEqual(Object.keys((update.requestBody as Json).content as Json).sort(), [
      'application/json',
      'application/merge-patch+json',
    ]);
  });
});
