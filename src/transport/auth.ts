/**
 * Credentials for the FHIR server: the `auth` option checked once, and the
 * `Authorization` header of every request. Static bearer tokens and HTTP basic
 * are sent as given; OAuth 2.0 client credentials (client secret) and SMART
 * Backend Services (a `private_key_jwt` client assertion signed with `jose`)
 * get an access token from the token endpoint (configured, or discovered from
 * `{baseUrl}/.well-known/smart-configuration`), keep it, and fetch a new one
 * shortly before it expires or when the server refuses it.
 *
 * Secrets and tokens live in private fields and never reach a message,
 * an error or `util.inspect`.
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { StorageUnavailableError } from '../api/errors.js';
import { parseHttpUrl } from '../shared/http-url.js';
import { origin } from './http.js';
import { events } from './events.js';
import { sendWithRetry, type RetryPolicy } from './retry.js';
import type { FhirTls } from './tls.js';

export type SmartJwtAlgorithm = 'RS384' | 'ES384';

export type FhirAuthOptions =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | {
      type: 'client-credentials';
      clientId: string;
      clientSecret: string;
      /** Default: the `token_endpoint` of `{baseUrl}/.well-known/smart-configuration`. */
      tokenUrl?: string;
      /** Space-separated scopes; none sent when absent. */
      scope?: string;
    }
  | {
      type: 'smart-backend';
      clientId: string;
      /** PKCS#8/PKCS#1/SEC1 PEM text, or a private JWK (object or JSON text). */
      privateKey: string | Record<string, unknown>;
      /** The `kid` of the public key registered with the authorization server. */
      keyId: string;
      algorithm: SmartJwtAlgorithm;
      tokenUrl?: string;
      scope?: string;
    };

export type FhirAuthType = FhirAuthOptions['type'];
export const FHIR_AUTH_TYPES: readonly FhirAuthType[] = [
  'bearer',
  'basic',
  'client-credentials',
  'smart-backend',
];

/** What `healthcare-fhir check` reports about authentication; never a secret. */
export interface AuthCheck {
  method: FhirAuthType | 'none';
  /** Token-based methods: where tokens come from, and whether it was configured or discovered. */
  tokenEndpoint?: { url: string; source: 'configured' | 'discovered' } | { error: string };
  /** Token-based methods: whether the endpoint issued a token to us just now. */
  tokenObtained?: boolean;
  /** Lifetime of the token obtained, in seconds, when the server said. */
  tokenExpiresInS?: number;
  /** Why no token was obtained. */
  error?: string;
}

interface Transport {
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** @internal The FHIR server's TLS setup: used for discovery, and for a token endpoint on the server's origin only. */
  tls?: FhirTls;
}

interface CachedToken {
  value: string;
  /** `expires_in` as the server gave it. */
  lifetimeS?: number;
  /** Fetch a new one from this time (performance.now() clock); Infinity when the server gave no lifetime. */
  refreshAt: number;
}

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

/** Sends the `Authorization` header; `refreshable` ones can get a new one after a 401. */
export abstract class FhirAuth {
  abstract readonly method: FhirAuthType;
  /** Whether a 401 is worth one more try with a new credential. */
  abstract readonly refreshable: boolean;
  /** The `Authorization` header value for the next request. */
  abstract authorization(): Promise<string>;
  /** The server refused `used`: forget it, so the next `authorization()` fetches a new one. */
  invalidate(used: string): void {
    void used;
  }
  /** What `check` shows: the method, and for tokens the endpoint and one token fetched now. */
  async check(): Promise<AuthCheck> {
    return { method: this.method };
  }

  /** The `auth` option checked; a `TypeError` that names the field (never its value) when wrong. */
  static create(value: unknown, transport: Transport): FhirAuth {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(`auth must be an object with a type (${FHIR_AUTH_TYPES.join(', ')})`);
    }
    const options = value as Record<string, unknown>;
    switch (options.type) {
      case 'bearer':
        rejectUnknown(options, ['type', 'token']);
        return new StaticAuth('bearer', `Bearer ${requireText(options, 'token', true)}`);
      case 'basic': {
        rejectUnknown(options, ['type', 'username', 'password']);
        const username = requireText(options, 'username');
        if (username.includes(':')) fail('auth.username must not contain ":"');
        if (typeof options.password !== 'string') fail('auth.password must be a string');
        if (/[\r\n]/.test(options.password)) fail('auth.password must not contain a line break');
        const pair = Buffer.from(`${username}:${options.password}`, 'utf8').toString('base64');
        return new StaticAuth('basic', `Basic ${pair}`);
      }
      case 'client-credentials': {
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
      case 'smart-backend': {
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
          async (tokenUrl) => {
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
          },
        );
      }
      default:
        fail(`auth.type must be one of ${FHIR_AUTH_TYPES.join(', ')}`);
    }
  }
}

class StaticAuth extends FhirAuth {
  readonly refreshable = false;
  readonly #header: string;
  constructor(
    readonly method: 'bearer' | 'basic',
    header: string,
  ) {
    super();
    this.#header = header;
  }
  authorization(): Promise<string> {
    return Promise.resolve(this.#header);
  }
}

/** How the client authenticates itself in a token request. */
type ClientAuthentication = (
  tokenUrl: string,
) => Promise<{ headers: Record<string, string>; form: Record<string, string> }>;

class TokenAuth extends FhirAuth {
  readonly refreshable = true;
  #cached?: Promise<CachedToken>;
  #tokenUrl?: Promise<{ url: string; source: 'configured' | 'discovered' }>;
  /** Token requests made, for tests and `check`. */
  tokensFetched = 0;

