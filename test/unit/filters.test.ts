import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HealthcareAPI,
  MemoryStorage,
  PatientDoesNotExist,
  ProviderDoesNotExist,
  ValidationError,
  comparisons as C,
} from '../../src/index.js';
import { keywordsToLookups, parseKeyword, repeatedKeywordLookup } from '../../src/api/filters.js';

describe('filter keywords → lookups', () => {
  it('a bare field is EQUAL, each suffix its operator', () => {
    assert.deepEqual(parseKeyword('name'), ['name', C.EQUAL]);
    assert.deepEqual(parseKeyword('name__exact'), ['name', C.EQUAL]);
    assert.deepEqual(parseKeyword('name__like'), ['name', C.LIKE]);
    assert.deepEqual(parseKeyword('name__in'), ['name', C.IN]);
    assert.deepEqual(parseKeyword('birth_date__lt'), ['birth_date', C.LT]);
    assert.deepEqual(parseKeyword('birth_date__lte'), ['birth_date', C.LTE]);
    assert.deepEqual(parseKeyword('created_date__gt'), ['created_date', C.GT]);
    assert.deepEqual(parseKeyword('updated_date__gte'), ['updated_date', C.GTE]);
  });

  it('an unknown suffix is a ValidationError naming the keyword', () => {
    assert.throws(
      () => parseKeyword('name__startswith'),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.issues[0]?.field, 'name__startswith');
        return true;
      },
    );
  });

  it('keywords become triples in order, values untouched', () => {
    const when = new Date('2020-01-01T00:00:00Z');
    assert.deepEqual(
      keywordsToLookups({
        name__like: 'Ja',
        birth_date__gte: when,
        name__in: ['Joe', 'Jane'],
        status: 'A',
      }),
      [
        ['name', C.LIKE, 'Ja'],
        ['birth_date', C.GTE, when],
        ['name', C.IN, ['Joe', 'Jane']],
        ['status', C.EQUAL, 'A'],
      ],
    );
  });

  it('a repeated keyword (query string, command line): __in takes every value as its list, any other keyword exactly one', () => {
    assert.deepEqual(repeatedKeywordLookup('name__in', ['Joe', 'Jane']), [
      'name',
      C.IN,
      ['Joe', 'Jane'],
    ]);
    assert.deepEqual(repeatedKeywordLookup('name__in', ['Joe']), ['name', C.IN, ['Joe']]);
    assert.deepEqual(repeatedKeywordLookup('birth_date__gte', ['2000-01-01']), [
      'birth_date',
      C.GTE,
      '2000-01-01',
    ]);
    for (const [keyword, values] of [
      ['name', ['a', 'b']],
      ['name__like', ['a', 'b']],
    ] as const) {
      assert.throws(
        () => repeatedKeywordLookup(keyword, values),
        (e: unknown) =>
          e instanceof ValidationError &&
          e.issues[0]?.field === keyword &&
          /only __in takes several values/.test(e.issues[0].message),
        `${keyword} × ${values.length}`,
      );
    }
  });
});

describe('HealthcareAPI', () => {
  it('patients: create, get, filter by keywords, update, link, get by source, unlink, delete', async () => {
    const api = new HealthcareAPI(new MemoryStorage());
    const joe = await api.patients.create({ name: 'Joe', birth_date: '2021-03-04' });
    await api.patients.create({ name: 'Jane', birth_date: '2019-01-01' });
    assert.deepEqual(await api.patients.get(joe.id), joe);
    const found = await api.patients.filter({ name__like: 'J', birth_date__gte: '2020-01-01' });
    assert.deepEqual(
      found.map((p) => p.name),
      ['Joe'],
    );
    assert.equal((await api.patients.filter({ name__in: ['Joe', 'Jane'] })).length, 2);
    assert.equal((await api.patients.filter()).length, 2);
    assert.equal(await api.patients.update(joe.id, { location: 'Gulu' }), true);
    assert.equal(await api.patients.link(joe.id, '42', 'sms'), true);
    assert.equal((await api.patients.get('42', 'sms')).location, 'Gulu');
    assert.equal(await api.patients.unlink(joe.id, '42', 'sms'), true);
    await assert.rejects(api.patients.get('42', 'sms'), PatientDoesNotExist);
    assert.equal(await api.patients.delete(joe.id), true);
    assert.equal(await api.patients.delete(joe.id), false);
    await assert.rejects(api.patients.get(joe.id), PatientDoesNotExist);
  });

  it('providers: get of a missing provider throws ProviderDoesNotExist; filter takes keywords', async () => {
    const api = new HealthcareAPI(new MemoryStorage());
    const p = await api.providers.create({ name: 'Dr Who', location: 'TARDIS' });
    assert.deepEqual(await api.providers.filter({ location__like: 'TAR' }), [p]);
    await assert.rejects(api.providers.get('nope'), ProviderDoesNotExist);
    await assert.rejects(api.providers.filter({ name__nope: 'x' }), ValidationError);
  });
});
