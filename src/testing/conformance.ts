/**
 * The conformance suite every backend must pass (the successor of the seed's
 * BackendTestMixin). It never assumes an empty store: every record it makes
 * carries a token unique to the run, and every filter it checks is narrowed
 * to that token, so it can run against a shared FHIR server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { comparisons as C } from '../api/comparisons.js';
import type {
  HealthcareStorage,
  Lookup,
  LookupValue,
  PatientRecord,
  ProviderRecord,
} from '../api/types.js';
import { nodeTestRunner, type TestRunner } from './runner.js';

export interface ConformanceOptions {
  /** Defaults to node:test. */
  runner?: TestRunner;
  /** Called once after the suite, e.g. to close the storage or stop a server. */
  teardown?: (storage: HealthcareStorage) => Promise<void> | void;
}

type AnyRecord = Record<string, string | null>;
type Fixtures = Record<string, AnyRecord>;

/** One filter case: the lookups (given the fixtures) and the fixture keys that must come back. */
interface FilterCase {
  title: string;
  lookups: (fx: Fixtures) => Lookup[];
  expect: string[] | ((fx: Fixtures) => string[]);
}

const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const pathLikeIds = ['../x', 'a/b', '?x=1', '#frag', 'x y', ''];

/** Rejects with a ValidationError (checked by name, so two copies of the package still agree). */
async function rejectsValidation(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal(
      (error as Error | undefined)?.name,
      'ValidationError',
      `${what}: ${String(error)}`,
    );
    return true;
  });
}

function keysOf(fixtures: Fixtures, records: AnyRecord[]): string[] {
  const byId = new Map(Object.entries(fixtures).map(([key, r]) => [r.id, key]));
  const keys = records.map((r) => byId.get(r.id) ?? `unexpected record ${r.id} (${r.name})`);
  return keys.sort();
}

/** Fixture keys whose datetime field compares to `pivot` as `test` says (an oracle independent of backends). */
function byTime(fx: Fixtures, field: string, test: (time: number) => boolean): string[] {
  return Object.keys(fx).filter((k) => test(Date.parse(fx[k]![field]!)));
}

function assertCompleteRecord(record: AnyRecord, fields: string[]): void {
  assert.deepEqual(Object.keys(record).sort(), [...fields].sort(), 'every model field is present');
  assert.equal(typeof record.id, 'string');
  assert.ok(record.id, 'id is non-empty');
  assert.match(record.created_date!, isoMillis);
  assert.match(record.updated_date!, isoMillis);
  assert.ok(record.created_date! <= record.updated_date!, 'created_date <= updated_date');
}

/** What the suite needs of one model, so patients and providers share the generic cases. */
interface ModelOps {
  get(id: string): Promise<AnyRecord | null>;
  create(data: unknown): Promise<AnyRecord>;
  update(id: string, data: unknown): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  filter(...lookups: Lookup[]): Promise<AnyRecord[]>;
}

interface ModelUnderTest {
  label: 'patient' | 'provider';
  fields: string[];
  ops(storage: HealthcareStorage): ModelOps;
  /** A full valid record input (token inside the name). */
  sample(name: string): AnyRecord;
  /** Writable fields with a valid second value, for update checks. */
  changes: AnyRecord;
  fixtures(token: string): Record<string, AnyRecord>;
  cases(token: string): FilterCase[];
  invalid: [string, unknown][];
}

const patientFields = [
  'id',
  'name',
  'sex',
  'birth_date',
  'death_date',
  'location',
  'status',
  'created_date',
  'updated_date',
];
const providerFields = ['id', 'name', 'location', 'status', 'created_date', 'updated_date'];

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

