/**
 * The FHIR server's TLS settings of the facade and the CLI from the
 * environment: `FHIR_TLS_CA_FILE` (CA certificates to trust instead of the
 * system's), `FHIR_TLS_CERT_FILE` and `FHIR_TLS_KEY_FILE` (a client
 * certificate and its key: mutual TLS). The files are read once, at start-up,
 * and checked as `FhirStorage` checks its `tls` option: a missing or
 * unreadable file, one without PEM, a certificate without its key (or the
 * reverse) or a key that is not the certificate's stops start-up with one
 * message naming the variable and the file, never their content; so does
 * an `http://` base URL (`FHIR_BASE_URL`, or `check`'s argument): nothing
 * would be encrypted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { origin } from '../transport/http.js';
import { parseTlsOptions, type FhirTlsOptions } from '../transport/tls.js';

const VARIABLES = {
  ca: 'FHIR_TLS_CA_FILE',
  cert: 'FHIR_TLS_CERT_FILE',
  key: 'FHIR_TLS_KEY_FILE',
} as const;
type TlsFile = keyof typeof VARIABLES;

function readPem(name: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `${name} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${file}`,
    );
  }
}

/** The `tls` option these variables describe, checked; undefined when none is set. */
export function readFhirTlsEnv(env: NodeJS.ProcessEnv): FhirTlsOptions | undefined {
  const files: Partial<Record<TlsFile, string>> = {};
  for (const option of Object.keys(VARIABLES) as TlsFile[]) {
    const value = env[VARIABLES[option]]?.trim();
    if (value) files[option] = path.resolve(value);
  }
  if (files.cert && !files.key) {
    throw new Error(
      'FHIR_TLS_CERT_FILE is set without FHIR_TLS_KEY_FILE: a client certificate needs its private key',
    );
  }
  if (files.key && !files.cert) {
    throw new Error(
      'FHIR_TLS_KEY_FILE is set without FHIR_TLS_CERT_FILE: a private key needs its client certificate',
    );
  }
  const options: FhirTlsOptions = {};
  for (const option of Object.keys(files) as TlsFile[]) {
    options[option] = readPem(VARIABLES[option], files[option]!);
  }
  if (Object.keys(options).length === 0) return undefined;
  const base = env.FHIR_BASE_URL?.trim();
  if (base && /^http:/i.test(base)) {
    const set = (Object.keys(files) as TlsFile[]).map((f) => VARIABLES[f]).join(', ');
    throw new Error(
      `${set} ${Object.keys(files).length > 1 ? 'are' : 'is'} set but the FHIR base URL ${origin(base)} is http://: TLS settings apply to an https:// FHIR server only`,
    );
  }
  try {
    parseTlsOptions('FHIR_TLS', options);
  } catch (error) {
    // `tls.key` → `FHIR_TLS_KEY_FILE (/etc/…/key.pem)`: the variable and file at fault.
    const message = (error as Error).message
      .replace(/^FHIR_TLS: /, '')
      .replace(/^tls: /, 'FHIR_TLS_* files: ')
      .replace(/\btls\.(ca|cert|key)\b/g, (_, f: TlsFile) => `${VARIABLES[f]} (${files[f]})`);
    throw new Error(message);
  }
  return options;
}
