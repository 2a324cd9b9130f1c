/**
 * Credentials for the FHIR server, as the transport uses them: the `auth`
 * option's types, and the `Authorization` header of every request
 * (`FhirAuth`). Static bearer tokens and HTTP basic are sent as given
 * (`StaticAuth`); OAuth 2.0 client credentials and SMART Backend Services get
 * tokens (token-auth.ts). The option is checked, and the right one built, in
 * auth-options.ts (`createFhirAuth`).
 *
 * Secrets and tokens live in private fields and never reach a message,
 * an error or `util.inspect`.
 */
import type { RetryPolicy } from './retry.js';
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

/** What a credential that fetches tokens sends its requests with: the FHIR server's connection settings. */
export interface AuthTransport {
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** @internal The FHIR server's TLS setup: used for discovery, and for a token endpoint on the server's origin only. */
  tls?: FhirTls;
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
  check(): Promise<AuthCheck> {
    return Promise.resolve({ method: this.method });
  }
}

export class StaticAuth extends FhirAuth {
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
