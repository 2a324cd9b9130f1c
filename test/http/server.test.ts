/** `npm start`'s entry: configuration from the environment, serving, graceful shutdown. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { readConfig, startServer } from '../../src/server.js';
import { silentLogger, withStore } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('server configuration', () => {
  it('defaults: port 3000, the fhir backend, no tokens', () => {
    const config = readConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.backend, 'fhir');
    assert.equal(config.fhirBaseUrl, undefined);
    assert.deepEqual(config.access.auth.apiTokens, []);
  });

  it('reads PORT, HEALTHCARE_STORAGE_BACKEND, FHIR_BASE_URL, API_TOKENS', () => {
    const config = readConfig({
      PORT: '8081',
      HEALTHCARE_STORAGE_BACKEND: 'memory',
      FHIR_BASE_URL: 'http://hapi:8080/fhir',
      API_TOKENS: ' a, b ,,c ',
    });
    assert.equal(config.port, 8081);
    assert.equal(config.backend, 'memory');
    assert.equal(config.fhirBaseUrl, 'http://hapi:8080/fhir');
    assert.deepEqual(config.access.auth.apiTokens, ['a', 'b', 'c']);
  });

  it('rejects a bad PORT or backend', () => {
    assert.throws(() => readConfig({ PORT: 'eighty' }), /PORT/);
    assert.throws(() => readConfig({ PORT: '70000' }), /PORT/);
    assert.throws(
      () => readConfig({ HEALTHCARE_STORAGE_BACKEND: 'sql' }),
      /HEALTHCARE_STORAGE_BACKEND/,
    );
  });
});

describe('errors before the app sees the request', () => {
  it('a request line or headers too large → 431 problem+json', async () => {
    const running = await startServer(
      { ...readConfig({ HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: '0' }), host: '127.0.0.1' },
      { logger: silentLogger(), storage: new MemoryStorage() },
    );
    try {
      const answer = await fetch(`${running.url}/patients?name__like=${'a'.repeat(20_000)}`);
      assert.equal(answer.status, 431);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = (await answer.json()) as { status: number; detail: string };
      assert.equal(problem.status, 431);
      assert.match(problem.detail, /too large/);
    } finally {
      await running.shutdown();
    }
  });
});

describe('graceful shutdown', () => {
  it('a port in use is a clear error, and the storage is closed', async () => {
    const first = await startServer(
      { ...readConfig({ HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: '0' }), host: '127.0.0.1' },
      { logger: silentLogger() },
    );
    let closed = false;
    const storage = Object.assign(new MemoryStorage(), {
      close: async () => {
        closed = true;
      },
    });
    try {
      const port = String(new URL(first.url).port);
      await assert.rejects(
        startServer(
          {
            ...readConfig({ HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: port }),
            host: '127.0.0.1',
          },
          { logger: silentLogger(), storage },
        ),
        new RegExp(`port ${port} is already in use`),
      );
      assert.ok(closed, 'the storage was closed');
    } finally {
      await first.shutdown();
    }
  });

  it('finishes an in-flight request, then refuses new connections', async () => {
    const memory = new MemoryStorage();
    const created = await memory.createPatient({ name: 'Slow' });
    let closed = false;
    const storage = withStore(
      memory,
      'patient',
      {
        get: async (id: string) => {
          await new Promise((r) => setTimeout(r, 300));
          return memory.stores.patient.get(id);
        },
      },
      {
        close: async () => {
          closed = true;
        },
      },
    );
    const running = await startServer(
      { ...readConfig({ HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: '0' }), host: '127.0.0.1' },
      { logger: silentLogger(), storage },
    );
    const inFlight = fetch(`${running.url}/patients/${created.id}`);
    await new Promise((r) => setTimeout(r, 50));
    const stopped = running.shutdown();
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as { name: string }).name, 'Slow');
    await stopped;
    assert.ok(closed, 'the storage was closed');
    await assert.rejects(fetch(`${running.url}/healthz`));
  });

  it('npm start with the memory backend serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: root,
      env: {
        ...process.env,
        HEALTHCARE_STORAGE_BACKEND: 'memory',
        PORT: '0',
        HOST: '127.0.0.1',
        API_TOKENS: 'tok',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/[^\s]+) /.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('exit', () => reject(new Error(`exited early: ${output}`)));
    });
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/patients`)).status, 401);
    assert.equal(
      (await fetch(`${url}/patients`, { headers: { authorization: 'Bearer tok' } })).status,
      200,
    );
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(output, /"msg":"stopped"/);
  });
});
