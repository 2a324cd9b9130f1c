/**
 * The transport's TLS against a real TLS server that requires a client
 * certificate (node's own https server, as OpenHIM runs it: `requestCert`,
 * `rejectUnauthorized`), with certificates made by openssl: the client
 * certificate is presented on the FHIR requests and on the SMART discovery and
 * token requests of the same origin; a missing client certificate, a server
 * certificate from a CA not given, and TLS to a plain http port are clear
 * `unreachable` errors, each sent once (no retry can fix a certificate).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { FhirStorage, StorageUnavailableError } from '../../src/index.js';
import { makeTestPki } from '../support/test-pki.js';

const pki = makeTestPki();
const ca = pki.read('ca');
const cert = pki.read('clientCert');
const key = pki.read('clientKey');

/** What the server saw: TCP connections, and per request path the client certificate's CN. */
const seen = { connections: 0, requests: [] as { path: string; client: string }[] };
const server = https.createServer(
  {
    key: pki.read('serverKey'),
    cert: pki.read('serverCert'),
    ca,
    requestCert: true,
    rejectUnauthorized: true,
  },
  (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.requests.push({ path: req.url ?? '', client: String(peer.subject?.CN) });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/fhir/.well-known/smart-configuration') {
      json(200, { token_endpoint: `${origin}/auth/token` });
    } else if (req.url === '/auth/token') {
      json(200, { access_token: 'tok', token_type: 'bearer', expires_in: 300 });
    } else if (req.headers.authorization !== 'Bearer tok') {
      json(401, { resourceType: 'OperationOutcome', issue: [] });
    } else if (req.url === '/fhir/metadata') {
      json(200, { resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', rest: [] });
    } else {
      json(404, { resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
    }
  },
);
server.on('connection', () => seen.connections++);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
const plain = http.createServer((_req, res) => res.end('plain'));
await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
after(async () => {
  server.closeAllConnections();
  plain.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => plain.close(resolve));
  pki.remove();
});

const auth = { type: 'client-credentials', clientId: 'c', clientSecret: 's' } as const;

/** The error of one read through `storage`, and how many connections it opened. */
async function failure(
  storage: FhirStorage,
): Promise<{ error: StorageUnavailableError; connections: number }> {
  const before = seen.connections;
  const error = await storage.getPatient('1').then(
    () => assert.fail('the read passed'),
    (e: unknown) => e,
  );
  await storage.close();
  assert.ok(error instanceof StorageUnavailableError, String(error));
  return { error, connections: seen.connections - before };
}

describe('TLS of the transport against a server that requires a client certificate', () => {
  it('presents the client certificate on discovery, the same-origin token request and the FHIR requests', async () => {
    seen.requests.length = 0;
    const storage = new FhirStorage({ baseUrl: `${origin}/fhir`, auth, tls: { ca, cert, key } });
    await storage.checkReady();
    assert.equal(await storage.getPatient('1'), null);
    await storage.close();
    assert.deepEqual(
      seen.requests.map((r) => r.path),
      ['/fhir/.well-known/smart-configuration', '/auth/token', '/fhir/metadata', '/fhir/Patient/1'],
    );
    assert.ok(seen.requests.every((r) => r.client === 'healthcare-fhir test client'));
  });

  it('without a client certificate: unreachable, the server requires one, sent once', async () => {
    const { error, connections } = await failure(
      new FhirStorage({ baseUrl: `${origin}/fhir`, tls: { ca } }),
    );
    assert.equal(error.kind, 'unreachable');
    assert.match(
      error.message,
      /is unreachable \(GET\): TLS: the server refused the handshake: it requires a client certificate and none was sent \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)/,
    );
    assert.equal(connections, 1, 'not retried');
  });

  for (const [title, tls] of [
    ['a CA that did not issue the server certificate', { ca: pki.read('otherCa'), cert, key }],
    ['the system CAs (no tls option)', undefined],
  ] as const) {
    it(`with ${title}: unreachable, the server certificate is not trusted, sent once`, async () => {
      const { error, connections } = await failure(
        new FhirStorage({ baseUrl: `${origin}/fhir`, tls }),
      );
      assert.equal(error.kind, 'unreachable');
      assert.match(
        error.message,
        /TLS: the server's certificate is not trusted \(self-signed certificate in certificate chain; SELF_SIGNED_CERT_IN_CHAIN\): give the CA that issued it as the tls\.ca option \(FHIR_TLS_CA_FILE\)/,
      );
      assert.equal(connections, 1, 'not retried');
    });
  }

  it('https:// to a plain http port: the server does not speak TLS there', async () => {
    const port = (plain.address() as AddressInfo).port;
    const storage = new FhirStorage({ baseUrl: `https://127.0.0.1:${port}/fhir`, tls: { ca } });
    const error = await storage.getPatient('1').catch((e: unknown) => e);
    await storage.close();
    assert.ok(error instanceof StorageUnavailableError);
    assert.equal(error.kind, 'unreachable');
    assert.match(error.message, /the server does not speak TLS on this port/);
  });
});
