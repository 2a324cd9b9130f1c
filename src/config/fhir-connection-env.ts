/**
 * The FHIR connection settings of the facade and the CLI from the environment:
 * `FHIR_AUTH` and its credentials (`FHIR_TOKEN`, `FHIR_USERNAME`/`FHIR_PASSWORD`,
 * `FHIR_CLIENT_ID`/`FHIR_CLIENT_SECRET`, `FHIR_TOKEN_URL`, `FHIR_SCOPE`,
 * `FHIR_PRIVATE_KEY_FILE`/`FHIR_KEY_ID`/`FHIR_JWT_ALG`) and the retry budget
 * (`FHIR_RETRY_MAX_ATTEMPTS`, `FHIR_RETRY_MAX_ELAPSED_MS`), checked at start-up;
 * and TLS (`FHIR_TLS_CA_FILE`, `FHIR_TLS_CERT_FILE`, `FHIR_TLS_KEY_FILE`: fhir-tls-env.ts).
 * Errors name the variable, never its value.
 */
import fs from 'node:fs';
import { FHIR_AUTH_TYPES, type FhirAuthOptions } from '../transport/auth.js';
import { createFhirAuth } from '../transport/auth-options.js';
import { DEFAULT_RETRY, parseRetryOptions, type RetryOptions } from '../transport/retry.js';
import type { FhirTlsOptions } from '../transport/tls-options.js';
import { readFhirTlsEnv } from './fhir-tls-env.js';

export interface FhirConnectionConfig {
  auth?: FhirAuthOptions;
  retry?: RetryOptions;
  /** CA and client certificate for an https:// FHIR server, read from their files. */
  tls?: FhirTlsOptions;
}

/** The variables each method reads; any other credential variable set is a mistake worth stopping for. */
const VARIABLES: Record<FhirAuthOptions['type'] | 'none', readonly string[]> = {
  none: [],
  bearer: ['FHIR_TOKEN'],
  basic: ['FHIR_USERNAME', 'FHIR_PASSWORD'],
  'client-credentials': ['FHIR_CLIENT_ID', 'FHIR_CLIENT_SECRET', 'FHIR_TOKEN_URL', 'FHIR_SCOPE'],
  'smart-backend': [
    'FHIR_CLIENT_ID',
    'FHIR_PRIVATE_KEY_FILE',
    'FHIR_KEY_ID',
    'FHIR_JWT_ALG',
    'FHIR_TOKEN_URL',
    'FHIR_SCOPE',
  ],
};
const ALL_VARIABLES = [...new Set(Object.values(VARIABLES).flat())];

/** `FHIR_AUTH` checked, with no credential variable of another method set. */
function readAuthMethod(env: NodeJS.ProcessEnv): keyof typeof VARIABLES {
  const method = (env.FHIR_AUTH?.trim() || 'none').toLowerCase();
  if (method !== 'none' && !(FHIR_AUTH_TYPES as readonly string[]).includes(method)) {
    throw new Error(
      `FHIR_AUTH must be one of none, ${FHIR_AUTH_TYPES.join(', ')} (not ${JSON.stringify(method)})`,
    );
  }
  const used = VARIABLES[method as keyof typeof VARIABLES];
  const stray = ALL_VARIABLES.filter((name) => env[name] !== undefined && !used.includes(name));
  if (stray.length > 0) {
    throw new Error(
      `${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but FHIR_AUTH is ${method}`,
    );
  }
  return method as keyof typeof VARIABLES;
}

/** A method's variables: `required` (set and not blank) or `optional` (trimmed; blank is unset). */
function variablesOf(env: NodeJS.ProcessEnv, method: string) {
  return {
    required: (name: string): string => {
      const value = env[name];
      if (value === undefined || value.trim() === '') {
        throw new Error(`FHIR_AUTH=${method} needs ${name}`);
      }
      return value;
    },
    optional: (name: string): string | undefined => env[name]?.trim() || undefined,
  };
}

