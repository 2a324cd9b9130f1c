/**
 * The audit trail (contract §6) through the facade over FhirStorage on the
 * real HAPI server: one event per record route with its action, ids, lookups
 * and status; refusals by authentication; streamed pages audited before they
 * are sent; a trail that cannot be written makes answers 503 without records.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import type { PatientRecord } from '../../src/api/types.js';
import type { AuditEvent } from '../../src/http/audit/event.js';
import { AuditTrail } from '../../src/http/audit/trail.js';
import { sha256Hex } from '../../src/http/auth.js';
import { parseRateLimit } from '../../src/http/client-limits.js';
import { readConfig } from '../../src/server.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { readTrail } from './audit-helpers.js';
import { call, startApp, withStore, type RunningApp } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const baseUrl = requireFhirBaseUrl();
const token = randomBytes(4).toString('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'audit-trail-'));
const storage = new FhirStorage({
  baseUrl,
  scopeTag: { system: 'urn:healthcare-fhir:test', code: `audit-${token}` },
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('audit trail: one event per record route', () => {
  const log = path.join(dir, 'routes.jsonl');
  let app: RunningApp;
  let n = 0;
  /** Sends a request with its own X-Request-Id, so its event can be told apart. */
  const send = (method: string, url: string, body?: unknown) =>
    call(app.baseUrl, method, url, {
      ...(body === undefined ? {} : { body }),
      headers: { 'x-request-id': `audit-${token}-${++n}` },
    });
  before(async () => {
    app = await startApp({ storage, audit: await AuditTrail.open({ log }) });
  });
  after(() => app.close());

  it('every route writes its action, model, ids, lookups and status; other routes write none', async () => {
    const name = `Audited ${token}`;
    const sourceId = `src-${token}`;
    const created = await send('POST', '/patients', { name, birth_date: '1987-06-05' });
    assert.equal(created.status, 201);
    const id = (created.json as PatientRecord).id;
    const expected: Omit<AuditEvent, 'time' | 'request_id' | 'client'>[] = [];
    const expect = (e: Partial<AuditEvent> & Pick<AuditEvent, 'action' | 'status'>) =>
      expected.push({ model: 'patient', ids: [id], lookups: [], ...e });
    expect({ action: 'create', status: 201 });
    const steps: [string, string, unknown, number, Parameters<typeof expect>[0]][] = [
      ['POST', '/patients', { sex: 'X' }, 400, { action: 'create', ids: [], status: 400 }],
      ['GET', `/patients/${id}`, undefined, 200, { action: 'read', status: 200 }],
      [
        'GET',
        `/patients/missing-${token}`,
        undefined,
        404,
        { action: 'read', ids: [`missing-${token}`], status: 404 },
      ],
      [
        'PATCH',
        `/patients/${id}`,
        { location: `Ward ${token}` },
        200,
        { action: 'update', status: 200 },
      ],
      [
        'GET',
        `/patients?name__like=${token}&birth_date__gte=1980-01-01`,
        undefined,
        200,
        { action: 'search', lookups: ['name %', 'birth_date >='], status: 200 },
      ],
      [
        'GET',
        `/patients?name__like=${token}&limit=5`,
        undefined,
        200,
        { action: 'search', lookups: ['name %'], status: 200 },
      ],
      [
        'POST',
        '/patients/_search',
        {
          lookups: [
            ['name', '==', name],
            ['sex', 'in', ['M', 'F']],
          ],
        },
        200,
        { action: 'search', ids: [], lookups: ['name ==', 'sex in'], status: 200 },
      ],
      [
        'POST',
        '/patients/_search',
        { lookups: [[name, '==', 'x']] },
        400,
        { action: 'search', ids: [], status: 400 },
      ],
      [
        'POST',
        `/patients/${id}/links`,
        { source_id: sourceId, source_name: 'audit-test' },
        201,
        { action: 'link', status: 201, source_name: 'audit-test' },
      ],
      [
        'POST',
        `/patients/${id}/links`,
        { source_id: sourceId, source_name: 'audit-test' },
        409,
        { action: 'link', status: 409, source_name: 'audit-test' },
      ],
      [
        'GET',
        `/patients/${sourceId}?source=audit-test`,
        undefined,
        200,
        { action: 'read', status: 200 },
      ],
      [
        'GET',
        `/patients/nope-${token}?source=audit-test`,
        undefined,
        404,
        { action: 'read', ids: [], status: 404 },
      ],
      ['GET', `/patients/${id}/links`, undefined, 200, { action: 'read-links', status: 200 }],
      [
        'DELETE',
        `/patients/${id}/links?source_id=${sourceId}&source_name=audit-test`,
        undefined,
        204,
        { action: 'unlink', status: 204, source_name: 'audit-test' },
      ],
      ['DELETE', `/patients/${id}`, undefined, 204, { action: 'delete', status: 204 }],
      ['DELETE', `/patients/${id}`, undefined, 404, { action: 'delete', status: 404 }],
      ['GET', '/healthz', undefined, 200, { action: 'read', status: -1 }],
      ['GET', '/openapi.json', undefined, 200, { action: 'read', status: -1 }],
      ['GET', '/patients/_search', undefined, 405, { action: 'read', status: -1 }],
    ];
    for (const [method, url, body, status, event] of steps) {
      const answer = await send(method, url, body);
      assert.equal(answer.status, status, `${method} ${url}: ${answer.text}`);
      if (event.status !== -1) expect(event);
    }
    const provider = await send('POST', '/providers', { name: `Dr ${token}` });
    const providerId = (provider.json as { id: string }).id;
    await send('GET', `/providers/${providerId}`);
    await send('DELETE', `/providers/${providerId}`);
    for (const [action, status] of [
      ['create', 201],
      ['read', 200],
      ['delete', 204],
    ] as const)
      expected.push({ model: 'provider', ids: [providerId], lookups: [], action, status });

    const trail = readTrail(log);
    assert.deepEqual(
      trail.map(({ request_id: _r, client: _c, ...rest }) => rest),
      expected,
    );
    // each event is its request's, in order; the unaudited routes (healthz, openapi, 405) left gaps
    const numbers = trail.map((e) => Number(e.request_id.split('-').pop()));
    assert.deepEqual(numbers, [1, ...Array.from({ length: 16 }, (_, i) => i + 2), 21, 22, 23]);
    assert.ok(trail.every((e) => e.client === 'anonymous'));
    const text = readFileSync(log, 'utf8');
    for (const value of [name, `Ward ${token}`, '1987-06-05', '1980-01-01', sourceId])
      assert.ok(!text.includes(value), `the trail holds no ${value}`);
  });
});

