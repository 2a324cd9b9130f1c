/** IdSet: the ids an iteration returned, numbers for canonical decimal ids, never two ids taken for one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSet } from '../../src/backends/fhir/id-set.js';

describe('IdSet', () => {
  it('add is true only the first time an id is added, and has says whether it was', () => {
    const ids = new IdSet(['7']);
    assert.equal(ids.has('7'), true);
    assert.equal(ids.add('7'), false);
    assert.equal(ids.add('8'), true);
    assert.equal(ids.has('8'), true);
    assert.equal(ids.has('9'), false);
  });

  it('ids that read as one number are still different ids: 12, 012, 12.0, 1e1, -12, a 16-digit id', () => {
    const ids = new IdSet(['12', '10', '1234567890123456']);
    for (const other of ['012', '12.0', '1e1', '-12', '+12', '1234567890123457', 'a12'])
      assert.equal(ids.add(other), true, other);
    assert.equal(ids.add('12'), false);
    assert.equal(ids.add('1234567890123456'), false);
  });
});
