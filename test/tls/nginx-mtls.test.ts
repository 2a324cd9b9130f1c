/**
 * Mutual TLS to a real FHIR server: HAPI (FHIR_BASE_URL) behind Debian's
 * nginx with `ssl_verify_client on`, a private CA, server and client
 * certificates made by openssl. The conformance suite passes through it with
 * the client certificate; without one, or with one nginx does not trust, every
 * call fails with an error that says so; with a CA that did not issue nginx's
 * certificate the TLS verification error is clear. The facade and
 * `healthcare-fhir check` read FHIR_TLS_* and work through it; `check`
 * reports the CA, the client certificate and the handshake.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { FhirStorage, StorageUnavailableError } from '../../src/index.js';
import { readConfig, startServer } from '../../src/server.js';
import { runConformanceSuite } from '../../src/testing/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { call, captureLogger } from '../http/helpers.js';
import { startNginxTls } from '../support/nginx-tls.js';
import { makeTestPki } from '../support/test-pki.js';

const upstream = requireFhirBaseUrl();
const pki = makeTestPki();
const nginx = await startNginxTls(upstream, pki).catch((error: unknown) => {
  pki.remove();
  throw error;
});
after(async () => {
  await nginx.stop();
  pki.remove();
});
const run = randomBytes(5).toString('hex');
const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: `mtls-${run}` };
const ca = pki.read('ca');
const cert = pki.read('clientCert');
const key = pki.read('clientKey');
const tlsEnv = {
  FHIR_TLS_CA_FILE: pki.files.ca,
  FHIR_TLS_CERT_FILE: pki.files.clientCert,
  FHIR_TLS_KEY_FILE: pki.files.clientKey,
};

// Pages of 7, so searches follow nginx's rewritten https `next` links.
runConformanceSuite(
  'FhirStorage through nginx with a client certificate (ssl_verify_client on)',
  () => new FhirStorage({ baseUrl: nginx.baseUrl, scopeTag, pageSize: 7, tls: { ca, cert, key } }),
  { teardown: (storage) => (storage as FhirStorage).close() },
);

/** Every storage call, each expected to fail the same way. */
const calls: [string, (s: FhirStorage) => Promise<unknown>][] = [
  ['checkReady', (s) => s.checkReady()],
  ['getPatient', (s) => s.getPatient('1')],
  ['filterPatients', (s) => s.filterPatients(['name', '==', `Nobody ${run}`])],
  ['createPatient', (s) => s.createPatient({ name: `Nobody ${run}` })],
  ['deletePatient', (s) => s.deletePatient('1')],
];

