/**
 * The hostile-input corpus: requests an attacker or a careless client sends to
 * the facade, grouped by kind. Each case is raw HTTP (path sent as written, never
 * normalised, body as bytes), so dot segments and bad encodings reach the app.
 * `{patient}` in a path stands for a patient the corpus run created first.
 */
import { randomBytes } from 'node:crypto';
import type { RawRequest } from './helpers.js';
import { patientModel, providerModel } from '../../src/api/models.js';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

/** Link pairs are unique across the whole FHIR server (every scope), so this run's source ids carry a token. */
const run = `-${randomBytes(3).toString('hex')}`;

export type HostileRequest = RawRequest;

export interface CorpusGroup {
  name: string;
  cases: HostileRequest[];
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
/** A JSON body given as text, for what JSON.stringify cannot produce (duplicate or `__proto__` keys). */
const rawJson = (text: string): Buffer => Buffer.from(text);

const jsonHeaders = { 'content-type': 'application/json' };

function request(method: string, path: string, body?: Buffer, headers = {}): HostileRequest {
  return body === undefined
    ? { method, path, headers }
    : { method, path, body, headers: { ...jsonHeaders, ...headers } };
}

/** Id path segments as sent on the wire: dot segments (plain and percent-encoded), path-, query- and FHIR-like ids. */
export const hostileIds = [
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '.%2E',
  '...',
  '..%2f',
  '%2e%2e%2f',
  '%2e%2e%2fmetadata',
  '..%2FPatient',
  'a%2Fb',
  '%2F',
  '%5C',
  '..%5C',
  '_history',
  '%3Fx%3D1',
  '%23frag',
  '%20',
  'x%00',
  '%ZZ',
  '%ED%A0%80',
  '%C3%A9',
  'a'.repeat(65),
  '-',
  '$everything',
  '%24meta',
  'metadata',
  '{patient}%2F_history%2F1',
  '{patient}%3F_format%3Dxml',
  '{patient}.',
];

function idGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const patch = json({ status: 'I' });
  const link = json({ source_id: 'hostile-id', source_name: 'corpus' });
  for (const id of hostileIds) {
    for (const collection of ['patients', 'providers']) {
      cases.push(request('GET', `/${collection}/${id}`));
      cases.push(request('PATCH', `/${collection}/${id}`, patch));
      cases.push(request('DELETE', `/${collection}/${id}`));
    }
    cases.push(request('GET', `/patients/${id}?source=corpus`));
    cases.push(request('GET', `/patients/${id}/links`));
    cases.push(request('POST', `/patients/${id}/links`, link));
    cases.push(request('DELETE', `/patients/${id}/links?source_id=hostile-id&source_name=corpus`));
    cases.push(request('DELETE', `/patients/{patient}/links?source_id=${id}&source_name=${id}`));
    cases.push(request('GET', `/patients/${id}?source=${id}`));
  }
  return { name: 'dot and path-like ids on every route with an id', cases };
}

/** Characters with a meaning in FHIR search values, URLs, SQL LIKE or JSON. */
export const significantCharacters = [
  ',',
  '|',
  '$',
  '\\',
  '%',
  '_',
  '*',
  '&',
  '=',
  '?',
  '#',
  '+',
  ':',
  ';',
  '"',
  "'",
  '<',
  '>',
  '/',
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  '..',
  '\t',
  'é',
  'ÉCOLE',
  '😀',
  '\uFFFD',
  ':contains',
  ':exact',
  ':missing',
];

const q = encodeURIComponent;
const stringFields = ['name', 'location'];
const patientFields = Object.keys(patientModel.fields);
const providerFields = Object.keys(providerModel.fields);
const suffixes = ['', '__exact', '__like', '__in', '__lt', '__lte', '__gt', '__gte'];
const operators = ['==', '%', 'in', '<', '<=', '>', '>='];

function charactersGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  for (const c of significantCharacters) {
    const text = `Hx${c}y`;
    cases.push(request('POST', '/patients', json({ name: text, location: `L${c}` })));
    cases.push(request('POST', '/providers', json({ name: text, location: `L${c}` })));
    for (const field of ['sex', 'status', 'birth_date', 'death_date']) {
      cases.push(request('POST', '/patients', json({ name: 'Hx', [field]: c })));
    }
    for (const [collection, fields] of [
      ['patients', patientFields],
      ['providers', providerFields],
    ] as const) {
      fields.forEach((field, f) => {
        // every suffix on the string fields; on the others, one suffix per character, rotating
        const sent = stringFields.includes(field)
          ? suffixes
          : [suffixes[(f + significantCharacters.indexOf(c)) % suffixes.length]!];
        for (const suffix of sent) {
          cases.push(request('GET', `/${collection}?${field}${suffix}=${q(text)}`));
        }
        const lookups = operators.map((op) => [field, op, op === 'in' ? [text, `Hx`] : text]);
        cases.push(request('POST', `/${collection}/_search`, json({ lookups })));
      });
      for (const field of stringFields) {
        cases.push(request('GET', `/${collection}?${field}__like=${q(c)}`));
        cases.push(request('GET', `/${collection}?${field}=${q(`L${c}`)}`));
        cases.push(request('GET', `/${collection}?${field}__in=${q(text)}&${field}__in=${q(c)}`));
      }
    }
    cases.push(
      request(
        'POST',
        '/patients/{patient}/links',
        json({ source_id: `${c}${run}`, source_name: c }),
      ),
    );
    cases.push(request('GET', `/patients/${q(`${c}${run}`)}?source=${q(c)}`));
    cases.push(request('GET', '/patients/{patient}/links'));
  }
  return { name: 'FHIR-significant characters in every field and lookup', cases };
}

export const boundaryDates = [
  '0001-01-01',
  '0001-01-02',
  '9999-12-31',
  '9999-12-30',
  '0000-01-01',
  '0000-12-31',
  '10000-01-01',
  '+010000-01-01',
  '-000001-01-01',
  '1970-01-01',
  '2024-02-29',
  '2023-02-29',
  '2024-13-01',
  '2024-00-10',
  '2024-1-1',
  '20240101',
  '0001-01-01T00:00:00Z',
  '0001-01-01T00:00:00+14:00',
  '0001-01-01T00:00:00-14:00',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59.999-14:00',
  '9999-12-31T23:59:59+14:00',
  '2024-01-01T00:00',
  '2024-01-01T25:00:00Z',
  '2024-01-01T00:00:00.123456789Z',
  '2024-01-01 00:00:00Z',
  'now',
  '',
  ' 2024-01-01',
  '2024-01-01\u0000',
];

function datesGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const dateFields = {
    patients: ['birth_date', 'death_date', 'created_date', 'updated_date'],
    providers: ['created_date', 'updated_date'],
  };
  for (const date of boundaryDates) {
    for (const [collection, fields] of Object.entries(dateFields)) {
      for (const field of fields) {
        for (const suffix of suffixes)
          cases.push(request('GET', `/${collection}?${field}${suffix}=${q(date)}`));
        cases.push(
          request(
            'POST',
            `/${collection}/_search`,
            json({ lookups: operators.map((op) => [field, op, op === 'in' ? [date] : date]) }),
          ),
        );
      }
    }
    cases.push(request('POST', '/patients', json({ name: 'Dates', birth_date: date })));
    cases.push(request('PATCH', '/patients/{patient}', json({ death_date: date })));
  }
  // every record written with a boundary date is found by the boundary bounds
  for (const field of ['birth_date', 'death_date']) {
    for (const bound of ['0001-01-01', '9999-12-31']) {
      for (const suffix of ['__lt', '__lte', '__gt', '__gte', '']) {
        cases.push(request('GET', `/patients?${field}${suffix}=${bound}`));
      }
    }
  }
  return { name: 'boundary and malformed dates on every date field and operator', cases };
}

/** JSON texts holding strings that are not well-formed Unicode (lone or reversed surrogates). */
export const illFormed = ['\\ud800', 'x\\ud800', '\\udfffx', '\\udc00\\ud800', 'a\\ud83d'];

function unicodeGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  for (const s of illFormed) {
    for (const collection of ['patients', 'providers']) {
      cases.push(request('POST', `/${collection}`, rawJson(`{"name":"${s}"}`)));
      cases.push(request('POST', `/${collection}`, rawJson(`{"name":"ok","location":"${s}"}`)));
      cases.push(
        request('POST', `/${collection}/_search`, rawJson(`{"lookups":[["name","==","${s}"]]}`)),
      );
      cases.push(
        request('POST', `/${collection}/_search`, rawJson(`{"lookups":[["name","%","${s}"]]}`)),
      );
      cases.push(
        request(
          'POST',
          `/${collection}/_search`,
          rawJson(`{"lookups":[["location","in",["a","${s}"]]]}`),
        ),
      );
      cases.push(
        request('POST', `/${collection}/_search`, rawJson(`{"lookups":[["${s}","==","a"]]}`)),
      );
      cases.push(
        request('POST', `/${collection}/_search`, rawJson(`{"lookups":[["id","in",["${s}"]]]}`)),
      );
    }
    cases.push(request('PATCH', '/patients/{patient}', rawJson(`{"name":"${s}"}`)));
    cases.push(request('PATCH', '/patients/{patient}', rawJson(`{"location":"${s}"}`)));
    cases.push(
      request(
        'POST',
        '/patients/{patient}/links',
        rawJson(`{"source_id":"${s}","source_name":"n"}`),
      ),
    );
    cases.push(
      request(
        'POST',
        '/patients/{patient}/links',
        rawJson(`{"source_id":"i","source_name":"${s}"}`),
      ),
    );
  }
  // invalid UTF-8 in the body, the path and the query (decoded as U+FFFD or refused)
  const badUtf8 = Buffer.concat([
    Buffer.from('{"name":"a'),
    Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]),
    Buffer.from('"}'),
  ]);
  cases.push(request('POST', '/patients', badUtf8));
  cases.push(request('GET', '/patients?name=%ED%A0%80'));
  cases.push(request('GET', '/patients?name__like=%FF'));
  cases.push(request('GET', '/patients/%ED%A0%80?source=%ED%A0%80'));
  cases.push(request('DELETE', '/patients/{patient}/links?source_id=%ED%A0%80&source_name=%FF'));
  return { name: 'ill-formed Unicode in every string', cases };
}

function bulkGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const many = <T>(n: number, f: (i: number) => T): T[] =>
    Array.from({ length: n }, (_, i) => f(i));
  for (const collection of ['patients', 'providers']) {
    const search = (lookups: unknown[]) =>
      request('POST', `/${collection}/_search`, json({ lookups }));
    for (const n of [808]) {
      cases.push(search([['name', 'in', many(n, (i) => `Name ${i} Hx`)]]));
      cases.push(search([['location', 'in', many(n, (i) => `Place,${i}|x`)]]));
      cases.push(search([['id', 'in', many(n, (i) => `zz${i}`)]]));
      cases.push(
        search([
          [
            'updated_date',
            'in',
            many(n, (i) => `2001-01-${String((i % 28) + 1).padStart(2, '0')}`),
          ],
        ]),
      );
      cases.push(search([['status', 'in', many(n, (i) => (i % 2 ? 'A' : 'I'))]]));
    }
    cases.push(search(many(111, (i) => ['name', '%', `x${i}`])));
    cases.push(search(many(300, () => ['name', '%', 'Hx'])));
    cases.push(search(many(200, (i) => ['location', '==', `Lx${i}`])));
    cases.push(
      search(
        many(150, (i) => [
          'created_date',
          '>=',
          `2001-01-${String((i % 28) + 1).padStart(2, '0')}`,
        ]),
      ),
    );
    // a long query string the facade accepts (under Node's 16 KB header limit)
    cases.push(request('GET', `/${collection}?${many(700, (i) => `name__in=N${i}`).join('&')}`));
    cases.push(
      request('GET', `/${collection}?${many(600, (i) => `location__in=%2C${i}%7C`).join('&')}`),
    );
    // and one over it
    cases.push(request('GET', `/${collection}?${many(3000, (i) => `name__in=N${i}`).join('&')}`));
  }
  return { name: 'huge IN lists, many lookups and long query strings', cases };
}

function typesGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const wrong = [1, 0, -1.5, true, false, [], ['x'], {}, { name: 'x' }, Number.MAX_VALUE];
  for (const collection of ['patients', 'providers']) {
    const fields = collection === 'patients' ? patientFields : providerFields;
    for (const field of fields.concat(['nonexistent'])) {
      for (const value of wrong) {
        cases.push(request('POST', `/${collection}`, json({ name: 'Types', [field]: value })));
        cases.push(
          request('POST', `/${collection}/_search`, json({ lookups: [[field, '==', value]] })),
        );
        cases.push(
          request('POST', `/${collection}/_search`, json({ lookups: [[field, 'in', [value]]] })),
        );
      }
    }
    for (const body of [
      '[]',
      '"x"',
      '1',
      'null',
      'true',
      '[{"name":"x"}]',
      '{"name":"a","name":"b"}',
    ]) {
      cases.push(request('POST', `/${collection}`, rawJson(body)));
      cases.push(request('POST', `/${collection}/_search`, rawJson(body)));
    }
    for (const lookups of [
      null,
      'name',
      {},
      [null],
      [[]],
      [['name']],
      [['name', '==']],
      [['name', '==', 'x', 'y']],
      [[1, '==', 'x']],
      [['name', 1, 'x']],
      [['name', 'in', 'x']],
      [['name', 'in', [['x']]]],
      [['name', 'in', {}]],
      [['name', '==', null]],
      [['name', 'LIKE', 'x']],
      [['name', '!=', 'x']],
    ]) {
      cases.push(request('POST', `/${collection}/_search`, json({ lookups })));
    }
    cases.push(request('POST', `/${collection}/_search`, json({ lookups: [], extra: 1 })));
  }
  for (const link of [
    { source_id: 1, source_name: 'x' },
    { source_id: 'x' },
    [],
    'x',
    { source_id: ['x'], source_name: {} },
  ]) {
    cases.push(request('POST', '/patients/{patient}/links', json(link)));
  }
  cases.push(request('PATCH', '/patients/{patient}', json([])));
  cases.push(request('PATCH', '/patients/{patient}', json({ name: null })));
  cases.push(request('PATCH', '/patients/{patient}', json({ status: null })));
  return { name: 'wrong JSON types in bodies and lookups', cases };
}

function prototypeGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const keys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
  for (const key of keys) {
    for (const collection of ['patients', 'providers']) {
      cases.push(
        request('POST', `/${collection}`, rawJson(`{"name":"Proto","${key}":{"status":"I"}}`)),
      );
      cases.push(request('POST', `/${collection}`, rawJson(`{"${key}":{"name":"Proto"}}`)));
      cases.push(request('POST', `/${collection}`, rawJson(`{"name":"Proto","${key}":"I"}`)));
      cases.push(request('GET', `/${collection}?${key}=x`));
      cases.push(request('GET', `/${collection}?${key}__in=x`));
      cases.push(request('GET', `/${collection}?name__${key}=x`));
      cases.push(request('GET', `/${collection}/${key}`));
      cases.push(
        request('POST', `/${collection}/_search`, rawJson(`{"lookups":[["${key}","==","x"]]}`)),
      );
      cases.push(
        request('POST', `/${collection}/_search`, rawJson(`{"lookups":[["name","${key}","x"]]}`)),
      );
      cases.push(request('POST', `/${collection}/_search`, rawJson(`{"${key}":[]}`)));
    }
    cases.push(request('PATCH', '/patients/{patient}', rawJson(`{"${key}":{"name":"x"}}`)));
    cases.push(
      request(
        'POST',
        '/patients/{patient}/links',
        rawJson(`{"source_id":"p","source_name":"q","${key}":{}}`),
      ),
    );
    cases.push(request('GET', `/patients/{patient}?source=${key}`));
    cases.push(request('GET', `/patients/${key}?source=${key}`));
  }
  // after all of that, no record gained a status from a prototype
  cases.push(request('GET', '/patients?status=I'));
  cases.push(request('GET', '/providers?status=I'));
  return { name: 'prototype keys (__proto__, constructor, …)', cases };
}

function encodingGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const garbage = Buffer.from('this is not compressed data at all {"name":"x"}');
  const record = Buffer.from(JSON.stringify({ name: 'Compressed' }));
  const encoded: [string, Buffer][] = [
    ['gzip', garbage],
    ['deflate', garbage],
    ['br', garbage],
    ['gzip', gzipSync(record).subarray(0, 12)],
    ['deflate', deflateSync(record).subarray(0, 6)],
    ['br', brotliCompressSync(record).subarray(0, 4)],
    ['gzip', Buffer.concat([gzipSync(record), garbage])],
    ['gzip, gzip', gzipSync(record)],
    ['gzip', deflateSync(record)],
    ['deflate', gzipSync(record)],
    ['gzip', gzipSync(Buffer.from('not json'))],
    ['gzip', gzipSync(record)],
    ['deflate', deflateSync(record)],
    ['br', brotliCompressSync(record)],
    ['identity', record],
    ['compress', record],
    ['x-unknown', record],
    ['', record],
  ];
  for (const [encoding, body] of encoded) {
    for (const path of [
      '/patients',
      '/providers',
      '/patients/_search',
      '/patients/{patient}/links',
    ]) {
      cases.push(request('POST', path, body, { 'content-encoding': encoding }));
    }
    cases.push(request('PATCH', '/patients/{patient}', body, { 'content-encoding': encoding }));
  }
  for (const contentType of [
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/fhir+json',
    'multipart/form-data; boundary=x',
    'application/json; charset="utf-8"',
  ]) {
    cases.push(request('POST', '/patients', record, { 'content-type': contentType }));
    cases.push(
      request('POST', '/patients/_search', json({ lookups: [] }), { 'content-type': contentType }),
    );
  }
  // a gzip bomb: 5 MB of zeros in a few KB
  cases.push(
    request('POST', '/patients', gzipSync(Buffer.alloc(5_000_000, 0x20)), {
      'content-encoding': 'gzip',
    }),
  );
  return { name: 'bad encodings: corrupt compressed bodies, charsets, content types', cases };
}

function sizeGroup(): CorpusGroup {
  const cases: HostileRequest[] = [];
  const huge = 'x'.repeat(1_100_000);
  for (const path of [
    '/patients',
    '/providers',
    '/patients/_search',
    '/patients/{patient}/links',
  ]) {
    cases.push(request('POST', path, json({ name: huge })));
  }
  cases.push(request('PATCH', '/patients/{patient}', json({ name: huge })));
  // large but under the limit: names and lookups of tens of KB
  cases.push(request('POST', '/patients', json({ name: `Long ${'y'.repeat(50_000)}` })));
  cases.push(
    request('POST', '/patients/_search', json({ lookups: [['name', '%', 'y'.repeat(50_000)]] })),
  );
  cases.push(
    request(
      'POST',
      '/patients/_search',
      json({ lookups: [['name', '==', `Long ${'y'.repeat(50_000)}`]] }),
    ),
  );
  cases.push(request('GET', `/patients/${'a'.repeat(20_000)}`));
  cases.push(request('GET', '/patients', undefined, { 'x-big': 'h'.repeat(20_000) }));
  return { name: 'oversized bodies, paths and headers', cases };
}

/** Every group, in the order they run (creates first, so later searches have records to find). */
export function hostileCorpus(): CorpusGroup[] {
  return [
    charactersGroup(),
    datesGroup(),
    idGroup(),
    unicodeGroup(),
    bulkGroup(),
    typesGroup(),
    prototypeGroup(),
    encodingGroup(),
    sizeGroup(),
  ];
}
