/** Mapping files: loading, the errors a malformed one gives, element paths and value conversion. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FhirMappingError, FhirStorage, patientModel } from '../../src/index.js';
import { getAt, parsePath, setAt } from '../../src/backends/fhir/element-path.js';
import { parseMapping } from '../../src/backends/fhir/mapping-file.js';
import { readField, writeField } from '../../src/backends/fhir/resource-mapping.js';

const repoMappings = path.resolve('mappings');
const patientJson = JSON.parse(
  fs.readFileSync(path.join(repoMappings, 'patient.json'), 'utf8'),
) as {
  resourceType: string;
  fields: Record<string, Record<string, unknown>>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-mapping-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A mappings directory with the repository's practitioner.json and the given patient.json text. */
function dirWith(patient: string | object): string {
  const dir = path.join(tmp, String(n++));
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'patient.json'),
    typeof patient === 'string' ? patient : JSON.stringify(patient),
  );
  fs.copyFileSync(
    path.join(repoMappings, 'practitioner.json'),
    path.join(dir, 'practitioner.json'),
  );
  return dir;
}

function withField(field: string, mapping: Record<string, unknown> | undefined) {
  const copy = structuredClone(patientJson);
  if (mapping === undefined) delete copy.fields[field];
  else copy.fields[field] = mapping;
  return copy;
}

describe('FhirStorage mappings', () => {
  it('the default mappings load without a request; models are the contract models', () => {
    const s = new FhirStorage({ baseUrl: 'http://127.0.0.1:1/fhir' });
    assert.deepEqual(Object.keys(s.models.patient.fields), Object.keys(patientModel.fields));
    assert.deepEqual(Object.keys(s.models.provider.fields), [
      'id',
      'name',
      'location',
      'status',
      'created_date',
      'updated_date',
    ]);
  });

  it('an extra field (JSON only) extends the model', () => {
    const dir = dirWith(
      withField('phone', {
        element: 'telecom[system=phone].value',
        type: 'string',
        search: 'phone',
        searchType: 'token',
      }),
    );
    const s = new FhirStorage({ baseUrl: 'http://x/fhir', mappingsDir: dir });
    assert.equal(s.models.patient.fields.phone?.kind, 'string');
    const dir2 = dirWith(
      withField('consent', {
        element: 'extension[url=urn:x:consent].valueCode',
        type: 'code',
        values: { Y: 'yes', N: 'no' },
      }),
    );
    assert.deepEqual(
      new FhirStorage({ baseUrl: 'http://x/fhir', mappingsDir: dir2 }).models.patient.fields.consent
        ?.enum,
      ['Y', 'N'],
    );
  });

  const bad: [string, string | object, RegExp][] = [
    ['not JSON', '{ nope', /patient\.json: is not valid JSON/],
    ['no fields', { resourceType: 'Patient' }, /patient\.json: fields: is required/],
    [
      'bad resourceType',
      { ...patientJson, resourceType: 'patient' },
      /resourceType: must be a FHIR resource type/,
    ],
    [
      'a model field unmapped',
      withField('sex', undefined),
      /fields\.sex: the patient model's field sex is not mapped/,
    ],
    [
      'unknown type',
      withField('location', { element: 'address[0].city', type: 'text' }),
      /fields\.location\.type: must be one of/,
    ],
    [
      'bad path',
      withField('location', { element: 'address[0.city', type: 'string' }),
      /fields\.location\.element: must be an element path .*\(got "address\[0\.city"\)/,
    ],
    [
      'empty path',
      withField('location', { element: '', type: 'string' }),
      /fields\.location\.element/,
    ],
    [
      'type clash',
      withField('birth_date', { element: 'birthDate', type: 'string' }),
      /fields\.birth_date\.type: the model's birth_date is a date/,
    ],
    [
      'sex values incomplete',
      withField('sex', { element: 'gender', type: 'code', values: { M: 'male' } }),
      /fields\.sex\.values: must map F/,
    ],
    [
      'boolean values not booleans',
      withField('status', {
        element: 'active',
        type: 'boolean',
        values: { A: 'true', I: 'false' },
      }),
      /fields\.status\.values\.A: must be a boolean/,
    ],
    [
      'unknown property',
      withField('location', { element: 'address[0].city', type: 'string', serach: 'x' }),
      /fields\.location\.serach: unknown property/,
    ],
    [
      'search type mismatch',
      withField('location', {
        element: 'address[0].city',
        type: 'string',
        search: 'x',
        searchType: 'date',
      }),
      /fields\.location\.searchType/,
    ],
    [
      'extra field generated',
      withField('seen', { element: 'meta.lastUpdated', type: 'dateTime', generated: 'updated' }),
      /fields\.seen\.generated/,
    ],
    [
      'created not generated',
      withField('created_date', { element: 'extension[url=x].valueDateTime', type: 'dateTime' }),
      /fields\.created_date\.generated: must be "created"/,
    ],
    [
      'bad field name',
      withField('Phone', { element: 'telecom[0].value', type: 'string' }),
      /fields\.Phone: field names are lower-case/,
    ],
    [
      'HumanName below the top',
      withField('name', { element: 'contact[0].name', type: 'HumanName' }),
      /fields\.name\.element: a HumanName field/,
    ],
  ];
  for (const [title, content, message] of bad) {
    it(`a malformed mapping stops start-up naming file and field: ${title}`, () => {
      const dir = dirWith(content);
      assert.throws(
        () => new FhirStorage({ baseUrl: 'http://x/fhir', mappingsDir: dir }),
        (e: unknown) =>
          e instanceof FhirMappingError &&
          message.test(e.message) &&
          e.message.includes(path.join(dir, 'patient.json')),
      );
    });
  }

  it('a missing mapping file names the file', () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(dir);
    assert.throws(
      () => new FhirStorage({ baseUrl: 'http://x/fhir', mappingsDir: dir }),
      /patient\.json: cannot be read \(ENOENT\)/,
    );
  });
});

