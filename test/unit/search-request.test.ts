/**
 * The one search formatter (search-request.ts): every field of a
 * `SearchRequest` becomes its FHIR parameter in a fixed order, values (and
 * token systems) are FHIR-escaped there, and the query string is
 * percent-encoded with `:` kept readable. The requests the backend actually
 * sends are pinned with nock in fhir-requests.test.ts and import-requests.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeParameters,
  escapeSearchValue,
  formatSearchQuery,
  searchParameters,
} from '../../src/backends/fhir/search-request.js';

describe('SearchRequest formatting', () => {
  it('escapeSearchValue prefixes each of \\ , | $ with a backslash and leaves other characters', () => {
    assert.equal(escapeSearchValue('a\\b,c|d$e f%g'), 'a\\\\b\\,c\\|d\\$e f%g');
  });

  it('a parameter is name[:modifier]=[prefix][system|]values, values OR-ed by commas, each escaped', () => {
    assert.deepEqual(
      searchParameters({
        resourceType: 'Patient',
        params: [
          { name: 'identifier', system: 'urn:a|b', values: ['x,y', 'z'] },
          { name: 'name', modifier: 'exact', values: ['Jo $mith'] },
          { name: 'birthdate', prefix: 'ge', values: ['2000-01-01'] },
        ],
      }),
      [
        ['identifier', 'urn:a\\|b|x\\,y,urn:a\\|b|z'],
        ['name:exact', 'Jo \\$mith'],
        ['birthdate', 'ge2000-01-01'],
      ],
    );
  });

  it('every field goes out in one order: params, _elements, _tag, _lastUpdated, _sort, _count, _offset', () => {
    const pairs = searchParameters({
      resourceType: 'Patient',
      offset: 0,
      count: 200,
      sort: ['_lastUpdated', '_id'],
      lastUpdated: { prefix: 'gt', instant: '2026-01-02T03:04:05.000+00:00' },
      tag: { system: 'urn:test:scope', code: 'run,1' },
      elements: ['meta', 'extension'],
      params: [{ name: '_id', values: ['1'] }],
    });
    assert.deepEqual(pairs, [
      ['_id', '1'],
      ['_elements', 'meta,extension'],
      ['_tag', 'urn:test:scope|run\\,1'],
      ['_lastUpdated', 'gt2026-01-02T03:04:05.000+00:00'],
      ['_sort', '_lastUpdated,_id'],
      ['_count', '200'],
      ['_offset', '0'],
    ]);
  });

  it('a _lastUpdated without a prefix is that instant; absent fields send nothing', () => {
    assert.deepEqual(searchParameters({ resourceType: 'Patient', lastUpdated: { instant: 'T' } }), [
      ['_lastUpdated', 'T'],
    ]);
    assert.deepEqual(searchParameters({ resourceType: 'Patient' }), []);
    assert.equal(formatSearchQuery({ resourceType: 'Patient' }), '');
  });

  it('the query string percent-encodes names and escaped values but keeps : readable', () => {
    assert.equal(
      formatSearchQuery({
        resourceType: 'Patient',
        params: [{ name: 'name', modifier: 'contains', values: ['a b&c'] }],
        tag: { system: 'urn:test:scope', code: 'run|1' },
      }),
      'name:contains=a%20b%26c&_tag=urn:test:scope%7Crun%5C%7C1',
    );
  });

  it('describeParameters shows the escaped parameters unencoded, as explain prints them', () => {
    assert.equal(
      describeParameters([
        { name: 'name', modifier: 'exact', values: ['Jo', 'A,B'] },
        { name: 'gender', modifier: 'not', values: ['male'] },
      ]),
      'name:exact=Jo,A\\,B&gender:not=male',
    );
  });
});
