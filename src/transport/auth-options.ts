/**
 * The `auth` option checked once (`createFhirAuth`): a `TypeError` that names
 * the field, never its value, when it is wrong; else the credential that sends
 * it (auth.ts, token-auth.ts). A SMART client's key is checked against its
 * algorithm here, and its client assertions are signed with `jose`, loaded on
 * the first one only.
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { parseHttpUrl } from '../shared/http-url.js';
import {
  FHIR_AUTH_TYPES,
  StaticAuth,
  type AuthTransport,
  type FhirAuth,
  type SmartJwtAlgorithm,
} from './auth.js';
import { TokenAuth, type ClientAuthentication } from './token-auth.js';

const SMART_ALGORITHMS: Record<SmartJwtAlgorithm, { keyType: string; curve?: string }> = {
  RS384: { keyType: 'rsa' },
  ES384: { keyType: 'ec', curve: 'P-384' },
};

/** Client assertions live this long (SMART: at most 5 minutes). */
const ASSERTION_LIFETIME_S = 300;

function fail(message: string): never {
  throw new TypeError(`FhirStorage: ${message}`);
}

function requireText(options: Record<string, unknown>, name: string, secret = false): string {
  const value = options[name];
  if (typeof value !== 'string' || value.trim() === '') {
    fail(`auth.${name} must be a non-empty string`);
  }
  // A header value cannot hold a line break; say so without echoing a secret.
  if (/[\r\n]/.test(value)) fail(`auth.${name} must not contain a line break`);
  if (!secret && value !== value.trim()) fail(`auth.${name} must not start or end with spaces`);
  return value;
}

function optionalText(options: Record<string, unknown>, name: string): string | undefined {
  return options[name] === undefined ? undefined : requireText(options, name);
}

function optionalUrl(options: Record<string, unknown>, name: string): string | undefined {
  const value = optionalText(options, name);
  if (value === undefined) return undefined;
  const url = parseHttpUrl(value);
  if (!url) fail(`auth.${name} must be an absolute http(s) URL`);
  return url.href;
}

function rejectUnknown(options: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) fail(`auth has unknown option(s) ${unknown.join(', ')}`);
}

/** The private key of a SMART client, checked against the algorithm it must sign with. */
function parsePrivateKey(value: unknown, algorithm: SmartJwtAlgorithm): KeyObject {
  let key: KeyObject;
  try {
    if (typeof value === 'string' && value.includes('-----BEGIN')) {
      key = createPrivateKey({ key: value, format: 'pem' });
    } else {
      const jwk: unknown = typeof value === 'string' ? JSON.parse(value) : value;
      if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new Error('not JWK');
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    }
  } catch {
    // The parser's message could quote key material: give our own, no cause.
    fail('auth.privateKey must be a private key as PEM text or a private JWK');
  }
  const wanted = SMART_ALGORITHMS[algorithm];
  if (
    key.asymmetricKeyType !== wanted.keyType ||
    (wanted.curve && key.asymmetricKeyDetails?.namedCurve !== 'secp384r1')
  ) {
    fail(
      `auth.privateKey is not a key for ${algorithm} (${algorithm === 'RS384' ? 'an RSA key' : 'an EC P-384 key'} is needed)`,
    );
  }
  return key;
}

/** The `auth` option checked, as the credential that sends it; a `TypeError` naming the field (never its value) when wrong. */
export function createFhirAuth(value: unknown, transport: AuthTransport): FhirAuth {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`auth must be an object with a type (${FHIR_AUTH_TYPES.join(', ')})`);
  }
  const options = value as Record<string, unknown>;
  switch (options.type) {
    case 'bearer':
      rejectUnknown(options, ['type', 'token']);
      return new StaticAuth('bearer', `Bearer ${requireText(options, 'token', true)}`);
    case 'basic':
      return basicAuth(options);
    case 'client-credentials':
      return clientCredentialsAuth(options, transport);
    case 'smart-backend':
      return smartBackendAuth(options, transport);
    default:
      fail(`auth.type must be one of ${FHIR_AUTH_TYPES.join(', ')}`);
  }
}

function basicAuth(options: Record<string, unknown>): FhirAuth {
  rejectUnknown(options, ['type', 'username', 'password']);
  const username = requireText(options, 'username');
  if (username.includes(':')) fail('auth.username must not contain ":"');
  if (typeof options.password !== 'string') fail('auth.password must be a string');
  if (/[\r\n]/.test(options.password)) fail('auth.password must not contain a line break');
  const pair = Buffer.from(`${username}:${options.password}`, 'utf8').toString('base64');
  return new StaticAuth('basic', `Basic ${pair}`);
}

function clientCredentialsAuth(options: Record<string, unknown>, transport: AuthTransport) {
  rejectUnknown(options, ['type', 'clientId', 'clientSecret', 'tokenUrl', 'scope']);
  const clientId = requireText(options, 'clientId');
  const clientSecret = requireText(options, 'clientSecret', true);
  // client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded, then joined.
  const basic = Buffer.from(
    `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`,
  ).toString('base64');
  return new TokenAuth(
    'client-credentials',
    transport,
    optionalUrl(options, 'tokenUrl'),
    optionalText(options, 'scope'),
    () => Promise.resolve({ headers: { authorization: `Basic ${basic}` }, form: {} }),
  );
}

function smartBackendAuth(options: Record<string, unknown>, transport: AuthTransport) {
  rejectUnknown(options, [
    'type',
    'clientId',
    'privateKey',
    'keyId',
    'algorithm',
    'tokenUrl',
    'scope',
  ]);
  const clientId = requireText(options, 'clientId');
  const keyId = requireText(options, 'keyId');
  const algorithm = options.algorithm;
  if (algorithm !== 'RS384' && algorithm !== 'ES384') {
    fail('auth.algorithm must be "RS384" or "ES384"');
  }
  const key = parsePrivateKey(options.privateKey, algorithm);
  return new TokenAuth(
    'smart-backend',
    transport,
    optionalUrl(options, 'tokenUrl'),
    optionalText(options, 'scope'),
    clientAssertion(clientId, keyId, algorithm, key),
  );
}

/** SMART Backend Services: a client assertion (RFC 7523) signed with the client's key for each token request. */
function clientAssertion(
  clientId: string,
  keyId: string,
  algorithm: SmartJwtAlgorithm,
  key: KeyObject,
): ClientAuthentication {
  return async (tokenUrl) => {
    // jose is loaded here, on the first assertion: the package root does not load it
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: algorithm, kid: keyId, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_LIFETIME_S)
      .sign(key);
    return {
      headers: {},
      form: {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      },
    };
  };
}