/** Cases shared by both models: name, location, status, id and the generated dates. */
function commonCases(T: string): FilterCase[] {
  const scope: Lookup = ['name', C.LIKE, T];
  const s =
    (...lookups: Lookup[]) =>
    () => [scope, ...lookups];
  const dayAfterTomorrow = new Date(Date.now() + 2 * 86_400_000);
  const all = (fx: Fixtures) => Object.keys(fx);
  return [
    { title: 'no lookup but the run token: all fixtures', lookups: s(), expect: all },
    {
      title: 'name == (exact, case-sensitive)',
      lookups: s(['name', C.EQUAL, `Alpha ${T}`]),
      expect: ['a'],
    },
    {
      title: 'name == matches no prefix of a longer name',
      lookups: s(['name', C.EQUAL, `Alpha`]),
      expect: [],
    },
    {
      title: 'name % (case-sensitive substring)',
      lookups: s(['name', C.LIKE, 'Alpha']),
      expect: ['a'],
    },
    { title: 'name % lower case', lookups: s(['name', C.LIKE, 'alpha']), expect: ['b'] },
    { title: 'name % inner part', lookups: s(['name', C.LIKE, 'lpha']), expect: ['a', 'b'] },
    {
      title: 'name in',
      lookups: s(['name', C.IN, [`Alpha ${T}`, `Beta ${T}`, `Nobody ${T}`]]),
      expect: ['a', 'c'],
    },
    { title: 'name in []', lookups: s(['name', C.IN, []]), expect: [] },
    {
      title: 'name < (code point order: A < B < a)',
      lookups: s(['name', C.LT, `Beta ${T}`]),
      expect: ['a'],
    },
    { title: 'name <=', lookups: s(['name', C.LTE, `Beta ${T}`]), expect: ['a', 'c'] },
    { title: 'name >', lookups: s(['name', C.GT, `Beta ${T}`]), expect: ['b'] },
    { title: 'name >=', lookups: s(['name', C.GTE, `Beta ${T}`]), expect: ['b', 'c'] },
    { title: 'location ==', lookups: s(['location', C.EQUAL, `Kampala ${T}`]), expect: ['a'] },
    {
      title: 'location % (null matches nothing)',
      lookups: s(['location', C.LIKE, T]),
      expect: ['a', 'c'],
    },
    {
      title: 'location % is case-sensitive',
      lookups: s(['location', C.LIKE, 'kampala']),
      expect: [],
    },
    { title: 'location in', lookups: s(['location', C.IN, [`Gulu ${T}`, 'x']]), expect: ['c'] },
    { title: 'location <', lookups: s(['location', C.LT, `Kampala ${T}`]), expect: ['c'] },
    { title: 'location <=', lookups: s(['location', C.LTE, `Kampala ${T}`]), expect: ['a', 'c'] },
    { title: 'location >', lookups: s(['location', C.GT, `Gulu ${T}`]), expect: ['a'] },
    { title: 'location >=', lookups: s(['location', C.GTE, `Gulu ${T}`]), expect: ['a', 'c'] },
    { title: 'status ==', lookups: s(['status', C.EQUAL, 'A']), expect: ['a', 'c'] },
    { title: 'status % ', lookups: s(['status', C.LIKE, 'I']), expect: ['b'] },
    { title: 'status in', lookups: s(['status', C.IN, ['I', 'X']]), expect: ['b'] },
    { title: 'status <', lookups: s(['status', C.LT, 'I']), expect: ['a', 'c'] },
    { title: 'status <=', lookups: s(['status', C.LTE, 'A']), expect: ['a', 'c'] },
    { title: 'status >', lookups: s(['status', C.GT, 'A']), expect: ['b'] },
    { title: 'status >=', lookups: s(['status', C.GTE, 'A']), expect: ['a', 'b', 'c'] },
    { title: 'id ==', lookups: (fx) => [scope, ['id', C.EQUAL, fx.b!.id!]], expect: ['b'] },
    {
      title: 'id in',
      lookups: (fx) => [scope, ['id', C.IN, [fx.a!.id!, fx.c!.id!]]],
      expect: ['a', 'c'],
    },
    {
      title: 'id %',
      lookups: (fx) => [scope, ['id', C.LIKE, fx.a!.id!]],
      expect: (fx) => all(fx).filter((k) => fx[k]!.id!.includes(fx.a!.id!)),
    },
    ...(['<', '<=', '>', '>='] as const).map((op): FilterCase => ({
      title: `id ${op}`,
      lookups: (fx) => [scope, ['id', op, fx.b!.id!]],
      expect: (fx) =>
        all(fx).filter((k) => {
          const [x, y] = [fx[k]!.id!, fx.b!.id!];
          return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
        }),
    })),
    ...(['created_date', 'updated_date'] as const).flatMap((field): FilterCase[] => [
      {
        title: `${field} == one fixture's value`,
        lookups: (fx) => [scope, [field, C.EQUAL, fx.b![field]!]],
        expect: (fx) => byTime(fx, field, (t) => t === Date.parse(fx.b![field]!)),
      },
      {
        title: `${field} in two values`,
        lookups: (fx) => [scope, [field, C.IN, [fx.a![field]!, fx.c![field]!]]],
        expect: (fx) =>
          byTime(
            fx,
            field,
            (t) => t === Date.parse(fx.a![field]!) || t === Date.parse(fx.c![field]!),
          ),
      },
      {
        title: `${field} < a fixture's value`,
        lookups: (fx) => [scope, [field, C.LT, fx.b![field]!]],
        expect: (fx) => byTime(fx, field, (t) => t < Date.parse(fx.b![field]!)),
      },
      {
        title: `${field} <= a fixture's value (as a Date)`,
        lookups: (fx) => [scope, [field, C.LTE, new Date(fx.b![field]!)]],
        expect: (fx) => byTime(fx, field, (t) => t <= Date.parse(fx.b![field]!)),
      },
      {
        title: `${field} > a fixture's value`,
        lookups: (fx) => [scope, [field, C.GT, fx.b![field]!]],
        expect: (fx) => byTime(fx, field, (t) => t > Date.parse(fx.b![field]!)),
      },
      {
        title: `${field} >= a fixture's value`,
        lookups: (fx) => [scope, [field, C.GTE, fx.b![field]!]],
        expect: (fx) => byTime(fx, field, (t) => t >= Date.parse(fx.b![field]!)),
      },
      {
        title: `${field} >= 2000-01-01 (a date): all`,
        lookups: s([field, C.GTE, '2000-01-01']),
        expect: all,
      },
      {
        title: `${field} > the day after tomorrow: none`,
        lookups: s([field, C.GT, dayAfterTomorrow]),
        expect: [],
      },
      {
        title: `${field} % its own date part`,
        lookups: (fx) => [scope, [field, C.LIKE, fx.a![field]!.slice(0, 10)]],
        expect: (fx) => all(fx).filter((k) => fx[k]![field]!.includes(fx.a![field]!.slice(0, 10))),
      },
    ]),
    {
      title: 'AND on the same field',
      lookups: s(['name', C.GTE, `Alpha ${T}`], ['name', C.LT, `alpha ${T}`]),
      expect: ['a', 'c'],
    },
    {
      title: 'AND on two fields',
      lookups: s(['status', C.EQUAL, 'A'], ['location', C.LIKE, 'Gulu']),
      expect: ['c'],
    },
  ];
}

