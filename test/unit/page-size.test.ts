/**
 * The page size of searches: without `pageSize` the first search asks for
 * 1,000 and later ones for the server's cap once an answer shows it (fewer
 * entries than asked with a `next` link, whose `_count` names the cap); with
 * `pageSize` set, exactly that is asked and nothing is learned. nock stands in
 * for the server (the exact requests); streaming against HAPI's real caps is
 * in test/integration/streaming.test.ts and bench/stream-rss.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nock from 'nock';
import { FhirStorage } from '../../src/index.js';
import { PageSize } from '../../src/backends/fhir/page-size.js';
import { useStrictNock } from '../support/strict-nock.js';

const origin = 'http://fhir.test';
const baseUrl = `${origin}/fhir`;

useStrictNock();

const patient = (id: number) => ({
  resourceType: 'Patient',
  id: String(id),
  meta: { versionId: '1', lastUpdated: new Date(Date.UTC(2026, 0, 1, 0, 0, id)).toISOString() },
});
const bundle = (ids: number[], next?: string) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: ids.map((id) => ({ resource: patient(id), search: { mode: 'match' } })),
  link: next ? [{ relation: 'next', url: next }] : [],
});
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A server capping `_count` at `cap` over records 1..total (one per second), answering `times` keyset searches; records each `_count` asked. */
function cappedServer(cap: number, total: number, times: number): string[] {
  const asked: string[] = [];
  nock(origin)
    .get((uri) => uri.startsWith('/fhir/Patient?'))
    .times(times)
    .reply((uri) => {
      const query = new URL(uri, origin).searchParams;
      const count = query.get('_count')!;
      asked.push(count);
      const lower = query.get('_lastUpdated');
      const from = lower ? new Date(lower.slice(2)).getUTCSeconds() : 1;
      const ids = range(from, total).slice(0, Math.min(Number(count), cap));
      const more = ids.length && ids[ids.length - 1]! < total;
      return [200, bundle(ids, more ? `${baseUrl}/Patient?_count=${cap}&_offset=x` : undefined)];
    });
  return asked;
}

describe('search page size', () => {
  it('without pageSize the first search asks _count=1000; a server capping at 20 (next link _count=20) is then asked _count=20, and every record comes once', async () => {
    const asked = cappedServer(20, 50, 3);
    const found = await new FhirStorage({ baseUrl }).filterPatients();
    assert.deepEqual(
      found.map((r) => Number(r.id)),
      range(1, 50),
    );
    assert.equal(asked[0], '1000');
    assert.deepEqual(new Set(asked.slice(1)), new Set(['20']));
  });

  it('with pageSize set, every search asks that size (plus the records it reads again) and never learns', async () => {
    const asked = cappedServer(20, 30, 3);
    const found = await new FhirStorage({ baseUrl, pageSize: 10 }).filterPatients();
    assert.deepEqual(
      found.map((r) => Number(r.id)),
      range(1, 30),
    );
    assert.deepEqual(asked, ['10', '11', '11']);
  });

  it('learns from the number of entries when the next link names no _count, only ever lowers the cap, and ignores answers without a next page', () => {
    const size = new PageSize();
    assert.equal(size.size, 1000);
    size.learn(1000, 3, undefined);
    assert.equal(size.size, 1000, 'a last page says nothing of a cap');
    size.learn(1000, 500, 'http://fhir.test/fhir?_getpages=abc');
    assert.equal(size.size, 500);
    size.learn(1000, 800, 'http://fhir.test/fhir?_getpages=abc&_count=800');
    assert.equal(size.size, 500, 'never raised');
    assert.equal(size.ask(501), 500);
    const fixed = new PageSize(50);
    fixed.learn(50, 10, 'http://fhir.test/fhir?_count=10');
    assert.equal(fixed.size, 50);
    assert.equal(fixed.ask(51), 51);
  });
});
