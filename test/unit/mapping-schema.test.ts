/**
 * mappings/mapping.schema.json: every shipped mapping file satisfies it and
 * points editors at it; malformed mappings are rejected naming the file and
 * the field; the schema's element-path pattern agrees with the path parser;
 * the check FhirStorage runs (compiled ahead of time) is the one the schema
 * generates now.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { FhirMappingError, patientModel } from '../../src/index.js';
import { parsePath } from '../../src/backends/fhir/element-path.js';
import { loadMappingFile } from '../../src/backends/fhir/mapping-file.js';
import { schemaViolation } from '../../src/backends/fhir/mapping-schema.js';
import { generatedValidatorFile, mappingValidatorSource } from '../../scripts/mapping-validator.js';

const mappingsDir = path.resolve('mappings');
const schemaFile = path.join(mappingsDir, 'mapping.schema.json');
const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const mappingFiles = fs
  .readdirSync(mappingsDir)
  .filter((name) => name.endsWith('.json') && name !== 'mapping.schema.json');

const patientJson = readJson(path.join(mappingsDir, 'patient.json')) as {
  fields: Record<string, Record<string, unknown>>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mapping-schema-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the mapping schema', () => {
  it('the committed mapping-validator.generated.ts is what the schema generates (npm run generate:mapping-validator)', () => {
    assert.equal(fs.readFileSync(generatedValidatorFile(), 'utf8'), mappingValidatorSource());
  });

  it('is a valid JSON Schema 2020-12 document that a stock validator compiles', () => {
    const ajv = new Ajv2020({ strictTypes: false });
    ajv.addVocabulary(['errorMessage', 'patternErrorMessage']);
    assert.equal(ajv.validateSchema(readJson(schemaFile)), true, ajv.errorsText());
  });

  it('every mapping file in mappings/ validates against it and names it in "$schema"', () => {
    assert.deepEqual(mappingFiles.sort(), ['patient.json', 'practitioner.json']);
    const ajv = new Ajv2020({ strictTypes: false });
    ajv.addVocabulary(['errorMessage', 'patternErrorMessage']);
    const validate = ajv.compile(readJson(schemaFile));
    for (const name of mappingFiles) {
      const json = readJson(path.join(mappingsDir, name));
      assert.equal(validate(json), true, `${name}: ${ajv.errorsText(validate.errors)}`);
      assert.equal(schemaViolation(json), null, name);
      assert.equal(json.$schema, './mapping.schema.json', name);
    }
  });

  it('its element-path pattern accepts exactly the paths the parser accepts', () => {
    const good = [
      'name',
      'address[0].city',
      'extension[url=https://a.b/c?x=1].valueDateTime',
      'a.b_c.d[12]',
    ];
    const bad = ['a..b', 'a.', '.a', 'a[', 'a[=x]', 'a[x=]', 'a b', 'a[0]x', 'a[0][1]', '1a'];
    const field = (element: string) => ({
      ...patientJson,
      fields: { ...patientJson.fields, location: { element, type: 'string' } },
    });
    for (const element of good) {
      assert.doesNotThrow(() => parsePath(element), element);
      assert.equal(schemaViolation(field(element)), null, element);
    }
    for (const element of bad) {
      assert.throws(() => parsePath(element), element);
      assert.deepEqual(
        schemaViolation(field(element))?.[0],
        'fields.location.element',
        `${element} is rejected at the element`,
      );
    }
  });
});

let n = 0;
/** Writes `json` as a patient mapping file and loads it against the patient model. */
function loadPatientMapping(json: unknown): { file: string; load: () => unknown } {
  const file = path.join(tmp, `patient-${n++}.json`);
  fs.writeFileSync(file, JSON.stringify(json));
  return { file, load: () => loadMappingFile(file, patientModel) };
}

function withField(field: string, mapping: Record<string, unknown>) {
  return { ...patientJson, fields: { ...patientJson.fields, [field]: mapping } };
}

describe('malformed mappings are rejected naming the file and the field', () => {
  const cases: [string, unknown, string][] = [
    [
      'an unknown top-level property',
      { ...patientJson, feilds: {} },
      'feilds: unknown property (known: $schema, resourceType, description, fields)',
    ],
    [
      'the resource id mapped',
      withField('id', { element: 'id', type: 'string' }),
      'fields.id: id is the resource id and cannot be mapped',
    ],
    [
      'values on a string field',
      withField('location', { element: 'address[0].city', type: 'string', values: { a: 'b' } }),
      'fields.location.values: only code and boolean fields have values',
    ],
    [
      'a code field without values',
      withField('sex', { element: 'gender', type: 'code' }),
      'fields.sex.values: is required',
    ],
    [
      'an empty FHIR code',
      withField('sex', { element: 'gender', type: 'code', values: { M: 'male', F: '' } }),
      'fields.sex.values.F: must be a non-empty string (a FHIR code) (got "")',
    ],
    [
      'absent without values',
      withField('location', { element: 'address[0].city', type: 'string', absent: 'x' }),
      'fields.location.values: is required with "absent"',
    ],
    [
      'absent not one of the values (checked after the schema)',
      withField('status', {
        element: 'active',
        type: 'boolean',
        values: { A: true, I: false },
        absent: 'X',
      }),
      'fields.status.absent: must be one of the model values in "values" (got "X")',
    ],
    [
      'two model values on one FHIR value (checked after the schema)',
      withField('sex', { element: 'gender', type: 'code', values: { M: 'male', F: 'male' } }),
      'fields.sex.values: two model values map to one FHIR value',
    ],
    [
      'searchType without search',
      withField('location', { element: 'address[0].city', type: 'string', searchType: 'token' }),
      'fields.location.search: is required with "searchType"',
    ],
    [
      'a date field searched as a string',
      withField('birth_date', {
        element: 'birthDate',
        type: 'date',
        search: 'birthdate',
        searchType: 'string',
      }),
      'fields.birth_date.searchType: a date or dateTime field is searched by a date parameter (got "string")',
    ],
    [
      "updated_date not the server's meta.lastUpdated",
      withField('updated_date', {
        element: 'meta.versionId',
        type: 'dateTime',
        generated: 'updated',
      }),
      'fields.updated_date.element: updated_date is the server\'s "meta.lastUpdated" (got "meta.versionId")',
    ],
    [
      'a search parameter name with a space',
      withField('location', { element: 'address[0].city', type: 'string', search: 'address city' }),
      'fields.location.search: must be a search parameter name such as "address-city" (got "address city")',
    ],
    [
      'a field mapping that is not an object',
      withField('location', 'address[0].city' as unknown as Record<string, unknown>),
      'fields.location: must be an object (got "address[0].city")',
    ],
    [
      'the model kind does not fit (checked after the schema)',
      withField('death_date', { element: 'deceasedDateTime', type: 'code', values: { Y: 'y' } }),
      "fields.death_date.type: the model's death_date is a date; code does not fit",
    ],
  ];
  for (const [title, json, message] of cases) {
    it(title, () => {
      const { file, load } = loadPatientMapping(json);
      assert.throws(load, (e: unknown) => {
        assert.ok(e instanceof FhirMappingError);
        assert.equal(e.message, `mapping ${file}: ${message}`);
        return true;
      });
    });
  }
});