async function everyCallFails(storage: FhirStorage, kind: string, message: RegExp): Promise<void> {
  try {
    for (const [name, call] of calls) {
      const error = await call(storage).then(
        () => assert.fail(`${name} passed`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof StorageUnavailableError, `${name}: ${String(error)}`);
      assert.equal(error.kind, kind, name);
      assert.match(error.message, message, name);
    }
  } finally {
    await storage.close();
  }
}

describe('nginx refusing the client', () => {
  it('without a client certificate every call fails: 400 from the gateway, which needs one and got none', async () => {
    await everyCallFails(
      new FhirStorage({ baseUrl: nginx.baseUrl, scopeTag, tls: { ca } }),
      'bad-response',
      /answered \w+ with status 400 and a body that is not JSON: a TLS gateway answers so when it requires a client certificate and none was sent/,
    );
    assert.match(nginx.errorLog(), /client sent no required SSL certificate/);
  });

  it('with a client certificate from another CA every call fails, naming the certificate sent', async () => {
    const other = { cert: pki.read('otherClientCert'), key: pki.read('otherClientKey') };
    await everyCallFails(
      new FhirStorage({ baseUrl: nginx.baseUrl, scopeTag, tls: { ca, ...other } }),
      'bad-response',
      /a TLS gateway answers so when it does not accept the client certificate sent \(CN=stranger client, issued by CN=unrelated CA\)/,
    );
  });

  it('with a CA that did not issue nginx’s certificate every call fails: not trusted, sent once', async () => {
    await everyCallFails(
      new FhirStorage({
        baseUrl: nginx.baseUrl,
        scopeTag,
        tls: { ca: pki.read('otherCa'), cert, key },
      }),
      'unreachable',
      /^https:\/\/127\.0\.0\.1:\d+ is unreachable \(\w+\): TLS: the server's certificate is not trusted \(unable to verify the first certificate; UNABLE_TO_VERIFY_LEAF_SIGNATURE\): give the CA that issued it as the tls\.ca option \(FHIR_TLS_CA_FILE\)$/,
    );
  });
});

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('FHIR_TLS_* through nginx', () => {
  it('healthcare-fhir check reports the CA file, the client certificate and a trusted handshake, and passes', async () => {
    const { code, out } = await cli(['check', nginx.baseUrl], tlsEnv);
    assert.equal(code, 0, out);
    const tls = out.slice(
      out.indexOf('\nTLS\n'),
      out.indexOf('\nServer support and lookup plan\n'),
    );
    assert.match(tls, new RegExp(`trusted CAs: 1 given from FHIR_TLS_CA_FILE=${pki.files.ca}`));
    assert.match(tls, /CN=healthcare-fhir test CA, issued by CN=healthcare-fhir test CA, expires/);
    assert.match(
      tls,
      new RegExp(`client certificate from FHIR_TLS_CERT_FILE=${pki.files.clientCert}:`),
    );
    assert.match(
      tls,
      /CN=healthcare-fhir test client, issued by CN=healthcare-fhir test CA, expires \S+ \(in 1 day\), SHA-256 [0-9A-F:]{95}/,
    );
    assert.match(
      tls,
      /handshake: TLSv1\.[23]; server certificate:\n {4}CN=localhost, issued by CN=healthcare-fhir test CA, expires \S+ \(in 1 day\)\n {4}trusted/,
    );
    assert.ok(!out.includes(key.split('\n')[1]!), 'no key material');
    assert.match(out, /Server support and lookup plan\n {2}server: HAPI/);
  });

  it('check without the CA file: the system CAs, nginx not trusted, exit 1', async () => {
    const { code, out } = await cli(['check', nginx.baseUrl], {});
    assert.equal(code, 1, out);
    assert.match(out, /trusted CAs: the system store/);
    assert.match(out, /client certificate: none/);
    assert.match(
      out,
      /NOT trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE: give the CA that issued it as FHIR_TLS_CA_FILE/,
    );
  });

  it('healthcare-fhir export configured by FHIR_TLS_* reads through nginx', async () => {
    const storage = new FhirStorage({ baseUrl: nginx.baseUrl, scopeTag, tls: { ca, cert, key } });
    const name = `Export mTLS ${run}`;
    const created = await storage.createPatient({ name });
    await storage.close();
    const { code, out } = await cli(['export', '--model', 'patient', `name=${name}`], {
      ...tlsEnv,
      FHIR_BASE_URL: nginx.baseUrl,
      FHIR_SCOPE_TAG: `${scopeTag.system}|${scopeTag.code}`,
    });
    assert.equal(code, 0, out);
    assert.deepEqual(
      out
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{')) // stderr says "exported 1 patients"
        .map((line) => (JSON.parse(line) as { id: string }).id),
      [created.id],
    );
  });

  it('the facade started with FHIR_TLS_* creates, reads and searches through nginx', async () => {
    const { logger } = captureLogger();
    const config = readConfig({
      ...tlsEnv,
      FHIR_BASE_URL: nginx.baseUrl,
      FHIR_SCOPE_TAG: `${scopeTag.system}|${scopeTag.code}`,
      PORT: '0',
    });
    const running = await startServer(config, { logger });
    try {
      const name = `Facade mTLS ${run}`;
      const created = await call(running.url, 'POST', '/patients', { body: { name } });
      assert.equal(created.status, 201);
      const { id } = created.json as { id: string };
      assert.equal((await call(running.url, 'GET', `/patients/${id}`)).status, 200);
      const found = await call(running.url, 'GET', `/patients?name=${encodeURIComponent(name)}`);
      assert.deepEqual(
        (found.json as { id: string }[]).map((r) => r.id),
        [id],
      );
    } finally {
      await running.shutdown();
    }
  });
});
