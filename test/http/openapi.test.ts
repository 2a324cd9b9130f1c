/** /openapi.json is structurally valid OpenAPI 3.1, and the response check catches drift. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { defaultModels } from '../../src/api/models.js';
import { buildOpenApiDocument } from '../../src/http/index.js';
import { OpenApiChecker } from './openapi-check.js';
import { call, startApp, withStore } from './helpers.js';

type Json = Record<string, unknown>;
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function resolve(doc: Json, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `local $ref ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
}

function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refs(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refs(value, found);
    }
  }
  return found;
}

function checkStructure(doc: Json, auth: boolean): void {
  assert.equal(doc.openapi, '3.1.0');
  const info = doc.info as Json;
  assert.equal(typeof info.title, 'string');
  assert.equal(typeof info.version, 'string');
  for (const ref of refs(doc)) assert.ok(resolve(doc, ref) !== undefined, `${ref} resolves`);

  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    assert.match(path, /^\//);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const method of Object.keys(item).filter((k) => methods.includes(k))) {
      const op = item[method] as Json;
      const where = `${method.toUpperCase()} ${path}`;
      assert.equal(typeof op.operationId, 'string', where);
      assert.ok(!operationIds.has(op.operationId as string), `${where}: unique operationId`);
      operationIds.add(op.operationId as string);
      const responses = Object.entries(op.responses as Record<string, Json>);
      assert.ok(responses.length > 0, `${where} has responses`);
      for (const [status, response] of responses) {
        assert.match(status, /^[1-5]\d\d$/, where);
        const resolved = (
          typeof response.$ref === 'string' ? resolve(doc, response.$ref) : response
        ) as Json;
        assert.equal(typeof resolved.description, 'string', `${where} ${status} description`);
      }
      const params = [
        ...((item.parameters as Json[] | undefined) ?? []),
        ...((op.parameters as Json[] | undefined) ?? []),
      ];
      for (const name of templated) {
        const param = params.find((p) => p.in === 'path' && p.name === name);
        assert.ok(param && param.required === true, `${where} declares path parameter ${name}`);
      }
      for (const p of params) {
        assert.ok(['path', 'query', 'header', 'cookie'].includes(p.in as string), where);
        assert.ok(p.schema, `${where} parameter ${String(p.name)} has a schema`);
      }
      if (op.security !== undefined) assert.ok(Array.isArray(op.security), where);
    }
  }

  const schemes = ((doc.components as Json).securitySchemes ?? {}) as Json;
  if (auth) {
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    assert.deepEqual(Object.keys(schemes), ['bearerAuth']);
    assert.equal((schemes.bearerAuth as Json).type, 'http');
    assert.equal((schemes.bearerAuth as Json).scheme, 'bearer');
  } else {
    assert.equal(doc.security, undefined);
    assert.deepEqual(schemes, {});
  }
  for (const requirement of (doc.security as Json[] | undefined) ?? []) {
    for (const name of Object.keys(requirement)) assert.ok(schemes[name], `scheme ${name}`);
  }

  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema(doc, 'https://facade.test/openapi.json');
  for (const name of Object.keys((doc.components as Json).schemas as Json)) {
    ajv.compile({ $ref: `https://facade.test/openapi.json#/components/schemas/${name}` });
  }
}

describe('the OpenAPI document', () => {
  for (const auth of [false, true]) {
    it(`is structurally valid OpenAPI 3.1 (tokens ${auth ? 'on' : 'off'})`, () => {
      checkStructure(buildOpenApiDocument({ models: defaultModels, bearerAuth: auth }), auth);
    });
  }

  it('the response check fails on drift: an extra field, a missing field, an undocumented status', async () => {
    const memory = new MemoryStorage();
    const created = await memory.createPatient({ name: 'Drift' });
    const storage = withStore(memory, 'patient', {
      get: async (id: string) => {
        const record = await memory.stores.patient.get(id);
        if (!record) return null;
        if (id === created.id) return { ...record, internal_note: 'x' };
        return record;
      },
      iterate: async function* () {
        const { sex: _sex, ...rest } = created;
        yield rest;
      },
    });
    const app = await startApp({ storage });
    try {
      const doc = (await call(app.baseUrl, 'GET', '/openapi.json')).json as Json;
      checkStructure(doc, false);
      const checker = new OpenApiChecker(doc);
      const extra = await call(app.baseUrl, 'GET', `/patients/${created.id}`);
      assert.throws(() => checker.check(extra, 'GET', '/patients/{id}'), /internal_note/);
      const missing = await call(app.baseUrl, 'GET', '/patients');
      assert.throws(() => checker.check(missing, 'GET', '/patients'), /sex/);
      const unlisted = await call(app.baseUrl, 'GET', '/healthz');
      assert.throws(
        () => checker.check({ ...unlisted, status: 418 }, 'GET', '/healthz'),
        /documents status 418/,
      );
    } finally {
      await app.close();
    }
  });
});