function patientCases(T: string): FilterCase[] {
  const scope: Lookup = ['name', C.LIKE, T];
  const s =
    (...lookups: Lookup[]) =>
    () => [scope, ...lookups];
  const c = (title: string, lookups: Lookup[], expect: string[]): FilterCase => ({
    title,
    lookups: s(...lookups),
    expect,
  });
  return [
    c('sex ==', [['sex', C.EQUAL, 'F']], ['b', 'c']),
    c('sex == M', [['sex', C.EQUAL, 'M']], ['a', 'e']),
    c('sex %', [['sex', C.LIKE, 'M']], ['a', 'e']),
    c('sex in (null matches nothing)', [['sex', C.IN, ['M', 'F']]], ['a', 'b', 'c', 'e']),
    c('sex <', [['sex', C.LT, 'M']], ['b', 'c']),
    c('sex <=', [['sex', C.LTE, 'M']], ['a', 'b', 'c', 'e']),
    c('sex >', [['sex', C.GT, 'F']], ['a', 'e']),
    c('sex >=', [['sex', C.GTE, 'F']], ['a', 'b', 'c', 'e']),
    c('birth_date ==', [['birth_date', C.EQUAL, '2000-01-15']], ['b', 'e']),
    c(
      'birth_date == a Date at midnight UTC',
      [['birth_date', C.EQUAL, new Date('2000-01-15T00:00:00Z')]],
      ['b', 'e'],
    ),
    c('birth_date % year', [['birth_date', C.LIKE, '2000-']], ['b', 'e']),
    c('birth_date % month', [['birth_date', C.LIKE, '-12-']], ['c']),
    c('birth_date in', [['birth_date', C.IN, ['1990-05-01', '2010-12-31']]], ['a', 'c']),
    c('birth_date <', [['birth_date', C.LT, '2000-01-15']], ['a']),
    c('birth_date <=', [['birth_date', C.LTE, '2000-01-15']], ['a', 'b', 'e']),
    c('birth_date >', [['birth_date', C.GT, '2000-01-15']], ['c']),
    c('birth_date >=', [['birth_date', C.GTE, '2000-01-15']], ['b', 'c', 'e']),
    c(
      'birth_date > a datetime later that day (by time)',
      [['birth_date', C.GT, '2000-01-14T23:00:00-05:00']],
      ['c'],
    ),
    c(
      'birth_date < a datetime later that day (by time)',
      [['birth_date', C.LT, '2000-01-15T04:00:00Z']],
      ['a', 'b', 'e'],
    ),
    c('death_date ==', [['death_date', C.EQUAL, '2020-03-01']], ['b']),
    c('death_date %', [['death_date', C.LIKE, '2021']], ['d']),
    c('death_date in', [['death_date', C.IN, ['2021-06-30', '1999-01-01']]], ['d']),
    c('death_date <', [['death_date', C.LT, '2021-01-01']], ['b']),
    c('death_date <=', [['death_date', C.LTE, '2021-06-30']], ['b', 'd']),
    c('death_date >', [['death_date', C.GT, '2021-06-30']], []),
    c('death_date > 1900 (nulls match nothing)', [['death_date', C.GT, '1900-01-01']], ['b', 'd']),
    c('death_date >=', [['death_date', C.GTE, '2020-03-01']], ['b', 'd']),
    c('name % non-ASCII', [['name', C.LIKE, 'Älpha']], ['d']),
    c('name == with accent is not the unaccented name', [['name', C.EQUAL, `Alpha ${T}`]], ['a']),
    c('name % a longer name', [['name', C.LIKE, `Alpha ${T} Jr`]], ['e']),
    c('location % within a longer value', [['location', C.LIKE, `Kampala ${T}`]], ['a', 'e']),
    c(
      'AND of range on birth_date',
      [
        ['birth_date', C.GTE, '1995-01-01'],
        ['birth_date', C.LTE, '2005-01-01'],
      ],
      ['b', 'e'],
    ),
    c(
      'AND of sex and birth_date',
      [
        ['sex', C.EQUAL, 'M'],
        ['birth_date', C.GTE, '2000-01-01'],
      ],
      ['e'],
    ),
    c(
      'AND of three fields',
      [
        ['status', C.EQUAL, 'I'],
        ['name', C.LIKE, 'lpha'],
        ['birth_date', C.IN, ['2000-01-15']],
      ],
      ['b', 'e'],
    ),
  ];
}