describe('audit trail: refusals and streams', () => {
  it('refusals by the access middlewares are audited: 401 (client null), 403 and 429 (client named)', async () => {
    const log = path.join(dir, 'access.jsonl');
    const reader = {
      name: 'reader',
      tokenSha256: sha256Hex('reader-token'),
      scopes: ['system/Patient.rs'],
    };
    const app = await startApp({
      storage,
      clients: [reader],
      limits: { rate: parseRateLimit('2/min') },
      audit: await AuditTrail.open({ log }),
    });
    const as = { headers: { authorization: 'Bearer reader-token' } };
    try {
      assert.equal((await call(app.baseUrl, 'GET', `/patients/abc-${token}`)).status, 401);
      const search = { body: { lookups: [['name', '%', `x${token}`]] } };
      assert.equal((await call(app.baseUrl, 'POST', '/patients/_search', search)).status, 401);
      assert.equal(
        (await call(app.baseUrl, 'POST', '/patients/_search', { ...search, ...as })).status,
        200,
      );
      assert.equal((await call(app.baseUrl, 'DELETE', `/patients/abc-${token}`, as)).status, 403);
      assert.equal((await call(app.baseUrl, 'GET', `/patients/abc-${token}`, as)).status, 429);
      const base = { model: 'patient', lookups: [] };
      assert.deepEqual(
        readTrail(log).map(({ request_id: _r, ...e }) => e),
        [
          { ...base, client: null, action: 'read', ids: [`abc-${token}`], status: 401 },
          // refused before its body was read: no lookups known
          { ...base, client: null, action: 'search', ids: [], status: 401 },
          {
            ...base,
            client: 'reader',
            action: 'search',
            ids: [],
            lookups: ['name %'],
            status: 200,
          },
          { ...base, client: 'reader', action: 'delete', ids: [`abc-${token}`], status: 403 },
          { ...base, client: 'reader', action: 'read', ids: [`abc-${token}`], status: 429 },
        ],
      );
    } finally {
      await app.close();
    }
  });

  it('a streamed search writes one event per page, each before that page is sent', async () => {
    const memory = new MemoryStorage();
    const first = await memory.createPatient({ name: 'One' });
    const second = await memory.createPatient({ name: 'Two' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const paused = withStore(memory, 'patient', {
      iterate: async function* () {
        yield first;
        await released; // the storage fetching its next page
        yield second;
      },
    });
    const log = path.join(dir, 'stream.jsonl');
    const app = await startApp({ storage: paused, audit: await AuditTrail.open({ log }) });
    try {
      const response = await fetch(`${app.baseUrl}/patients`, {
        headers: { accept: 'application/x-ndjson' },
      });
      const reader = response.body!.getReader();
      const chunk = new TextDecoder().decode((await reader.read()).value);
      assert.equal((JSON.parse(chunk) as PatientRecord).id, first.id);
      assert.deepEqual(
        readTrail(log).map((e) => e.ids),
        [[first.id]],
        'page 1 was audited before it arrived; page 2 not yet',
      );
      release();
      while (!(await reader.read()).done);
      const events = readTrail(log);
      assert.deepEqual(
        events.map((e) => e.ids),
        [[first.id], [second.id]],
      );
      assert.equal(events[0]!.request_id, events[1]!.request_id);
      assert.ok(events.every((e) => e.action === 'search' && e.status === 200));
    } finally {
      await app.close();
    }
  });
});

describe('audit trail: where it goes, and when it cannot be written', () => {
  it('a path that became unwritable (a directory) or a full disk makes record answers 503 with no record; it recovers', async () => {
    const log = path.join(dir, 'broken.jsonl');
    const app = await startApp({ storage, audit: await AuditTrail.open({ log }) });
    const devFull = await startApp({ storage, audit: await AuditTrail.open({ log: '/dev/full' }) });
    const name = `Withheld ${token}`;
    try {
      const created = await call(app.baseUrl, 'POST', '/patients', { body: { name } });
      assert.equal(created.status, 201);
      const id = (created.json as PatientRecord).id;
      rmSync(log);
      mkdirSync(log); // appending to it now fails (EISDIR), even for root
      for (const base of [app.baseUrl, devFull.baseUrl]) {
        for (const [method, url, body] of [
          ['GET', `/patients/${id}`, undefined],
          ['GET', `/patients?name=${encodeURIComponent(name)}`, undefined],
          ['GET', `/patients?name=${encodeURIComponent(name)}&limit=2`, undefined],
          ['POST', '/patients/_search', { lookups: [['name', '==', name]] }],
          ['POST', '/patients', { name }],
          ['PATCH', `/patients/${id}`, { location: 'x' }],
        ] as const) {
          const answer = await call(base, method, url, body ? { body } : {});
          assert.equal(answer.status, 503, `${method} ${url}`);
          assert.equal(
            answer.headers.get('content-type'),
            'application/problem+json; charset=utf-8',
          );
          assert.equal(
            (answer.json as { type: string }).type,
            'urn:healthcare-fhir:problem:audit-unavailable',
          );
          assert.ok(!answer.text.includes(name) && !answer.text.includes(`"id"`), answer.text);
          assert.equal(answer.headers.get('location'), null);
        }
      }
      rmdirSync(log);
      const again = await call(app.baseUrl, 'GET', `/patients/${id}`);
      assert.equal(again.status, 200, 'the trail works again once the file can be appended to');
      assert.deepEqual(
        readTrail(log).map((e) => [e.action, e.status]),
        [['read', 200]],
      );
    } finally {
      await app.close();
      await devFull.close();
    }
  });

  it('an AUDIT_LOG that cannot be appended to stops start-up with a message naming it', async () => {
    const missing = path.join(dir, 'no-such-dir', 'audit.jsonl');
    for (const [target, reason] of [
      [missing, /ENOENT/],
      [dir, /EISDIR/],
    ] as const) {
      await assert.rejects(
        AuditTrail.open({ log: target }),
        (e: Error) =>
          e.message.includes(`AUDIT_LOG: cannot append to ${target}`) && reason.test(e.message),
      );
    }
  });

  it('AUDIT_LOG=- writes each event as a line of standard output, beside the request log', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: { ...process.env, HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: '0', AUDIT_LOG: '-' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/[^\s]+) /.exec(output);
          if (match) resolve(match[1]!);
        });
        child.on('exit', () => reject(new Error(`exited early: ${output}`)));
      });
      const answer = await fetch(`${url}/patients/p-${token}`, {
        headers: { 'x-request-id': `stdout-${token}` },
      });
      assert.equal(answer.status, 404);
      const line = output
        .split('\n')
        .find((l) => l.includes(`"request_id":"stdout-${token}"`) && l.includes('"action"'));
      assert.ok(line, output);
      const { time: _t, ...event } = JSON.parse(line) as AuditEvent;
      assert.deepEqual(event, {
        request_id: `stdout-${token}`,
        client: 'anonymous',
        action: 'read',
        model: 'patient',
        ids: [`p-${token}`],
        lookups: [],
        status: 404,
      });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('the facade exits 1 naming AUDIT_LOG when it cannot be appended to; a bad AUDIT_FHIR stops it too', async () => {
    const target = path.join(dir, 'no-such-dir', 'audit.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: { ...process.env, HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: '0', AUDIT_LOG: target },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1, output);
    assert.match(
      output,
      new RegExp(`could not start: AUDIT_LOG: cannot append to ${target}: ENOENT`),
    );
    const memory = { HEALTHCARE_STORAGE_BACKEND: 'memory' };
    assert.throws(
      () => readConfig({ AUDIT_LOG: '-', AUDIT_FHIR: 'yes' }),
      /AUDIT_FHIR must be "true" or "false"/,
    );
    assert.throws(() => readConfig({ AUDIT_FHIR: 'true' }), /AUDIT_FHIR=true needs AUDIT_LOG/);
    assert.throws(
      () => readConfig({ ...memory, AUDIT_LOG: '-', AUDIT_FHIR: 'true' }),
      /needs the fhir storage backend/,
    );
    assert.deepEqual(readConfig({ ...memory, AUDIT_LOG: 'a.jsonl' }).audit, {
      log: path.resolve('a.jsonl'),
      fhir: false,
    });
    assert.equal(readConfig(memory).audit, undefined);
  });
});