function readAuth(env: NodeJS.ProcessEnv): FhirAuthOptions | undefined {
  const method = readAuthMethod(env);
  const { required, optional } = variablesOf(env, method);
  switch (method) {
    case 'none':
      return undefined;
    case 'bearer':
      return { type: 'bearer', token: required('FHIR_TOKEN').trim() };
    case 'basic':
      return {
        type: 'basic',
        username: required('FHIR_USERNAME'),
        password: required('FHIR_PASSWORD'),
      };
    case 'client-credentials':
      return {
        type: 'client-credentials',
        clientId: required('FHIR_CLIENT_ID').trim(),
        clientSecret: required('FHIR_CLIENT_SECRET'),
        tokenUrl: optional('FHIR_TOKEN_URL'),
        scope: optional('FHIR_SCOPE'),
      };
    case 'smart-backend':
      return readSmartBackend({ required, optional });
  }
}

function readSmartBackend({ required, optional }: ReturnType<typeof variablesOf>): FhirAuthOptions {
  const algorithm = (optional('FHIR_JWT_ALG') ?? 'RS384').toUpperCase();
  if (algorithm !== 'RS384' && algorithm !== 'ES384') {
    throw new Error('FHIR_JWT_ALG must be RS384 or ES384');
  }
  const file = required('FHIR_PRIVATE_KEY_FILE');
  let privateKey: string;
  try {
    privateKey = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `FHIR_PRIVATE_KEY_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${file}`,
    );
  }
  return {
    type: 'smart-backend',
    clientId: required('FHIR_CLIENT_ID').trim(),
    privateKey,
    keyId: required('FHIR_KEY_ID').trim(),
    algorithm,
    tokenUrl: optional('FHIR_TOKEN_URL'),
    scope: optional('FHIR_SCOPE'),
  };
}

/** A whole number of at least `min` from `name`, or undefined when unset. */
function readInteger(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new Error(`${name} must be a whole number of at least ${min}`);
  }
  return Number(text);
}

/** Reads and checks the connection settings; throws an Error naming the variable at fault. */
export function readFhirConnectionEnv(env: NodeJS.ProcessEnv): FhirConnectionConfig {
  const auth = readAuth(env);
  if (auth) {
    try {
      // The same checks FhirStorage makes (key type against FHIR_JWT_ALG, URLs, …), now.
      createFhirAuth(auth, { baseUrl: 'http://localhost', timeoutMs: 1, retry: DEFAULT_RETRY });
    } catch (error) {
      const message = (error as Error).message.replace(/^FhirStorage: /, '');
      throw new Error(
        `FHIR_AUTH=${auth.type}: ${message.replace(/auth\.(\w+)/g, (_, f: string) => envName(f))}`,
      );
    }
  }
  const maxAttempts = readInteger(env, 'FHIR_RETRY_MAX_ATTEMPTS', 1);
  const maxElapsedMs = readInteger(env, 'FHIR_RETRY_MAX_ELAPSED_MS', 0);
  const retry =
    maxAttempts === undefined && maxElapsedMs === undefined
      ? undefined
      : {
          ...(maxAttempts && { maxAttempts }),
          ...(maxElapsedMs !== undefined && { maxElapsedMs }),
        };
  parseRetryOptions('FHIR_RETRY', retry);
  const tls = readFhirTlsEnv(env);
  return { ...(auth && { auth }), ...(retry && { retry }), ...(tls && { tls }) };
}

/** The variable an `auth` option comes from, for messages. */
function envName(option: string): string {
  const names: Record<string, string> = {
    token: 'FHIR_TOKEN',
    username: 'FHIR_USERNAME',
    password: 'FHIR_PASSWORD',
    clientId: 'FHIR_CLIENT_ID',
    clientSecret: 'FHIR_CLIENT_SECRET',
    tokenUrl: 'FHIR_TOKEN_URL',
    scope: 'FHIR_SCOPE',
    privateKey: 'the key in FHIR_PRIVATE_KEY_FILE',
    keyId: 'FHIR_KEY_ID',
    algorithm: 'FHIR_JWT_ALG',
  };
  return names[option] ?? option;
}