/** Patient fixtures a–c match the provider ones on the shared fields; d and e only exist for patients. */
function patientFixtures(T: string): Record<string, AnyRecord> {
  return {
    a: {
      name: `Alpha ${T}`,
      sex: 'M',
      birth_date: '1990-05-01',
      death_date: null,
      location: `Kampala ${T}`,
      status: 'A',
    },
    b: {
      name: `alpha ${T}`,
      sex: 'F',
      birth_date: '2000-01-15',
      death_date: '2020-03-01',
      location: null,
      status: 'I',
    },
    c: {
      name: `Beta ${T}`,
      sex: 'F',
      birth_date: '2010-12-31',
      death_date: null,
      location: `Gulu ${T}`,
      status: 'A',
    },
    d: {
      name: `Älpha ${T}`,
      sex: null,
      birth_date: null,
      death_date: '2021-06-30',
      location: `gulu ${T}`,
      status: 'A',
    },
    e: {
      name: `Alpha ${T} Jr`,
      sex: 'M',
      birth_date: '2000-01-15',
      death_date: null,
      location: `Kampala ${T} North`,
      status: 'I',
    },
  };
}

/**
 * The shared cases were written for fixtures a–c; patients add d and e, so
 * the expected keys of shared cases are recomputed for patients here by case title.
 */
const patientOverrides: Record<string, string[]> = {
  'name % (case-sensitive substring)': ['a', 'e'],
  'name % inner part': ['a', 'b', 'd', 'e'],
  'name < (code point order: A < B < a)': ['a', 'e'],
  'name <=': ['a', 'c', 'e'],
  'name >': ['b', 'd'],
  'name >=': ['b', 'c', 'd'],
  'location % (null matches nothing)': ['a', 'c', 'd', 'e'],
  'location <': ['c'],
  'location <=': ['a', 'c'],
  'location >': ['a', 'd', 'e'],
  'location >=': ['a', 'c', 'd', 'e'],
  'status ==': ['a', 'c', 'd'],
  'status % ': ['b', 'e'],
  'status in': ['b', 'e'],
  'status <': ['a', 'c', 'd'],
  'status <=': ['a', 'c', 'd'],
  'status >': ['b', 'e'],
  'status >=': ['a', 'b', 'c', 'd', 'e'],
  'AND on the same field': ['a', 'c', 'e'],
  'AND on two fields': ['c'],
  'location % is case-sensitive': [],
};

/** The shared cases with the expectations that differ once patients d and e exist. */
function withOverrides(cases: FilterCase[], overrides: Record<string, string[]>): FilterCase[] {
  return cases.map((fc) => (fc.title in overrides ? { ...fc, expect: overrides[fc.title]! } : fc));
}

