/**
 * The facade's streamed filter answers (array, NDJSON, `limit`/`cursor`
 * pages), what a failure mid-stream looks like to a client, and HttpStorage
 * reading the stream record by record. Over MemoryStorage; the FHIR side is
 * test/integration/streaming.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpStorage } from '../../src/client/http-storage.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { StorageUnavailableError, comparisons as C } from '../../src/index.js';
import type { PatientRecord } from '../../src/api/types.js';
import { call, startApp, withStore } from './helpers.js';

async function filled(n: number): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  for (let i = 0; i < n; i++)
    await storage.createPatient({ name: `P${i}`, sex: i % 2 ? 'M' : 'F' });
  return storage;
}

/** A storage whose patient stream yields `first`, then fails (or waits for `release`). */
function storageYieldingThen(first: PatientRecord, then: () => Promise<void>): MemoryStorage {
  const memory = new MemoryStorage();
  return withStore(memory, 'patient', {
    iterate: async function* () {
      yield first;
      await then();
      yield { ...first, id: 'second' };
    },
  });
}

describe('facade: streamed filter answers', () => {
  it('GET /patients is a chunked JSON array equal to filterPatients', async () => {
    const storage = await filled(25);
    const app = await startApp({ storage });
    try {
      const answer = await call(app.baseUrl, 'GET', '/patients?sex=M');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('transfer-encoding'), 'chunked');
      assert.deepEqual(answer.json, await storage.filterPatients(['sex', C.EQUAL, 'M']));
      const none = await call(app.baseUrl, 'GET', '/patients?name=nobody');
      assert.deepEqual(none.json, []);
    } finally {
      await app.close();
    }
  });

  it('Accept: application/x-ndjson gives one record per line, on GET and on _search', async () => {
    const storage = await filled(7);
    const app = await startApp({ storage });
    try {
      const all = await storage.filterPatients();
      for (const answer of [
        await call(app.baseUrl, 'GET', '/patients', {
          headers: { accept: 'application/x-ndjson' },
        }),
        await call(app.baseUrl, 'POST', '/patients/_search', {
          body: { lookups: [] },
          headers: { accept: 'application/x-ndjson, application/json;q=0.5' },
        }),
      ]) {
        assert.equal(answer.headers.get('content-type')?.split(';')[0], 'application/x-ndjson');
        const lines = answer.text.split('\n');
        assert.equal(lines.pop(), '', 'every line ends with a newline');
        assert.deepEqual(
          lines.map((l) => JSON.parse(l) as unknown),
          all,
        );
      }
    } finally {
      await app.close();
    }
  });

  it('limit and cursor page through every record once, also when records are created between pages', async () => {
    const storage = await filled(11);
    const app = await startApp({ storage });
    try {
      const ids: string[] = [];
      let path: string | null = '/patients?limit=4';
      let pages = 0;
      while (path) {
        const answer = await call(app.baseUrl, 'GET', path);
        assert.equal(answer.status, 200);
        const page = answer.json as { items: PatientRecord[]; next: string | null };
        assert.ok(page.items.length <= 4);
        ids.push(...page.items.map((r) => r.id));
        if (pages++ === 0) await storage.createPatient({ name: 'late' });
        path = page.next ? `/patients?limit=4&cursor=${encodeURIComponent(page.next)}` : null;
      }
      const all = (await storage.filterPatients()).map((r) => r.id);
      assert.equal(all.length, 12);
      assert.deepEqual([...ids].sort(), [...all].sort());
      assert.equal(new Set(ids).size, ids.length, 'no record twice');
      const search = await call(app.baseUrl, 'POST', '/patients/_search?limit=100', {
        body: { lookups: [['sex', '==', 'F']] },
      });
      assert.deepEqual(search.json, {
        items: await storage.filterPatients(['sex', C.EQUAL, 'F']),
        next: null,
      });
    } finally {
      await app.close();
    }
  });

  it('a bad limit or cursor is 400 and names the parameter', async () => {
    const app = await startApp({ storage: new MemoryStorage() });
    try {
      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=x', 'limit'],
        ['limit=2&limit=3', 'limit'],
        ['limit=2&cursor=notacursor', 'cursor'],
        ['cursor=abc', 'cursor'],
      ]) {
        const answer = await call(app.baseUrl, 'GET', `/patients?${query}`);
        assert.equal(answer.status, 400, query);
        const issues = (answer.json as { issues: { field: string }[] }).issues;
        assert.ok(
          issues.some((i) => i.field === field),
          `${query}: ${JSON.stringify(issues)}`,
        );
      }
    } finally {
      await app.close();
    }
  });

  it('a failure before the first record is a problem answer (no stream started)', async () => {
    const memory = new MemoryStorage();
    const storage = withStore(memory, 'patient', {
      // eslint-disable-next-line require-yield
      iterate: async function* () {
        throw new StorageUnavailableError('unreachable', 'down');
      },
    });
    const app = await startApp({ storage });
    try {
      const answer = await call(app.baseUrl, 'GET', '/patients');
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    } finally {
      await app.close();
    }
  });

  it('a failure after the first record cuts the connection: the array or NDJSON never reads as complete', async () => {
    const first = (await (await filled(1)).filterPatients())[0]!;
    // the failure comes a moment later, as a FHIR page does: the first record is on the wire by then
    const storage = storageYieldingThen(
      first,
      () =>
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new StorageUnavailableError('unreachable', 'down')), 100),
        ),
    );
    const app = await startApp({ storage });
    try {
      for (const accept of ['application/json', 'application/x-ndjson']) {
        const response = await fetch(`${app.baseUrl}/patients`, { headers: { accept } });
        assert.equal(response.status, 200);
        await assert.rejects(response.text(), TypeError, `${accept}: the body read fails`);
      }
      const client = new HttpStorage({ baseUrl: app.baseUrl });
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const record of client.iterPatients()) seen.push(record.id);
        })(),
        StorageUnavailableError,
      );
      assert.deepEqual(seen, [first.id], 'the record before the failure arrived, then the error');
      await assert.rejects(client.filterPatients(), StorageUnavailableError);
    } finally {
      await app.close();
    }
  });

  it('HttpStorage.iterPatients yields a record as soon as its line arrives, before the answer ends', async () => {
    const first = (await (await filled(1)).filterPatients())[0]!;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const app = await startApp({ storage: storageYieldingThen(first, () => released) });
    try {
      const client = new HttpStorage({ baseUrl: app.baseUrl });
      const iterator = client.iterPatients()[Symbol.asyncIterator]();
      const one = await iterator.next(); // the facade is still waiting on `released`
      assert.equal(one.value?.id, first.id);
      release();
      assert.equal((await iterator.next()).value?.id, 'second');
      assert.equal((await iterator.next()).done, true);
    } finally {
      await app.close();
    }
  });
});
