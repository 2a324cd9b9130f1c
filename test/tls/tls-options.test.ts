/**
 * The TLS settings at the edges, with certificates made by openssl: the
 * `FhirStorage` `tls` option checked in the constructor, and FHIR_TLS_*_FILE
 * read at start-up (the facade refuses to start on a bad file, naming the
 * variable and the file and quoting no key). No server is needed here.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { describeCertificate } from '../../src/cli/check/tls-section.js';
import { readFhirConnectionEnv } from '../../src/config/fhir-connection-env.js';
import { FhirStorage } from '../../src/index.js';
import { FhirTls, parseTlsOptions } from '../../src/transport/tls.js';
import { makeTestPki } from '../support/test-pki.js';

const pki = makeTestPki();
after(() => pki.remove());
const ca = pki.read('ca');
const cert = pki.read('clientCert');
const key = pki.read('clientKey');
const keyBody = key.split('\n')[1]!;
const base = 'https://fhir.example.org/fhir';
const file = (name: string, text: string): string => {
  const at = path.join(pki.dir, name);
  fs.writeFileSync(at, text, { mode: 0o600 });
  return at;
};
const encryptedKey = path.join(pki.dir, 'encrypted.key');
execFileSync('openssl', [
  'pkey',
  '-in',
  pki.files.clientKey,
  '-aes256',
  '-passout',
  'pass:secret',
  '-out',
  encryptedKey,
]);

describe('FhirStorage tls option', () => {
  it('accepts a CA and a client certificate with its key, as text or Buffers, and describes them', () => {
    const storage = new FhirStorage({ baseUrl: base, tls: { ca, cert, key } });
    assert.ok(storage);
    const parsed = parseTlsOptions('t', {
      ca: [Buffer.from(ca), pki.read('otherCa')],
      cert: Buffer.from(cert),
      key: Buffer.from(key),
    });
    assert.deepEqual(
      parsed?.description.ca === 'system' ? [] : parsed?.description.ca.map((c) => c.subject),
      ['CN=healthcare-fhir test CA', 'CN=unrelated CA'],
    );
    assert.equal(parsed?.description.client?.subject, pki.clientSubject);
    assert.equal(parsed?.description.client?.issuer, 'CN=healthcare-fhir test CA');
    assert.equal(parseTlsOptions('t', {}), undefined, '{} sets nothing');
    assert.equal(parseTlsOptions('t', { cert, key })?.description.ca, 'system');
  });

  const refused: [string, unknown, RegExp][] = [
    ['a certificate without its key', { cert }, /tls\.cert is given without tls\.key/],
    ['a key without its certificate', { ca, key }, /tls\.key is given without tls\.cert/],
    ['a CA that is not PEM', { ca: 'hello' }, /tls\.ca holds no PEM certificate/],
    ['a key given as the CA', { ca: key }, /tls\.ca holds no PEM certificate/],
    ['a certificate that is not PEM', { cert: 'x', key }, /tls\.cert holds no PEM certificate/],
    ['a key that is not PEM', { cert, key: cert }, /tls\.key is not a PEM private key/],
    [
      'an encrypted key',
      { cert, key: fs.readFileSync(encryptedKey, 'utf8') },
      /tls\.key is encrypted/,
    ],
    [
      'the key of another certificate',
      { cert, key: pki.read('otherClientKey') },
      /tls\.key is not the private key of the certificate in tls\.cert \(CN=healthcare-fhir test client\)/,
    ],
    ['an unknown option', { ca, pfx: 'x' }, /tls has unknown option\(s\) pfx/],
    ['a number as CA', { ca: 42 }, /tls\.ca must be PEM text or a Buffer/],
    ['a string', 'ca.pem', /tls must be an object/],
  ];
  for (const [title, tls, message] of refused) {
    it(`refuses ${title} in the constructor, quoting no key`, () => {
      assert.throws(
        () => new FhirStorage({ baseUrl: base, tls: tls as never }),
        (e: Error) =>
          e instanceof TypeError && message.test(e.message) && !e.message.includes(keyBody),
      );
    });
  }

  it('refuses tls on an http:// base URL: nothing would be encrypted', () => {
    assert.throws(
      () => new FhirStorage({ baseUrl: 'http://127.0.0.1:8080/fhir', tls: { ca } }),
      /tls is set but the base URL http:\/\/127\.0\.0\.1:8080 is http:\/\/: TLS settings apply to an https:\/\/ server only/,
    );
  });

  it('uses its agent for the FHIR server origin only (a token endpoint elsewhere gets the shared one)', () => {
    const tls = FhirTls.create('t', { ca, cert, key }, base)!;
    assert.equal(tls.agentFor(`${base}/Patient/1`), tls.agent);
    assert.equal(tls.agentFor('https://fhir.example.org/auth/token'), tls.agent);
    assert.equal(tls.agentFor('https://login.example.org/token'), undefined);
    assert.equal(tls.agentFor('https://fhir.example.org:8443/token'), undefined);
    tls.close();
  });

  it('check says how long the client certificate lives, and EXPIRED after its end', () => {
    const client = parseTlsOptions('t', { cert, key })!.description.client!;
    const now = describeCertificate(client);
    assert.equal(now.expired, false);
    assert.match(
      now.text,
      /^CN=healthcare-fhir test client, issued by CN=healthcare-fhir test CA, expires \S+ \(in 1 day\)$/,
    );
    const later = describeCertificate(client, client.validTo.getTime() + 1000);
    assert.equal(later.expired, true);
    assert.match(later.text, /\(EXPIRED\)$/);
  });
});

describe('FHIR_TLS_CA_FILE, FHIR_TLS_CERT_FILE, FHIR_TLS_KEY_FILE', () => {
  const env = {
    FHIR_TLS_CA_FILE: pki.files.ca,
    FHIR_TLS_CERT_FILE: pki.files.clientCert,
    FHIR_TLS_KEY_FILE: pki.files.clientKey,
  };

  it('are read at start-up into the tls option; unset, there is none', () => {
    assert.deepEqual(readFhirConnectionEnv(env).tls, { ca, cert, key });
    assert.deepEqual(readFhirConnectionEnv({ FHIR_TLS_CA_FILE: pki.files.ca }).tls, { ca });
    assert.equal(readFhirConnectionEnv({}).tls, undefined);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'a missing file',
      { ...env, FHIR_TLS_CA_FILE: path.join(pki.dir, 'nope.pem') },
      /^FHIR_TLS_CA_FILE cannot be read \(ENOENT\): .*nope\.pem$/,
    ],
    [
      'a directory',
      { ...env, FHIR_TLS_CERT_FILE: pki.dir },
      /^FHIR_TLS_CERT_FILE cannot be read \(EISDIR\)/,
    ],
    [
      'a CA file without PEM',
      { FHIR_TLS_CA_FILE: file('garbage.pem', 'not a certificate') },
      /^FHIR_TLS_CA_FILE \(.*garbage\.pem\) holds no PEM certificate/,
    ],
    [
      'an http:// FHIR_BASE_URL',
      { ...env, FHIR_BASE_URL: 'http://127.0.0.1:8080/fhir' },
      /^FHIR_TLS_CA_FILE, FHIR_TLS_CERT_FILE, FHIR_TLS_KEY_FILE are set but the FHIR base URL http:\/\/127\.0\.0\.1:8080 is http:\/\/: TLS settings apply to an https:\/\/ FHIR server only$/,
    ],
    [
      'a certificate without its key',
      { FHIR_TLS_CERT_FILE: pki.files.clientCert },
      /^FHIR_TLS_CERT_FILE is set without FHIR_TLS_KEY_FILE/,
    ],
    [
      'a key without its certificate',
      { FHIR_TLS_KEY_FILE: pki.files.clientKey },
      /^FHIR_TLS_KEY_FILE is set without FHIR_TLS_CERT_FILE/,
    ],
    [
      'a key that is not the certificate’s',
      { ...env, FHIR_TLS_KEY_FILE: pki.files.otherClientKey },
      /^FHIR_TLS_KEY_FILE \(.*other-client\.key\) is not the private key of the certificate in FHIR_TLS_CERT_FILE \(.*client\.pem\)/,
    ],
  ];
  for (const [title, variables, message] of bad) {
    it(`${title} is one error naming the variables (and file) at fault, quoting no key`, () => {
      assert.throws(
        () => readFhirConnectionEnv(variables),
        (e: Error) => message.test(e.message) && !e.message.includes(keyBody),
      );
    });
  }

  it('npm start with a key that is not the certificate’s stops at once (exit 2) with that message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        FHIR_BASE_URL: 'https://127.0.0.1:9/fhir',
        PORT: '0',
        ...env,
        FHIR_TLS_KEY_FILE: pki.files.otherClientKey,
      },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2, output);
    assert.match(output, /FHIR_TLS_KEY_FILE \(.*other-client\.key\) is not the private key/);
    assert.ok(!output.includes(keyBody));
  });
});
