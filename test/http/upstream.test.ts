/**
 * The facade over FhirStorage when the FHIR server hangs: a real local socket
 * that accepts connections and never answers (no stub of the storage).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { call, startApp, type RunningApp } from './helpers.js';

describe('a FHIR server that accepts connections and never answers', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let app: RunningApp;

  before(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const storage = new FhirStorage({ baseUrl: `http://127.0.0.1:${port}/fhir`, timeoutMs: 1500 });
    app = await startApp({ storage, readyTimeoutMs: 500 });
  });
  after(async () => {
    await app.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('/readyz → 503 problem within its short timeout', async () => {
    const started = Date.now();
    const answer = await call(app.baseUrl, 'GET', '/readyz');
    const elapsed = Date.now() - started;
    assert.equal(answer.status, 503, answer.text);
    assert.match(answer.headers.get('content-type')!, /^application\/problem\+json/);
    assert.match((answer.json as { detail: string }).detail, /within 500 ms/);
    assert.ok(elapsed >= 450 && elapsed < 1400, `answered after ${elapsed} ms`);
  });

  it('a record route → 504 problem after the storage timeout', async () => {
    const answer = await call(app.baseUrl, 'GET', '/patients/1');
    assert.equal(answer.status, 504, answer.text);
    assert.match((answer.json as { detail: string }).detail, /did not answer in time/);
  });
});
