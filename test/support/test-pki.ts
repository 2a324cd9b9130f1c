/**
 * A private PKI made by the tests with the openssl command line (Debian's
 * openssl): a CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate issued by it, and a second, unrelated CA with a client
 * certificate of its own (for "wrong CA" cases). EC P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  /** File paths (PEM). */
  files: {
    ca: string;
    serverCert: string;
    serverKey: string;
    clientCert: string;
    clientKey: string;
    otherCa: string;
    otherClientCert: string;
    otherClientKey: string;
  };
  /** Subjects (CN) of the client certificates, as `check` reports them. */
  clientSubject: string;
  otherClientSubject: string;
  read(name: keyof TestPki['files']): string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (is Debian's openssl installed?): ${stderr}`, {
      cause: error,
    });
  }
}

/** `openssl req`: a new EC P-256 key `<name>.key` for `/CN=<cn>`, and what `more` asks (a CSR, or `-x509` a certificate). */
function newKey(dir: string, name: string, cn: string, more: string[]): void {
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', ...ecKey, '-keyout', `${name}.key`, '-subj', `/CN=${cn}`, ...more]);
}

function makeCa(dir: string, name: string, cn: string): void {
  newKey(dir, name, cn, [
    '-x509',
    '-out',
    `${name}.pem`,
    '-days',
    '3',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function issue(dir: string, ca: string, name: string, cn: string, extensions: string): void {
  newKey(dir, name, cn, ['-out', `${name}.csr`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

/** Makes the PKI in a new temporary directory. */
export function makeTestPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcare-fhir-pki-'));
  const clientSubject = 'CN=healthcare-fhir test client';
  const otherClientSubject = 'CN=stranger client';
  makeCa(dir, 'ca', 'healthcare-fhir test CA');
  makeCa(dir, 'other-ca', 'unrelated CA');
  issue(
    dir,
    'ca',
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const client = 'extendedKeyUsage=clientAuth\n';
  issue(dir, 'ca', 'client', clientSubject.slice(3), client);
  issue(dir, 'other-ca', 'other-client', otherClientSubject.slice(3), client);
  const at = (file: string) => path.join(dir, file);
  const files = {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherCa: at('other-ca.pem'),
    otherClientCert: at('other-client.pem'),
    otherClientKey: at('other-client.key'),
  };
  return {
    dir,
    files,
    clientSubject,
    otherClientSubject,
    read: (name) => fs.readFileSync(files[name], 'utf8'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
