/**
 * The two models under test: how the suite calls each through HealthcareStorage, a valid
 * sample and change, its fixtures and filter cases, and the inputs it must reject.
 */
import { patientModel, providerModel } from '../api/models.js';
import { commonCases } from './common-cases.js';
import { patientCases, patientFixtures, patientOverrides, withOverrides } from './patient-cases.js';
import { writableFields, type AnyRecord, type ModelUnderTest } from './support.js';

function commonInvalid(): [string, unknown][] {
  return [
    ['status Z', { status: 'Z' }],
    ['status null', { status: null }],
    ['unknown field', { favourite_colour: 'blue' }],
    ['read-only id', { id: 'chosen-id' }],
    ['read-only created_date', { created_date: '2020-01-01T00:00:00.000Z' }],
    ['read-only updated_date', { updated_date: '2020-01-01T00:00:00.000Z' }],
    ['number for location', { location: 42 }],
    ['blank location (no value is null)', { location: '  ' }],
    ['empty name', { name: '' }],
    ['blank name', { name: '   ' }],
    ['null name', { name: null }],
  ];
}

export const patientUnderTest: ModelUnderTest = {
  label: 'patient',
  spec: patientModel,
  ops: (storage) => ({
    get: (id) => storage.getPatient(id),
    create: (data) => storage.createPatient(data as never),
    update: (id, data) => storage.updatePatient(id, data as never),
    remove: (id) => storage.deletePatient(id),
    filter: (...lookups) => storage.filterPatients(...lookups),
  }),
  sample: (name) => ({
    name,
    sex: 'F',
    birth_date: '1985-02-28',
    death_date: '2024-02-29',
    location: 'Clinic 7',
    status: 'I',
  }),
  changes: {
    sex: 'M',
    birth_date: '1986-03-01',
    death_date: null,
    location: 'Ward 9',
    status: 'A',
  },
  fixtures: patientFixtures,
  cases: (T) => [...withOverrides(commonCases(T), patientOverrides), ...patientCases(T)],
  invalid: [
    ...commonInvalid(),
    ['sex X', { sex: 'X' }],
    ['sex lower case', { sex: 'm' }],
    ['birth_date 2021-02-30', { birth_date: '2021-02-30' }],
    ['birth_date 2021-13-01', { birth_date: '2021-13-01' }],
    ['birth_date without dashes', { birth_date: '20210101' }],
    ['birth_date as a datetime', { birth_date: '2021-01-01T00:00:00Z' }],
    ['death_date 2023-02-29', { death_date: '2023-02-29' }],
    ['number for birth_date', { birth_date: 20210101 }],
  ],
};

export const providerUnderTest: ModelUnderTest = {
  label: 'provider',
  spec: providerModel,
  ops: (storage) => ({
    get: (id) => storage.getProvider(id),
    create: (data) => storage.createProvider(data as never),
    update: (id, data) => storage.updateProvider(id, data as never),
    remove: (id) => storage.deleteProvider(id),
    filter: (...lookups) => storage.filterProviders(...lookups),
  }),
  sample: (name) => ({ name, location: 'Clinic 7', status: 'I' }),
  changes: { location: 'Ward 9', status: 'A' },
  fixtures: (T) => {
    const { a, b, c } = patientFixtures(T);
    const fields = writableFields(providerModel);
    const pick = (r: AnyRecord) => Object.fromEntries(fields.map((f) => [f, r[f] ?? null]));
    return { a: pick(a!), b: pick(b!), c: pick(c!) };
  },
  cases: commonCases,
  invalid: [...commonInvalid(), ['sex is not a provider field', { sex: 'M' }]],
};
