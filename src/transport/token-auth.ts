/**
 * Tokens from an OAuth 2.0 token endpoint (client credentials with a client
 * secret, or SMART Backend Services with a signed client assertion): the
 * endpoint configured, or discovered from
 * `{baseUrl}/.well-known/smart-configuration`; the token kept, shared by
 * concurrent requests, and fetched again shortly before it expires or when
 * the server refuses it. Tokens live in private fields only.
 */
import { StorageUnavailableError } from '../api/errors.js';
import { parseHttpUrl } from '../shared/http-url.js';
import { FhirAuth, type AuthCheck, type AuthTransport } from './auth.js';
import { events } from './events.js';
import { origin } from './http.js';
import { sendWithRetry } from './retry.js';

interface CachedToken {
  value: string;
  /** `expires_in` as the server gave it. */
  lifetimeS?: number;
  /** Fetch a new one from this time (performance.now() clock); Infinity when the server gave no lifetime. */
  refreshAt: number;
}

/** How the client authenticates itself in a token request. */
export type ClientAuthentication = (
  tokenUrl: string,
) => Promise<{ headers: Record<string, string>; form: Record<string, string> }>;

export class TokenAuth extends FhirAuth {
  readonly refreshable = true;
  #cached?: Promise<CachedToken>;
  #tokenUrl?: Promise<{ url: string; source: 'configured' | 'discovered' }>;
  /** Token requests made, for tests and `check`. */
  tokensFetched = 0;

  constructor(
    readonly method: 'client-credentials' | 'smart-backend',
    private readonly transport: AuthTransport,
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
