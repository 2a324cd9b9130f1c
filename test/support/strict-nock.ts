/**
 * Unit tests of the exact requests we send: no real network, and after each
 * test every request it expected must have been sent.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before } from 'node:test';
import nock from 'nock';

export function useStrictNock(): void {
  before(() => nock.disableNetConnect());
  after(() => nock.enableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    assert.deepEqual(pending, [], 'every expected request was sent');
  });
}