  constructor(
    readonly method: 'client-credentials' | 'smart-backend',
    private readonly transport: Transport,
    configuredTokenUrl: string | undefined,
    private readonly scope: string | undefined,
    private readonly clientAuthentication: ClientAuthentication,
  ) {
    super();
    if (configuredTokenUrl) {
      this.#tokenUrl = Promise.resolve({ url: configuredTokenUrl, source: 'configured' });
    }
  }

  async authorization(): Promise<string> {
    let cached = this.#cached;
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (!token || performance.now() >= token.refreshAt) {
        if (this.#cached === cached) this.#cached = undefined;
        cached = undefined;
      }
    }
    // Concurrent requests share one token request.
    cached ??= this.#cached ??= this.fetchToken();
    const token = await cached.catch((error: unknown) => {
      if (this.#cached === cached) this.#cached = undefined; // the next request tries again
      throw error;
    });
    return `Bearer ${token.value}`;
  }

  override invalidate(used: string): void {
    const cached = this.#cached;
    if (!cached) return;
    // Mark it stale only if it is still the token the server refused: another
    // request may have fetched a new one meanwhile.
    this.#cached = cached.then((token) =>
      `Bearer ${token.value}` === used ? { ...token, refreshAt: -Infinity } : token,
    );
  }

  /** The token endpoint: configured, else the `token_endpoint` of the server's SMART configuration. */
  tokenEndpoint(): Promise<{ url: string; source: 'configured' | 'discovered' }> {
    const found = (this.#tokenUrl ??= this.discoverTokenUrl());
    found.catch(() => {
      if (this.#tokenUrl === found) this.#tokenUrl = undefined; // try again next time
    });
    return found;
  }

  private async discoverTokenUrl(): Promise<{ url: string; source: 'discovered' }> {
    const url = `${this.transport.baseUrl}/.well-known/smart-configuration`;
    const res = await sendWithRetry<{ token_endpoint?: unknown }>(
      {
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        timeoutMs: this.transport.timeoutMs,
        httpsAgent: this.transport.tls?.agentFor(url),
        interaction: 'token',
      },
      this.transport.retry,
      true,
    );
    const parsed = parseHttpUrl(res.status === 200 ? res.body?.token_endpoint : undefined);
    if (!parsed) {
      throw new StorageUnavailableError(
        'bad-response',
        `no token endpoint: ${origin(url)} answered /.well-known/smart-configuration with ${res.status} and no absolute token_endpoint (set auth.tokenUrl / FHIR_TOKEN_URL)`,
        res.status,
      );
    }
    return { url: parsed.href, source: 'discovered' };
  }

  private async fetchToken(): Promise<CachedToken> {
    const { url } = await this.tokenEndpoint();
    const client = await this.clientAuthentication(url);
    const form: Record<string, string> = { grant_type: 'client_credentials', ...client.form };
    if (this.scope) form.scope = this.scope;
    this.tokensFetched++;
    events.tokenRenewal.publish({ method: this.method });
    const requested = performance.now();
    // Asking for a token twice is harmless: the request counts as idempotent.
    const res = await sendWithRetry<Record<string, unknown>>(
      {
        method: 'POST',
        url,
        headers: { accept: 'application/json', ...client.headers },
        form,
        timeoutMs: this.transport.timeoutMs,
        httpsAgent: this.transport.tls?.agentFor(url),
        interaction: 'token',
      },
      this.transport.retry,
      true,
    );
    const body = res.body ?? {};
    if (res.status !== 200) {
      // The OAuth error code (RFC 6749 §5.2) is safe to show; its description is not ours to trust.
      const code =
        typeof body.error === 'string' && /^[\w.-]{1,64}$/.test(body.error) ? ` ${body.error}` : '';
      throw new StorageUnavailableError(
        'bad-response',
        `the token endpoint ${origin(url)} refused the ${this.method} token request (${res.status}${code})`,
        res.status,
      );
    }
    const value = body.access_token;
    const type = body.token_type;
    if (
      typeof value !== 'string' ||
      value === '' ||
      /[\s]/.test(value) ||
      typeof type !== 'string' ||
      type.toLowerCase() !== 'bearer'
    ) {
      throw new StorageUnavailableError(
        'bad-response',
        `the token endpoint ${origin(url)} answered without a bearer access_token`,
        res.status,
      );
    }
    const lifetimeS = parseExpiresIn(body.expires_in);
    if (lifetimeS === undefined) return { value, refreshAt: Infinity };
    const lifetimeMs = lifetimeS * 1000;
    // Renew before the end: a tenth of the lifetime early, at most a minute.
    return {
      value,
      lifetimeS,
      refreshAt: requested + lifetimeMs - Math.min(60_000, lifetimeMs / 10),
    };
  }

  override async check(): Promise<AuthCheck> {
    const result: AuthCheck = { method: this.method };
    try {
      result.tokenEndpoint = await this.tokenEndpoint();
    } catch (error) {
      result.tokenEndpoint = { error: (error as Error).message };
      result.tokenObtained = false;
      return result;
    }
    try {
      this.#cached = undefined;
      const token = await (this.#cached = this.fetchToken());
      result.tokenObtained = true;
      result.tokenExpiresInS = token.lifetimeS;
    } catch (error) {
      this.#cached = undefined;
      result.tokenObtained = false;
      result.error = (error as Error).message;
    }
    return result;
  }
}

/** `expires_in` as seconds: a positive finite number (some servers send it as a string). */
function parseExpiresIn(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}
