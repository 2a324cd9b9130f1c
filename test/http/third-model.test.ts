/** The facade serves a third model (a facility `location`) from its model spec alone: routes, OpenAPI, validation. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { locationModel } from '../support/location-model.js';
import { OpenApiChecker } from './openapi-check.js';
import { call, startApp, type RunningApp } from './helpers.js';

type Json = Record<string, unknown>;

describe('a third model over the facade (memory backend)', () => {
  let app: RunningApp;
  let checker: OpenApiChecker;
  const api = async (
    method: string,
    path: string,
    template: string,
    options: Parameters<typeof call>[3] = {},
  ) => {
    const answer = await call(app.baseUrl, method, path, options);
    checker.check(answer, method, template);
    return answer;
  };

  before(async () => {
    app = await startApp({ storage: new MemoryStorage({ extraModels: [locationModel] }) });
    checker = new OpenApiChecker((await call(app.baseUrl, 'GET', '/openapi.json')).json as Json);
  });
  after(async () => app.close());

  it('the OpenAPI document has the location routes and schema, and no links (not linkable)', () => {
    const paths = Object.keys(checker.document.paths as Json);
    for (const path of ['/locations', '/locations/_search', '/locations/{id}']) {
      assert.ok(paths.includes(path), path);
    }
    assert.ok(!paths.includes('/locations/{id}/links'));
    const schemas = (checker.document.components as Json).schemas as Record<string, Json>;
    assert.deepEqual(
      Object.keys(schemas.Location!.properties as Json).sort(),
      Object.keys(locationModel.fields).sort(),
    );
  });

  it('create, get, update, filter by query and by _search, delete: each answer as documented', async () => {
    const created = await api('POST', '/locations', '/locations', {
      body: { name: 'North Clinic', kind: 'clinic', opened: '2020-05-01' },
    });
    assert.equal(created.status, 201, created.text);
    const id = (created.json as Json).id as string;
    assert.equal(created.headers.get('location'), `/locations/${id}`);
    assert.equal((await api('GET', `/locations/${id}`, '/locations/{id}')).status, 200);
    const patched = await api('PATCH', `/locations/${id}`, '/locations/{id}', {
      body: { kind: 'hospital' },
    });
    assert.equal((patched.json as Json).kind, 'hospital');
    const byQuery = await api('GET', '/locations?opened__gte=2015-01-01', '/locations');
    assert.deepEqual(
      (byQuery.json as Json[]).map((r) => r.id),
      [id],
    );
    const bySearch = await api('POST', '/locations/_search', '/locations/_search', {
      body: { lookups: [['kind', '==', 'hospital']] },
    });
    assert.deepEqual(
      (bySearch.json as Json[]).map((r) => r.id),
      [id],
    );
    assert.equal((await api('DELETE', `/locations/${id}`, '/locations/{id}')).status, 204);
    assert.equal((await api('GET', `/locations/${id}`, '/locations/{id}')).status, 404);
  });

  it('the storage validates it against the spec: a bad value or an unknown query field → 400 naming it', async () => {
    const bad = await api('POST', '/locations', '/locations', {
      body: { name: 'Spa', kind: 'spa' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      ((bad.json as Json).issues as Json[]).map((i) => i.field),
      ['kind'],
    );
    const unknown = await api('GET', '/locations?beds=3', '/locations');
    assert.equal(unknown.status, 400);
    assert.deepEqual(
      ((unknown.json as Json).issues as Json[]).map((i) => i.field),
      ['beds'],
    );
    const source = await api('GET', '/locations/1?source=emr', '/locations/{id}');
    assert.equal(source.status, 400, 'source is taken only by linkable models');
  });
});
