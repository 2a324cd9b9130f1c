/**
 * /openapi.json is exactly as strict as the facade's validation (issue 11):
 * for every date lookup parameter, enum lookup, `source`, link member and
 * `_search` lookup value, the document's schema (ajv, JSON Schema 2020-12)
 * and the facade (on MemoryStorage: the validation is the one module every
 * backend runs) accept and reject the same values. Cases come from the model specs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { comparisonOperators, comparisons } from '../../src/api/comparisons.js';
import { keywordSuffixes } from '../../src/api/filters.js';
import { defaultModels, type FieldSpec, type ModelSpec } from '../../src/api/models.js';
import { isWholeValueOperator } from '../../src/http/schemas.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { call, startApp, type RunningApp } from './helpers.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
type Json = Record<string, unknown>;
const documentId = 'https://facade.test/openapi.json';

const validDates = [
  '2020-02-29',
  '0001-01-01',
  '2020-01-01T10:00:00Z',
  '2020-06-30T23:59:59.123+02:00',
];
const malformedDates = [
  '2020-13-01',
  '9999-99-99',
  '2021-02-29',
  '2020-1-01',
  '2020-01-01T10:00:00',
  '2020-01-01T25:00:00Z',
  '2020-01-01 10:00:00Z',
  'yesterday',
  '',
];

/** A value the field's whole-value lookups accept, from its spec. */
function sampleValue(spec: FieldSpec): string {
  if (spec.enum) return spec.enum[0]!;
  if (spec.kind === 'date') return '2020-01-01';
  if (spec.kind === 'datetime') return '2020-01-01T00:00:00.000Z';
  return 'x';
}

const models: ModelSpec[] = Object.values(defaultModels);
const collection = (model: ModelSpec): string => `/${model.name}s`;

