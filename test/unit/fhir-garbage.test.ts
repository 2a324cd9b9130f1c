/**
 * FhirStorage against a REAL local HTTP server (node:http on 127.0.0.1) that
 * answers wrongly: every garbage answer must be a StorageUnavailableError of
 * the right kind — never a wrong true/false/null, never a hang, never an
 * unhandled rejection.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, afterEach, before, describe, it } from 'node:test';
import { FhirStorage, StorageUnavailableError, comparisons as C } from '../../src/index.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** A local server whose answer each test sets; it records every request line. */
class GarbageServer {
  readonly requests: string[] = [];
  handler: Handler = (_req, res) => res.writeHead(500).end();
  private readonly server = http.createServer((req, res) => {
    this.requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => this.handler(req, res));
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const fhir = new GarbageServer();
const other = new GarbageServer();
let origin = '';
let otherOrigin = '';
const timeoutMs = 300;
// One answer, one verdict: retries are proven in test/faults.
// deleteAnswers 'tells': the DELETE answers here are HAPI's, read without asking /metadata
const storage = () =>
  new FhirStorage({ baseUrl: `${origin}/fhir`, timeoutMs, retry: false, deleteAnswers: 'tells' });

const kind =
  (k: 'bad-response' | 'timeout' | 'unreachable') =>
  (e: unknown): boolean => {
    assert.ok(e instanceof StorageUnavailableError, `a StorageUnavailableError, got ${String(e)}`);
    assert.equal(e.kind, k);
    assert.doesNotMatch(e.message, /Jane|Doe|1990/, 'no patient data in the message');
    return true;
  };

const send =
  (status: number, body?: unknown, type = 'application/fhir+json'): Handler =>
  (_req, res) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': type });
    res.end(
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    );
  };

/** Answers by method and path prefix; anything else is a 500. */
const route =
  (routes: Record<string, Handler>): Handler =>
  (req, res) => {
    const key = Object.keys(routes).find((k) => `${req.method} ${req.url}`.startsWith(k));
    (key ? routes[key]! : send(500))(req, res);
  };

const patient = (id: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  id,
  meta: { versionId: '1', lastUpdated: '2026-01-02T03:04:05.678Z' },
  name: [{ text: 'Jane Doe' }],
  birthDate: '1990-05-01',
  ...extra,
});
const bundle = (entry: unknown[], next?: string) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
  entry,
});
const match = (resource: unknown) => ({ resource, search: { mode: 'match' } });
const outcome = (code?: string) => ({
  resourceType: 'OperationOutcome',
  issue: [
    {
      severity: 'information',
      code: 'informational',
      ...(code ? { details: { coding: [{ code }] } } : {}),
      diagnostics: 'Jane Doe 1990',
    },
  ],
});

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  origin = await fhir.start();
  otherOrigin = await other.start();
});
after(async () => {
  await fhir.stop();
  await other.stop();
  process.off('unhandledRejection', onUnhandled);
});
afterEach(() => {
  fhir.requests.length = 0;
  other.requests.length = 0;
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

describe('FhirStorage on a server answering garbage (real local HTTP server)', () => {
  const wrongReads: [string, Handler][] = [
    ['200 with HTML', send(200, '<html><body>Jane Doe</body></html>', 'text/html')],
    ['200 with {}', send(200, {})],
    ['200 with an empty body', send(200)],
    ['200 with an OperationOutcome', send(200, outcome())],
    ['200 with a Practitioner', send(200, { ...patient('1'), resourceType: 'Practitioner' })],
    ['200 with a Patient of another id', send(200, patient('2'))],
    ['200 with a JSON array', send(200, [patient('1')])],
    ['404 that is not FHIR (a wrong base URL)', send(404, { status: 404, error: 'Not Found' })],
    ['410 with HTML', send(410, '<html>gone</html>', 'text/html')],
    ['500', send(500, outcome())],
  ];
  for (const [title, handler] of wrongReads) {
    it(`a read answered ${title}: get, update, delete-free reads and links are bad-response`, async () => {
      fhir.handler = handler;
      const s = storage();
      await assert.rejects(s.getPatient('1'), kind('bad-response'));
      await assert.rejects(s.updatePatient('1', { location: 'x' }), kind('bad-response'));
      await assert.rejects(s.getPatientLinks('1'), kind('bad-response'));
      await assert.rejects(s.unlinkPatient('1', 's', 'n'), kind('bad-response'));
      // nothing but reads was sent
      assert.ok(
        fhir.requests.every((r) => r === 'GET /fhir/Patient/1'),
        fhir.requests.join(),
      );
    });
  }

  it('a read answered 503 with a proxy page (retries off) is unreachable with upstreamStatus 503, not a null', async () => {
    fhir.handler = send(503, 'upstream down', 'text/plain');
    const s = storage();
    await assert.rejects(s.getPatient('1'), (e: unknown) => {
      assert.ok(kind('unreachable')(e));
      assert.equal((e as StorageUnavailableError).upstreamStatus, 503);
      return true;
    });
    await assert.rejects(s.updatePatient('1', { location: 'x' }), kind('unreachable'));
    assert.deepEqual(fhir.requests, ['GET /fhir/Patient/1', 'GET /fhir/Patient/1']);
  });

  it('a PUT answered with a Patient of another id (or {}) is bad-response', async () => {
    for (const answer of [patient('2', { meta: { versionId: '2' } }), {}]) {
      fhir.handler = route({
        'GET /fhir/Patient/1': send(200, patient('1')),
        PUT: send(200, answer),
      });
      await assert.rejects(storage().updatePatient('1', { location: 'x' }), kind('bad-response'));
    }
  });

  it('a POST answered with {} or an OperationOutcome is bad-response', async () => {
    for (const answer of [{}, outcome(), '<html></html>']) {
      fhir.handler = send(201, answer);
      await assert.rejects(storage().createPatient({ name: 'Jane Doe' }), kind('bad-response'));
    }
  });

  const wrongDeletes: [string, Handler][] = [
    ['200 with {}', send(200, {})],
    ['200 with a Patient', send(200, patient('1'))],
    ['200 with a Bundle', send(200, bundle([]))],
    ['200 with HTML', send(200, '<html>ok</html>', 'text/html')],
    [
      '200 with an error OperationOutcome',
      send(200, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'processing' }],
      }),
    ],
    ['404 that is not FHIR', send(404, { error: 'Not Found' })],
    ['500', send(500, outcome())],
  ];
  for (const [title, handler] of wrongDeletes) {
    it(`a DELETE answered ${title} is bad-response, not true/false`, async () => {
      fhir.handler = handler;
      await assert.rejects(storage().deletePatient('1'), kind('bad-response'));
    });
  }

  it('well-formed DELETE answers still read right', async () => {
    const s = storage();
    fhir.handler = send(200, outcome('SUCCESSFUL_DELETE'));
    assert.equal(await s.deletePatient('1'), true);
    fhir.handler = send(200, outcome('SUCCESSFUL_DELETE_NOT_FOUND'));
    assert.equal(await s.deletePatient('1'), false);
    fhir.handler = send(204);
    assert.equal(await s.deletePatient('1'), true);
    fhir.handler = send(404, { resourceType: 'OperationOutcome', issue: [] });
    assert.equal(await s.deletePatient('1'), false);
    fhir.handler = send(410, { resourceType: 'OperationOutcome', issue: [] });
    assert.equal(await s.deletePatient('1'), false);
  });

  const wrongSearches: [string, () => unknown][] = [
    [
      'an entry of another type (mode match)',
      () => bundle([match(patient('1')), match({ ...patient('2'), resourceType: 'Practitioner' })]),
    ],
    [
      'an entry of another type (no mode)',
      () => bundle([{ resource: { ...patient('2'), resourceType: 'Observation' } }]),
    ],
    ['an entry without a resource', () => bundle([{ search: { mode: 'match' } }])],
    ['an entry that is not an object', () => bundle([7])],
    [
      'a next link to another host',
      () => bundle([match(patient('1'))], `${otherOrigin}/fhir?_getpages=x`),
    ],
    [
      'a next link outside the base URL',
      () => bundle([match(patient('1'))], `${origin}/elsewhere?_getpages=x`),
    ],
    ['a next link that is not a URL', () => bundle([match(patient('1'))], 'http://[::1')],
    [
      'a next link to the same page again',
      () => bundle([match(patient('1'))], `${origin}/fhir/Patient?_sort=_lastUpdated&_count=1000`),
    ],
    ['a searchset that is not a Bundle', () => outcome()],
    ['a Bundle with entry not an array', () => ({ ...bundle([]), entry: {} })],
  ];
  for (const [title, body] of wrongSearches) {
    it(`a search answered with ${title} is bad-response`, async () => {
      // a next page at our base would succeed: only following the link as given fails
      fhir.handler = route({
        'GET /fhir/Patient?': send(200, body()),
        'GET /fhir?': send(200, bundle([])),
      });
      await assert.rejects(storage().filterPatients(), kind('bad-response'));
      await assert.rejects(storage().getPatient('v', 'src'), kind('bad-response'));
      assert.deepEqual(other.requests, [], 'nothing was sent to another host');
      assert.ok(fhir.requests.length <= 4, `${fhir.requests.length} requests for two calls`);
    });
  }

  it('included resources and OperationOutcome entries of a search are skipped', async () => {
    fhir.handler = send(
      200,
      bundle([
        match(patient('1')),
        { resource: { resourceType: 'Organization', id: 'o1' }, search: { mode: 'include' } },
        { resource: outcome(), search: { mode: 'outcome' } },
      ]),
    );
    assert.deepEqual(
      (await storage().filterPatients()).map((r) => r.id),
      ['1'],
    );
  });

  it('a search page answered 500 is bad-response (never a partial result)', async () => {
    fhir.handler = route({
      'GET /fhir/Patient?': send(200, bundle([match(patient('1'))], `${origin}/fhir?_getpages=p2`)),
      'GET /fhir?_getpages=p2': send(500, outcome()),
    });
    await assert.rejects(storage().filterPatients(), kind('bad-response'));
  });

  const encoders: [string, (data: Buffer) => Buffer][] = [
    ['gzip', (data) => zlib.gzipSync(data)],
    ['deflate', (data) => zlib.deflateSync(data)],
    ['br', (data) => zlib.brotliCompressSync(data)],
  ];
  for (const [encoding, encode] of encoders) {
    it(`an answer in Content-Encoding ${encoding} is decoded; one that is not ${encoding} data is bad-response`, async () => {
      fhir.handler = (_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/fhir+json',
          'content-encoding': encoding,
        });
        res.end(encode(Buffer.from(JSON.stringify(patient('1')))));
      };
      assert.equal((await storage().getPatient('1'))?.name, 'Jane Doe');
      fhir.handler = (_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/fhir+json',
          'content-encoding': encoding,
        });
        res.end(encode(Buffer.from(JSON.stringify(patient('1')))).subarray(0, 8));
      };
      await assert.rejects(storage().getPatient('1'), kind('bad-response'));
    });
  }

  it('a redirect is not followed (our credentials stay with our server): unreachable, one request', async () => {
    fhir.handler = (_req, res) =>
      res.writeHead(302, { location: `${otherOrigin}/fhir/Patient/1` }).end();
    await assert.rejects(storage().getPatient('1'), kind('unreachable'));
    assert.deepEqual(fhir.requests, ['GET /fhir/Patient/1']);
    assert.deepEqual(other.requests, []);
  });

  it('a body that never ends → timeout within timeoutMs', async () => {
    fhir.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.write('{"resourceType":"Patient","id":"1",');
    };
    const s = storage();
    for (const call of [
      () => s.getPatient('1'),
      () => s.filterPatients(['name', C.LIKE, 'J']),
      () => s.deletePatient('1'),
      () => s.createPatient({ name: 'Jane Doe' }),
    ]) {
      const start = Date.now();
      await assert.rejects(call(), kind('timeout'));
      assert.ok(Date.now() - start < timeoutMs + 1000, `took ${Date.now() - start} ms`);
    }
  });

  it('a server that accepts the connection and never answers → timeout within timeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const s = new FhirStorage({
        baseUrl: `http://127.0.0.1:${port}/fhir`,
        timeoutMs,
        retry: false,
      });
      for (const call of [
        () => s.getPatient('1'),
        () => s.updatePatient('1', { name: 'N' }),
        () => s.linkPatient('1', 'a', 'b'),
        () => s.checkReady(),
      ]) {
        const start = Date.now();
        await assert.rejects(call(), kind('timeout'));
        assert.ok(Date.now() - start < timeoutMs + 1000, `took ${Date.now() - start} ms`);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