const patientUnderTest: ModelUnderTest = {
  label: 'patient',
  fields: patientFields,
  ops: (storage) => ({
    get: (id) => storage.getPatient(id) as Promise<AnyRecord | null>,
    create: (data) => storage.createPatient(data as never) as Promise<AnyRecord>,
    update: (id, data) => storage.updatePatient(id, data as never),
    remove: (id) => storage.deletePatient(id),
    filter: (...lookups) => storage.filterPatients(...lookups) as Promise<AnyRecord[]>,
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

const providerUnderTest: ModelUnderTest = {
  label: 'provider',
  fields: providerFields,
  ops: (storage) => ({
    get: (id) => storage.getProvider(id) as Promise<AnyRecord | null>,
    create: (data) => storage.createProvider(data as never) as Promise<AnyRecord>,
    update: (id, data) => storage.updateProvider(id, data as never),
    remove: (id) => storage.deleteProvider(id),
    filter: (...lookups) => storage.filterProviders(...lookups) as Promise<AnyRecord[]>,
  }),
  sample: (name) => ({ name, location: 'Clinic 7', status: 'I' }),
  changes: { location: 'Ward 9', status: 'A' },
  fixtures: (T) => {
    const { a, b, c } = patientFixtures(T);
    const pick = (r: AnyRecord) => ({ name: r.name!, location: r.location!, status: r.status! });
    return { a: pick(a!), b: pick(b!), c: pick(c!) };
  },
  cases: commonCases,
  invalid: [...commonInvalid(), ['sex is not a provider field', { sex: 'M' }]],
};

function recordSuite(
  runner: TestRunner,
  getStorage: () => HealthcareStorage,
  token: string,
  model: ModelUnderTest,
): void {
  const { describe, it, before } = runner;
  let m: ModelUnderTest & ModelOps;
  before(() => {
    m = { ...model, ...model.ops(getStorage()) };
  });

  describe('create and get', () => {
    it('create returns the complete stored record, equal to get', async () => {
      const data = m.sample(`Create ${token}`);
      const created = await m.create(data);
      assertCompleteRecord(created, m.fields);
      for (const [field, value] of Object.entries(data)) assert.equal(created[field], value, field);
      assert.deepEqual(await m.get(created.id!), created);
    });

    it('only a name: status defaults to A, every other field null', async () => {
      const created = await m.create({ name: `Minimal ${token}` });
      assertCompleteRecord(created, m.fields);
      assert.equal(created.status, 'A');
      for (const field of m.fields) {
        if (!['id', 'name', 'status', 'created_date', 'updated_date'].includes(field)) {
          assert.equal(created[field], null, `${field} is null`);
        }
      }
      assert.deepEqual(await m.get(created.id!), created);
    });

    it('values with , | $ \\ % quotes and non-ASCII text round-trip exactly and are found by ==', async () => {
      const tricky = `O'Brien "Zoë" ${token} a,b|c$d\\e%f_g*h 李雷 😀`;
      const location = `x,y|z$w\\v%u "q" Ñandú ${token}`;
      const created = await m.create({ ...m.sample(tricky), location });
      assert.equal(created.name, tricky);
      assert.equal(created.location, location);
      const fetched = await m.get(created.id!);
      assert.equal(fetched?.name, tricky);
      assert.equal(fetched?.location, location);
      assert.deepEqual(keysOf({ t: created }, await m.filter(['name', C.EQUAL, tricky])), ['t']);
      assert.deepEqual(keysOf({ t: created }, await m.filter(['location', C.EQUAL, location])), [
        't',
      ]);
      assert.deepEqual(
        keysOf(
          { t: created },
          await m.filter(['name', C.LIKE, `a,b|c$d\\e%f`], ['name', C.LIKE, token]),
        ),
        ['t'],
      );
      assert.deepEqual(
        keysOf({ t: created }, await m.filter(['name', C.IN, [tricky, `${tricky}x`]])),
        ['t'],
      );
    });

    it('strings order by code point: U+FF5A sorts before U+1F600 (unlike UTF-16 units)', async () => {
      const scope = `cp${token}`;
      const fullwidth = await m.create(m.sample(`${scope} \uFF5A`));
      const emoji = await m.create(m.sample(`${scope} 😀`));
      const fx = { fullwidth, emoji };
      const below = await m.filter(['name', C.LIKE, scope], ['name', C.LT, `${scope} 😀`]);
      assert.deepEqual(keysOf(fx, below), ['fullwidth']);
      const above = await m.filter(['name', C.LIKE, scope], ['name', C.GT, `${scope} \uFF5A`]);
      assert.deepEqual(keysOf(fx, above), ['emoji']);
    });

    it('returned records are copies: changing one changes nothing stored', async () => {
      const created = await m.create(m.sample(`Copy ${token}`));
      const expected = { ...created };
      created.name = 'mutated';
      const fetched = await m.get(created.id!);
      assert.deepEqual(fetched, expected);
      fetched!.location = 'mutated';
      assert.deepEqual(await m.get(created.id!), expected);
    });

    it('a missing id, and ids that look like paths or queries, are missing', async () => {
      const created = await m.create(m.sample(`Missing ${token}`));
      for (const id of [
        `${created.id}-missing`,
        `nope-${token}`,
        ...pathLikeIds,
        `${created.id}/_history/1`,
        `${created.id}?_format=xml`,
      ]) {
        assert.equal(await m.get(id), null, `get ${JSON.stringify(id)}`);
        assert.equal(
          await m.update(id, { name: `Changed ${token}` }),
          false,
          `update ${JSON.stringify(id)}`,
        );
        assert.equal(await m.remove(id), false, `delete ${JSON.stringify(id)}`);
      }
      assert.deepEqual(await m.get(created.id!), created, 'nothing else changed');
    });
  });

  describe('update', () => {
    it('a partial update changes only the given fields; updated_date increases, created_date stays', async () => {
      const created = await m.create(m.sample(`Update ${token}`));
      assert.equal(await m.update(created.id!, m.changes), true);
      const after = await m.get(created.id!);
      assert.ok(after);
      assert.deepEqual(after, {
        ...created,
        ...m.changes,
        updated_date: after.updated_date,
      });
      assert.ok(after.updated_date! > created.updated_date!, 'updated_date increased');
      assert.equal(after.created_date, created.created_date);
    });

    it('updated_date strictly increases over quick successive updates', async () => {
      const created = await m.create(m.sample(`Quick ${token}`));
      let previous = created.updated_date!;
      for (const location of ['L1', 'L2', 'L3']) {
        assert.equal(await m.update(created.id!, { location }), true);
        const now = (await m.get(created.id!))!.updated_date!;
        assert.ok(now > previous, `${now} > ${previous}`);
        previous = now;
      }
    });

    it('the name can change and an optional field can be cleared with null', async () => {
      const created = await m.create(m.sample(`Rename ${token}`));
      assert.equal(await m.update(created.id!, { name: `Renamed ${token}`, location: null }), true);
      const after = await m.get(created.id!);
      assert.equal(after?.name, `Renamed ${token}`);
      assert.equal(after?.location, null);
    });

    it('an empty update is true and keeps every field', async () => {
      const created = await m.create(m.sample(`Empty ${token}`));
      assert.equal(await m.update(created.id!, {}), true);
      const after = await m.get(created.id!);
      assert.deepEqual({ ...after, updated_date: null }, { ...created, updated_date: null });
    });

    it('two concurrent updates of different fields are both kept', async () => {
      const created = await m.create(m.sample(`Concurrent ${token}`));
      const results = await Promise.all([
        m.update(created.id!, { location: `Both ${token}` }),
        m.update(created.id!, { status: 'A' }),
        m.update(created.id!, { name: `Concurrent ${token} renamed` }),
      ]);
      assert.deepEqual(results, [true, true, true]);
      const after = await m.get(created.id!);
      assert.equal(after?.location, `Both ${token}`);
      assert.equal(after?.status, 'A');
      assert.equal(after?.name, `Concurrent ${token} renamed`);
    });
  });

  describe('delete', () => {
    it('delete is true once, then the record is gone everywhere', async () => {
      const created = await m.create(m.sample(`Delete ${token}`));
      assert.equal(await m.remove(created.id!), true);
      assert.equal(await m.get(created.id!), null);
      assert.equal(await m.remove(created.id!), false);
      assert.equal(await m.update(created.id!, { location: 'x' }), false);
      assert.deepEqual(await m.filter(['name', C.EQUAL, `Delete ${token}`]), []);
    });
  });

  describe('validation: bad input is a ValidationError and writes nothing', () => {
    it('create without a name', async () => {
      const name = `NoName ${token}`;
      const { name: _omit, ...rest } = m.sample(name);
      await rejectsValidation(m.create(rest), 'create without name');
      await rejectsValidation(m.create({ ...rest, location: name }), 'create without name');
      assert.deepEqual(await m.filter(['location', C.EQUAL, name]), []);
    });

    it('a record that is not an object', async () => {
      for (const data of [null, 'name', 42, ['name', 'x']]) {
        await rejectsValidation(m.create(data), `create(${JSON.stringify(data)})`);
      }
    });

    it('each invalid field, on create and on update', async () => {
      const existing = await m.create(m.sample(`Valid ${token}`));
      let n = 0;
      for (const [what, bad] of m.invalid) {
        const name = `Invalid ${n++} ${token}`;
        const data = { ...m.sample(name), ...(bad as object) };
        await rejectsValidation(m.create(data), `create with ${what}`);
        assert.deepEqual(
          await m.filter(['name', C.EQUAL, name]),
          [],
          `nothing created for ${what}`,
        );
        await rejectsValidation(m.update(existing.id!, bad), `update with ${what}`);
      }
      assert.deepEqual(await m.get(existing.id!), existing, 'failed updates changed nothing');
    });

    it('an invalid update with valid fields beside it writes none of them', async () => {
      const existing = await m.create(m.sample(`Atomic ${token}`));
      await rejectsValidation(
        m.update(existing.id!, { location: 'Changed', status: 'nope' }),
        'partial bad update',
      );
      assert.deepEqual(await m.get(existing.id!), existing);
    });

    it('bad lookups', async () => {
      const bad: [string, unknown[]][] = [
        ['unknown field', ['favourite_colour', C.EQUAL, 'blue']],
        ['unknown operator', ['name', '~', 'x']],
        ['IN without an array', ['name', C.IN, 'Joe']],
        ['array without IN', ['name', C.EQUAL, ['Joe']]],
        ['number value', ['name', C.EQUAL, 5]],
        ['null value', ['location', C.EQUAL, null]],
        ['date that does not parse', ['created_date', C.GT, 'yesterday']],
        ['not a calendar date', ['updated_date', C.LT, '2021-02-30']],
        ['a datetime without a zone', ['created_date', C.LT, '2021-02-03T10:00:00']],
        ['an invalid Date', ['created_date', C.LT, new Date('nope')]],
        ['IN with a bad date', ['updated_date', C.IN, ['2021-01-01', 'soon']]],
        ['not a triple', ['name', C.EQUAL]],
      ];
      for (const [what, lookup] of bad) {
        await rejectsValidation(m.filter(lookup as unknown as Lookup), what);
      }
    });
  });

  describe('filter: every operator on every field', () => {
    // The fixtures' own token, so the records the other cases make stay out of these results.
    const fixtureToken = `fx${token}`;
    let fx: Fixtures;
    before(async () => {
      fx = {};
      for (const [key, data] of Object.entries(m.fixtures(fixtureToken))) {
        fx[key] = await m.create(data);
        // Apart in time, so the created_date/updated_date ranges below tell the fixtures apart.
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    });

    it('no lookups returns every record, fixtures included', async () => {
      const all = await m.filter();
      const ids = new Set(all.map((r) => r.id));
      assert.equal(ids.size, all.length, 'no record twice');
      for (const [key, record] of Object.entries(fx))
        assert.ok(ids.has(record.id), `fixture ${key} listed`);
      for (const record of all) assertCompleteRecord(record, m.fields);
    });

    it('filtered records equal what get returns', async () => {
      const found = await m.filter(['name', C.LIKE, fixtureToken], ['id', C.EQUAL, fx.a!.id!]);
      assert.deepEqual(found, [await m.get(fx.a!.id!)]);
    });

    for (const fc of model.cases(fixtureToken)) {
      it(fc.title, async () => {
        const expected = typeof fc.expect === 'function' ? fc.expect(fx) : fc.expect;
        assert.deepEqual(keysOf(fx, await m.filter(...fc.lookups(fx))), [...expected].sort());
      });
    }
  });
}

function linkSuite(runner: TestRunner, getStorage: () => HealthcareStorage, token: string): void {
  const { it } = runner;
  const newPatient = (label: string) => getStorage().createPatient({ name: `${label} ${token}` });
  const source = `clinic-${token}`;

  it('link creates the association; get by source finds the patient', async () => {
    const s = getStorage();
    const p = await newPatient('Linked');
    assert.equal(await s.linkPatient(p.id, 'ext-1', source), true);
    assert.deepEqual(await s.getPatient('ext-1', source), await s.getPatient(p.id));
    if (s.getPatientLinks) {
      assert.deepEqual(await s.getPatientLinks(p.id), [
        { source_id: 'ext-1', source_name: source },
      ]);
    }
  });

  it('linking keeps the record fields', async () => {
    const s = getStorage();
    const p = await s.createPatient({
      name: `Keep ${token}`,
      sex: 'F',
      birth_date: '2001-01-01',
      location: 'L',
    });
    assert.equal(await s.linkPatient(p.id, 'keep-1', source), true);
    const after = await s.getPatient(p.id);
    assert.deepEqual({ ...after, updated_date: null }, { ...p, updated_date: null });
  });

  it('the same pair twice is false; on another patient it is false and stays with the first', async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Pair P'), await newPatient('Pair Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-2', source), true);
    assert.equal(await s.linkPatient(p.id, 'ext-2', source), false);
    assert.equal(await s.linkPatient(q.id, 'ext-2', source), false);
    assert.equal((await s.getPatient('ext-2', source))?.id, p.id);
    if (s.getPatientLinks) assert.deepEqual(await s.getPatientLinks(q.id), []);
  });

  it('the same source id under another source name is another pair', async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Names P'), await newPatient('Names Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-3', source), true);
    assert.equal(await s.linkPatient(q.id, 'ext-3', `${source}-other`), true);
    assert.equal((await s.getPatient('ext-3', source))?.id, p.id);
    assert.equal((await s.getPatient('ext-3', `${source}-other`))?.id, q.id);
    assert.equal(await s.getPatient('ext-3', `${source}-third`), null);
  });

  it('a patient can hold several links', async () => {
    const s = getStorage();
    const p = await newPatient('Several');
    assert.equal(await s.linkPatient(p.id, 'sev-1', source), true);
    assert.equal(await s.linkPatient(p.id, 'sev-2', source), true);
    assert.equal(await s.linkPatient(p.id, 'sev-1', `${source}-b`), true);
    if (s.getPatientLinks) {
      const links = (await s.getPatientLinks(p.id))!
        .map((l) => `${l.source_name}/${l.source_id}`)
        .sort();
      assert.deepEqual(links, [`${source}-b/sev-1`, `${source}/sev-1`, `${source}/sev-2`]);
    }
    for (const id of ['sev-1', 'sev-2']) assert.equal((await s.getPatient(id, source))?.id, p.id);
  });

  it('link to a missing patient, or an id like a path, is false and links nothing', async () => {
    const s = getStorage();
    for (const id of [`missing-${token}`, ...pathLikeIds]) {
      assert.equal(await s.linkPatient(id, 'ext-4', source), false, JSON.stringify(id));
      assert.equal(await s.unlinkPatient(id, 'ext-4', source), false, JSON.stringify(id));
      if (s.getPatientLinks) assert.equal(await s.getPatientLinks(id), null, JSON.stringify(id));
    }
    assert.equal(await s.getPatient('ext-4', source), null);
  });

  it('unlink: wrong patient or wrong pair is false; the right one is true once', async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Unlink P'), await newPatient('Unlink Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-5', source), true);
    assert.equal(await s.unlinkPatient(q.id, 'ext-5', source), false, 'from the wrong patient');
    assert.equal(await s.unlinkPatient(p.id, 'ext-5x', source), false, 'wrong source id');
    assert.equal(await s.unlinkPatient(p.id, 'ext-5', `${source}x`), false, 'wrong source name');
    assert.equal((await s.getPatient('ext-5', source))?.id, p.id, 'still linked');
    assert.equal(await s.unlinkPatient(p.id, 'ext-5', source), true);
    assert.equal(await s.unlinkPatient(p.id, 'ext-5', source), false);
    assert.equal(await s.getPatient('ext-5', source), null);
    assert.ok(await s.getPatient(p.id), 'the patient itself stays');
  });

  it('unlink removes only that pair', async () => {
    const s = getStorage();
    const p = await newPatient('Only');
    assert.equal(await s.linkPatient(p.id, 'only-1', source), true);
    assert.equal(await s.linkPatient(p.id, 'only-2', source), true);
    assert.equal(await s.unlinkPatient(p.id, 'only-1', source), true);
    assert.equal(await s.getPatient('only-1', source), null);
    assert.equal((await s.getPatient('only-2', source))?.id, p.id);
  });

  it('after unlink the pair can be linked again, to another patient', async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Relink P'), await newPatient('Relink Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-6', source), true);
    assert.equal(await s.unlinkPatient(p.id, 'ext-6', source), true);
    assert.equal(await s.linkPatient(q.id, 'ext-6', source), true);
    assert.equal((await s.getPatient('ext-6', source))?.id, q.id);
  });

  it("a deleted patient's pairs are freed", async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Deleted P'), await newPatient('Deleted Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-7', source), true);
    assert.equal(await s.deletePatient(p.id), true);
    assert.equal(await s.getPatient('ext-7', source), null);
    assert.equal(await s.linkPatient(q.id, 'ext-7', source), true);
    assert.equal((await s.getPatient('ext-7', source))?.id, q.id);
  });

  it('a blank source id or source name is a ValidationError, and links nothing', async () => {
    const s = getStorage();
    const p = await newPatient('Blank');
    for (const [id, name] of [
      ['', source],
      ['  ', source],
      ['blank-1', ''],
      ['blank-1', ' \t'],
    ]) {
      await rejectsValidation(
        s.linkPatient(p.id, id!, name!),
        `link ${JSON.stringify([id, name])}`,
      );
      await rejectsValidation(
        s.unlinkPatient(p.id, id!, name!),
        `unlink ${JSON.stringify([id, name])}`,
      );
      await rejectsValidation(s.getPatient(id!, name!), `get by ${JSON.stringify([id, name])}`);
    }
    if (s.getPatientLinks) assert.deepEqual(await s.getPatientLinks(p.id), []);
  });

  it('get by source with an unknown pair is null', async () => {
    const s = getStorage();
    assert.equal(await s.getPatient(`never-${token}`, source), null);
    assert.equal(await s.getPatient('ext-1', `never-${token}`), null);
  });

  it('source ids and names with , | $ \\ : / spaces and non-ASCII round-trip', async () => {
    const s = getStorage();
    const p = await newPatient('Tricky link');
    const pairs: [string, string][] = [
      ['a|b,c$d\\e', `${source}|x`],
      ['id with spaces/and:colons', `urn:oid:1.2.3 ${token}`],
      ['Ñandú-李', `Clinic Ünïcode ${token}`],
      ['?x=1&y=2', `https://example.org/ids/${token}?v=1`],
    ];
    for (const [id, name] of pairs) {
      assert.equal(await s.linkPatient(p.id, id, name), true, `${id} @ ${name}`);
      assert.equal((await s.getPatient(id, name))?.id, p.id, `${id} @ ${name}`);
    }
    if (s.getPatientLinks) {
      const links = (await s.getPatientLinks(p.id))!.map((l) => [l.source_id, l.source_name]);
      assert.deepEqual(
        links.map((l) => JSON.stringify(l)).sort(),
        pairs.map((l) => JSON.stringify(l)).sort(),
      );
    }
    assert.equal(
      await s.getPatient('a|b', `${source}|x`),
      null,
      'no partial match of an escaped value',
    );
  });

  it('two racing links of one pair to two patients: exactly one wins', async () => {
    const s = getStorage();
    const patients = await Promise.all([
      newPatient('Race P'),
      newPatient('Race Q'),
      newPatient('Race R'),
    ]);
    const results = await Promise.all(patients.map((p) => s.linkPatient(p.id, 'race-1', source)));
    assert.equal(results.filter(Boolean).length, 1, `exactly one true: ${results}`);
    const winner = patients[results.indexOf(true)]!;
    assert.equal((await s.getPatient('race-1', source))?.id, winner.id);
  });
}

/**
 * Registers the whole suite with the test runner.
 *
 * ```ts
 * import { runConformanceSuite } from 'healthcare-fhir/testing';
 * runConformanceSuite('MyStorage', () => new MyStorage());
 * ```
 */
export function runConformanceSuite(
  label: string,
  factory: () => HealthcareStorage | Promise<HealthcareStorage>,
  options: ConformanceOptions = {},
): void {
  const runner = options.runner ?? nodeTestRunner;
  const token = `cf${randomBytes(5).toString('hex')}`;
  let storage: HealthcareStorage | undefined;
  const getStorage = () => {
    if (!storage) throw new Error('the storage factory has not run');
    return storage;
  };

  runner.describe(`${label} conformance`, () => {
    runner.before(async () => {
      storage = await factory();
    });
    runner.after(async () => {
      if (storage && options.teardown) await options.teardown(storage);
    });
    runner.describe('patients', () => recordSuite(runner, getStorage, token, patientUnderTest));
    runner.describe('providers', () => recordSuite(runner, getStorage, token, providerUnderTest));
    runner.describe('patient links', () => linkSuite(runner, getStorage, token));
  });
}

export type { LookupValue, PatientRecord, ProviderRecord };