describe('element paths and conversion', () => {
  it('parses selectors with dots and slashes in values', () => {
    assert.deepEqual(parsePath('extension[url=https://a.b/c].valueDateTime'), [
      { key: 'extension', match: { key: 'url', value: 'https://a.b/c' } },
      { key: 'valueDateTime' },
    ]);
    assert.deepEqual(parsePath('address[0].city'), [{ key: 'address', index: 0 }, { key: 'city' }]);
    for (const bad of ['a..b', 'a.', '.a', 'a[', 'a[=x]', 'a[x=]', 'a b'])
      assert.throws(() => parsePath(bad), bad);
  });

  it('set creates what is missing, unset removes only what becomes empty', () => {
    const r: Record<string, unknown> = { address: [{ line: ['1 Road'] }, { city: 'B' }] };
    setAt(r, parsePath('address[0].city'), 'A');
    assert.deepEqual(r.address, [{ line: ['1 Road'], city: 'A' }, { city: 'B' }]);
    setAt(r, parsePath('address[0].city'), undefined);
    assert.deepEqual(r.address, [{ line: ['1 Road'] }, { city: 'B' }]);
    const t: Record<string, unknown> = {};
    setAt(t, parsePath('telecom[system=phone].value'), '123');
    assert.deepEqual(t, { telecom: [{ system: 'phone', value: '123' }] });
    assert.equal(getAt(t, parsePath('telecom[system=phone].value')), '123');
    setAt(t, parsePath('telecom[system=phone].value'), undefined);
    assert.deepEqual(t, {});
  });

  it('reads names, dates and codes written by others', () => {
    const m = parseMapping('patient.json', patientJson, patientModel);
    const f = (name: string) => m.fields.get(name)!;
    const emr = {
      resourceType: 'Patient',
      meta: { lastUpdated: '2026-01-02T03:04:05+02:00' },
      name: [{ use: 'official', given: ['Ada', 'M.'], family: 'Lovelace' }, { text: 'Countess' }],
      gender: 'other',
      birthDate: '1815',
      deceasedDateTime: '1852-11-27T10:00:00+00:00',
    };
    assert.equal(readField(emr, f('name')), 'Ada M. Lovelace');
    assert.equal(readField(emr, f('sex')), null);
    assert.equal(readField(emr, f('birth_date')), null, 'a partial date is no YYYY-MM-DD');
    assert.equal(readField(emr, f('death_date')), '1852-11-27');
    assert.equal(readField(emr, f('status')), 'A', 'no active element reads as A');
    assert.equal(
      readField(emr, f('created_date')),
      '2026-01-02T01:04:05.000Z',
      'falls back to meta.lastUpdated',
    );
    assert.equal(readField({ resourceType: 'Patient' }, f('name')), null);
  });

  it('writes a name into name[0] keeping its other parts', () => {
    const m = parseMapping('patient.json', patientJson, patientModel);
    const r = {
      resourceType: 'Patient',
      name: [{ use: 'official', prefix: ['Dr'], given: ['A'], family: 'B' }, { text: 'Other' }],
    };
    writeField(r, m.fields.get('name')!, 'Jane van Dyke');
    assert.deepEqual(r.name, [
      {
        use: 'official',
        prefix: ['Dr'],
        given: ['Jane', 'van'],
        family: 'Dyke',
        text: 'Jane van Dyke',
      },
      { text: 'Other' },
    ]);
  });
});