describe('/openapi.json accepts exactly what the facade accepts', () => {
  let app: RunningApp;
  let document: Json;
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);

  before(async () => {
    app = await startApp({ storage: new MemoryStorage() });
    document = (await call(app.baseUrl, 'GET', '/openapi.json')).json as Json;
    ajv.addSchema(document, documentId);
  });
  after(() => app.close());

  function parameterSchema(path: string, method: string, name: string): Json {
    const operation = (document.paths as Record<string, Record<string, Json>>)[path]![method]!;
    const parameter = (operation.parameters as Json[]).find((p) => p.name === name);
    assert.ok(parameter, `${method} ${path} documents ${name}`);
    return parameter.schema as Json;
  }

  /**
   * The document and the facade agree on a lookup parameter of a collection's GET: both accept
   * the value (the facade answers 200 with a list) or both refuse it (the facade answers 400).
   */
  async function agreeOnQuery(
    path: string,
    name: string,
    value: string,
    expectValid: boolean,
  ): Promise<void> {
    const schema = parameterSchema(path, 'get', name);
    const isArray = schema.type === 'array';
    const documentAccepts = ajv.validate(schema, isArray ? [value] : value);
    const answer = await call(app.baseUrl, 'GET', `${path}?${name}=${encodeURIComponent(value)}`);
    const what = `${name}=${JSON.stringify(value)}`;
    assert.equal(
      documentAccepts,
      expectValid,
      `the document ${expectValid ? 'accepts' : 'refuses'} ${what}`,
    );
    if (expectValid) {
      assert.equal(answer.status, 200, `the facade accepts ${what}: ${answer.text}`);
      assert.ok(Array.isArray(answer.json), `the facade answers ${what} with a list`);
    } else assert.equal(answer.status, 400, `the facade refuses ${what}: ${answer.text}`);
  }

  it('every date field lookup parameter (exact, lt, lte, gt, gte, in): malformed dates refused by document and facade, real dates and zoned datetimes accepted by both', async () => {
    let checked = 0;
    for (const model of models) {
      for (const [field, spec] of Object.entries(model.fields)) {
        if (spec.kind === 'string') continue;
        const names = [
          field,
          ...Object.entries(keywordSuffixes)
            .filter(([, op]) => op !== comparisons.LIKE)
            .map(([suffix]) => `${field}__${suffix}`),
        ];
        for (const name of names) {
          for (const value of validDates) await agreeOnQuery(collection(model), name, value, true);
          for (const value of malformedDates)
            await agreeOnQuery(collection(model), name, value, false);
          checked++;
        }
        // LIKE on a date field is a substring of its text: any string
        await agreeOnQuery(collection(model), `${field}__like`, '2020-13', true);
      }
    }
    assert.ok(checked >= 4 * 7, `${checked} date parameters checked`);
  });

  it('enum fields: exact and in are documented as the enum, another value matches nothing (200 []); like, lt… take any string in both', async () => {
    let checked = 0;
    for (const model of models) {
      for (const [field, spec] of Object.entries(model.fields)) {
        if (!spec.enum) continue;
        const path = collection(model);
        for (const [suffix, operator] of Object.entries({
          '': comparisons.EQUAL,
          ...keywordSuffixes,
        })) {
          const name = suffix ? `${field}__${suffix}` : field;
          await agreeOnQuery(path, name, spec.enum[0]!, true);
          if (!isWholeValueOperator(operator)) {
            await agreeOnQuery(path, name, 'not-in-the-enum', true);
            continue;
          }
          const schema = parameterSchema(path, 'get', name);
          const isArray = schema.type === 'array';
          assert.deepEqual(
            (isArray ? (schema.items as Json) : schema).enum,
            spec.enum,
            `${name} documents the enum`,
          );
          assert.equal(
            ajv.validate(schema, isArray ? ['X'] : 'X'),
            false,
            `the document refuses ${name}=X`,
          );
          const answer = await call(app.baseUrl, 'GET', `${path}?${name}=X`);
          assert.deepEqual([answer.status, answer.json], [200, []], `${name}=X matches nothing`);
          checked++;
        }
      }
    }
    assert.equal(checked, 3 * 3, 'patient sex and status, provider status: field, __exact, __in');
  });

  it('source of GET /patients/{id}?source=: empty or blank refused by document and facade, the issue naming `source`', async () => {
    const schema = parameterSchema('/patients/{id}', 'get', 'source');
    assert.equal(schema.minLength, 1);
    for (const value of ['', ' ']) {
      assert.equal(
        ajv.validate(schema, value),
        false,
        `the document refuses ${JSON.stringify(value)}`,
      );
      const answer = await call(
        app.baseUrl,
        'GET',
        `/patients/abc?source=${encodeURIComponent(value)}`,
      );
      assert.equal(answer.status, 400, answer.text);
      const issues = (answer.json as { issues: { field?: string }[] }).issues;
      assert.deepEqual(
        issues.map((i) => i.field),
        ['source'],
      );
    }
    assert.equal(ajv.validate(schema, 'emr'), true);
    assert.equal((await call(app.baseUrl, 'GET', '/patients/abc?source=emr')).status, 404);
  });

  it('link body: an empty or blank source_id / source_name refused by document and facade', async () => {
    const created = await call(app.baseUrl, 'POST', '/patients', { body: { name: 'Linked' } });
    const id = (created.json as { id: string }).id;
    const linkSchema = { $ref: `${documentId}#/components/schemas/PatientLink` };
    for (const member of ['source_id', 'source_name']) {
      for (const value of ['', '  ']) {
        const body = { source_id: 's', source_name: 'n', [member]: value };
        assert.equal(
          ajv.validate(linkSchema, body),
          false,
          `the document refuses ${member}=${JSON.stringify(value)}`,
        );
        const answer = await call(app.baseUrl, 'POST', `/patients/${id}/links`, { body });
        assert.equal(answer.status, 400, answer.text);
      }
    }
    const body = { source_id: 'exact-1', source_name: 'emr' };
    assert.equal(ajv.validate(linkSchema, body), true);
    assert.equal((await call(app.baseUrl, 'POST', `/patients/${id}/links`, { body })).status, 201);
  });

  it('_search lookup values typed per field and operator: document and facade agree on every field × operator × value shape', async () => {
    let checked = 0;
    for (const model of models) {
      const searchSchema = {
        $ref: `${documentId}#/components/schemas/${model.name[0]!.toUpperCase()}${model.name.slice(1)}Search`,
      };
      for (const [field, spec] of Object.entries(model.fields)) {
        for (const operator of comparisonOperators) {
          const isIn = operator === comparisons.IN;
          const one = operator === comparisons.LIKE ? 'any text' : sampleValue(spec);
          const wrong: unknown[] = [1, null, {}, true, isIn ? one : [one]];
          if (spec.kind !== 'string' && operator !== comparisons.LIKE)
            wrong.push(...['2020-13-01', 'x'].map((v) => (isIn ? [v] : v)));
          const cases: [unknown, boolean][] = [
            [isIn ? [one] : one, true],
            ...(isIn ? [[[], true] as [unknown, boolean]] : []),
            ...wrong.map((v): [unknown, boolean] => [v, false]),
          ];
          for (const [value, expectValid] of cases) {
            const body = { lookups: [[field, operator, value]] };
            const what = JSON.stringify(body.lookups[0]);
            assert.equal(
              ajv.validate(searchSchema, body),
              expectValid,
              `the document ${expectValid ? 'accepts' : 'refuses'} ${what}`,
            );
            const answer = await call(app.baseUrl, 'POST', `${collection(model)}/_search`, {
              body,
            });
            assert.equal(
              answer.status,
              expectValid ? 200 : 400,
              `the facade on ${what}: ${answer.text}`,
            );
            checked++;
          }
          if (spec.enum && isWholeValueOperator(operator)) {
            const body = { lookups: [[field, operator, isIn ? ['Z'] : 'Z']] };
            assert.equal(
              ajv.validate(searchSchema, body),
              false,
              `the document's enum refuses ${field} ${operator} Z`,
            );
            const answer = await call(app.baseUrl, 'POST', `${collection(model)}/_search`, {
              body,
            });
            assert.deepEqual(
              [answer.status, answer.json],
              [200, []],
              `${field} ${operator} Z matches nothing`,
            );
          }
        }
      }
    }
    assert.ok(checked > 100, `${checked} lookups checked`);
  });
});
