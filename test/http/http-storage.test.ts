/** HttpStorage's mapping of facade answers to the library's errors and results. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpStorage } from '../../src/client/http-storage.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import {
  APIError,
  ConflictError,
  StorageUnavailableError,
  ValidationError,
  type StorageFailureKind,
} from '../../src/api/errors.js';
import { failingStorage, startApp, type RunningApp } from './helpers.js';

describe('HttpStorage error mapping', () => {
  for (const kind of ['bad-response', 'unreachable', 'timeout'] as StorageFailureKind[]) {
    it(`a ${kind} failure behind the facade → StorageUnavailableError(${kind})`, async () => {
      const app = await startApp({
        storage: failingStorage(
          () => new StorageUnavailableError(kind, 'x'),
          () => Promise.reject(new StorageUnavailableError(kind, 'x')),
        ),
      });
      try {
        const client = new HttpStorage({ baseUrl: app.baseUrl });
        for (const op of [
          () => client.getPatient('1'),
          () => client.createProvider({ name: 'A' }),
          () => client.filterPatients(),
          () => client.linkPatient('1', 'a', 'b'),
        ]) {
          await assert.rejects(
            op(),
            (e: unknown) => e instanceof StorageUnavailableError && e.kind === kind,
          );
        }
        // /readyz answers 503 whatever the reason: the client says "unavailable".
        await assert.rejects(client.checkReady(), StorageUnavailableError);
      } finally {
        await app.close();
      }
    });
  }

  it('a write conflict → ConflictError', async () => {
    const app = await startApp({ storage: failingStorage(() => new ConflictError('x')) });
    try {
      const client = new HttpStorage({ baseUrl: app.baseUrl });
      await assert.rejects(client.updatePatient('1', { name: 'B' }), ConflictError);
    } finally {
      await app.close();
    }
  });

  it('a 404 that is not a missing record (wrong baseUrl, a route the facade lacks) is an error, not null/false', async () => {
    const app = await startApp({ storage: new MemoryStorage() });
    try {
      const wrong = new HttpStorage({ baseUrl: `${app.baseUrl}/api/v2` });
      for (const op of [
        () => wrong.getPatient('1'),
        () => wrong.updatePatient('1', { name: 'B' }),
        () => wrong.deletePatient('1'),
        () => wrong.linkPatient('1', 'a', 'b'),
        () => wrong.unlinkPatient('1', 'a', 'b'),
        () => wrong.getPatientLinks('1'),
      ]) {
        await assert.rejects(op(), (e: unknown) => {
          assert.ok(e instanceof APIError, String(e));
          assert.match(e.message, /404/);
          return true;
        });
      }
      const right = new HttpStorage({ baseUrl: app.baseUrl });
      assert.equal(await right.getPatient('1'), null);
      assert.equal(await right.deletePatient('1'), false);
      assert.equal(await right.linkPatient('1', 'a', 'b'), false);
    } finally {
      await app.close();
    }
  });

  it('a write conflict while linking → ConflictError, not false (false is for a taken pair)', async () => {
    const app = await startApp({ storage: failingStorage(() => new ConflictError('x')) });
    try {
      const client = new HttpStorage({ baseUrl: app.baseUrl });
      await assert.rejects(client.linkPatient('1', 'a', 'b'), ConflictError);
    } finally {
      await app.close();
    }
  });

  it('an unreachable facade → StorageUnavailableError(unreachable); a slow one → timeout', async () => {
    const gone = new HttpStorage({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    await assert.rejects(
      gone.getPatient('1'),
      (e: unknown) => e instanceof StorageUnavailableError && e.kind === 'unreachable',
    );
    const hanging = {
      ...failingStorage(() => new Error('x')),
      getPatient: () => new Promise<never>(() => {}),
    };
    const app = await startApp({ storage: hanging });
    try {
      const slow = new HttpStorage({ baseUrl: app.baseUrl, timeoutMs: 200 });
      await assert.rejects(
        slow.getPatient('1'),
        (e: unknown) => e instanceof StorageUnavailableError && e.kind === 'timeout',
      );
    } finally {
      await app.close();
    }
  });

  describe('with auth', () => {
    let app: RunningApp;
    before(async () => {
      app = await startApp({ storage: new MemoryStorage(), apiTokens: ['right'] });
    });
    after(async () => app.close());

    it('a wrong or missing token → APIError (not a storage failure)', async () => {
      for (const token of [undefined, 'wrong']) {
        const client = new HttpStorage({ baseUrl: app.baseUrl, ...(token ? { token } : {}) });
        await assert.rejects(client.getPatient('1'), (e: unknown) => {
          assert.ok(e instanceof APIError);
          assert.ok(!(e instanceof StorageUnavailableError));
          assert.match(e.message, /401/);
          return true;
        });
      }
    });

    it('a 400 problem → ValidationError carrying the issues', async () => {
      const client = new HttpStorage({ baseUrl: `${app.baseUrl}/`, token: 'right' });
      await assert.rejects(client.createPatient({ name: '', sex: 'X' as 'M' }), (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.issues.map((i) => i.field).sort(), ['name', 'sex']);
        return true;
      });
      await assert.rejects(
        client.filterPatients(['birth_date', '>', new Date('nope')]),
        ValidationError,
      );
    });

    it('Date lookup values travel as ISO strings', async () => {
      const client = new HttpStorage({ baseUrl: app.baseUrl, token: 'right' });
      const created = await client.createPatient({ name: 'Dated', birth_date: '2001-05-06' });
      const found = await client.filterPatients(
        ['birth_date', '>=', new Date('2001-05-06T00:00:00Z')],
        ['birth_date', 'in', ['2001-05-06']],
        ['created_date', '<=', new Date(Date.now() + 60_000)],
      );
      assert.deepEqual(
        found.map((r) => r.id),
        [created.id],
      );
      assert.deepEqual(await client.getPatientLinks(created.id), []);
      assert.equal(await client.getPatientLinks('nope'), null);
      await client.checkReady();
    });

    it('rejects a non-http base URL', () => {
      assert.throws(() => new HttpStorage({ baseUrl: 'file:///etc/passwd' }), TypeError);
    });
  });
});
