/**
 * TLS to the FHIR server: the `tls` option (`ca`, `cert`, `key`, PEM text or
 * Buffers) checked once (every certificate read, the key matched to its
 * certificate, then OpenSSL's own `tls.createSecureContext`), the keep-alive
 * https agent that carries it, which requests use it (those to the FHIR
 * server's origin: the FHIR requests, SMART discovery, and a token endpoint
 * on the same origin; never another host), and what `check` may show about
 * it (certificate subjects, issuers and expiry; never a key).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type https from 'node:https';
import tls from 'node:tls';
import { StorageUnavailableError } from '../api/errors.js';
import { createHttpsAgent } from './http.js';
import { tlsFailureSide } from './tls-failures.js';

export type { FhirTlsOptions, Pem } from './tls-options.js';

/** A certificate as `check` shows it. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  validTo: Date;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
}

export interface TlsDescription {
  /** `system`: the system's CAs; else the CA certificates given. */
  ca: 'system' | CertificateSummary[];
  /** The client certificate sent, when one is configured. */
  client?: CertificateSummary;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function fail(owner: string, message: string): never {
  throw new TypeError(`${owner}: ${message}`);
}

function pemText(owner: string, name: string, value: unknown): string {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = typeof value === 'string' ? value : Buffer.from(value).toString();
    if (text.trim() !== '') return text;
  }
  fail(owner, `${name} must be PEM text or a Buffer of it`);
}

/** Line breaks in a subject (one per RDN) as commas: `CN=a, O=b`. */
const oneLine = (name: string): string => name.split('\n').join(', ');

export function summarize(certificate: X509Certificate): CertificateSummary {
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    validTo: new Date(certificate.validTo),
    fingerprint256: certificate.fingerprint256,
  };
}

/** Every certificate in `text`; at least one, each one readable. */
function certificates(owner: string, name: string, text: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    fail(owner, `${name} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      return fail(owner, `${name}: certificate ${i + 1} is not a readable X.509 certificate`);
    }
  });
}

/** The client certificate and key: both or neither, the key unencrypted and the certificate's own. */
function clientPair(owner: string, cert: unknown, key: unknown) {
  if (cert === undefined && key === undefined) return undefined;
  if (key === undefined)
    fail(owner, 'tls.cert is given without tls.key: a client certificate needs its private key');
  if (cert === undefined)
    fail(owner, 'tls.key is given without tls.cert: a private key needs its client certificate');
  const certText = pemText(owner, 'tls.cert', cert);
  const keyText = pemText(owner, 'tls.key', key);
  const [leaf] = certificates(owner, 'tls.cert', certText);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(keyText)) {
    fail(
      owner,
      'tls.key is encrypted: give it unencrypted (openssl pkey -in key.pem -out key-plain.pem), readable by this process only',
    );
  }
  let privateKey;
  try {
    privateKey = createPrivateKey({ key: keyText, format: 'pem' });
  } catch {
    // The parser's message is not ours to repeat next to key material: our own, no cause.
    fail(owner, 'tls.key is not a PEM private key (-----BEGIN PRIVATE KEY-----)');
  }
  if (!leaf!.checkPrivateKey(privateKey)) {
    fail(
      owner,
      `tls.key is not the private key of the certificate in tls.cert (${oneLine(leaf!.subject)})`,
    );
  }
  return { cert: certText, key: keyText, leaf: leaf! };
}

/** The option checked, with OpenSSL's context of it; undefined when it sets nothing. */
export function parseTlsOptions(
  owner: string,
  value: unknown,
): { context: tls.SecureContext; description: TlsDescription } | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(owner, 'tls must be an object { ca?, cert?, key? } of PEM texts or Buffers');
  }
  const { ca, cert, key, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) fail(owner, `tls has unknown option(s) ${unknown.join(', ')}`);
  const caTexts =
    ca === undefined
      ? undefined
      : (Array.isArray(ca) ? ca : [ca]).map((pem, i) =>
          pemText(owner, Array.isArray(ca) ? `tls.ca[${i}]` : 'tls.ca', pem),
        );
  const caCertificates = caTexts?.flatMap((text) => certificates(owner, 'tls.ca', text));
  const client = clientPair(owner, cert, key);
  if (!caTexts && !client) return undefined;
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ ca: caTexts, cert: client?.cert, key: client?.key });
  } catch (error) {
    fail(owner, `tls: OpenSSL refuses these certificates (${(error as Error).message})`);
  }
  return {
    context,
    description: {
      ca: caCertificates ? caCertificates.map(summarize) : 'system',
      ...(client && { client: summarize(client.leaf) }),
    },
  };
}

/** A checked `tls` option bound to one FHIR server: its agent, and the requests it is for. */
export class FhirTls {
  readonly agent: https.Agent;
  private readonly origin: string;

  private constructor(
    baseUrl: string,
    readonly description: TlsDescription,
    /** OpenSSL's context of the option (for a handshake of `check`'s own). */
    readonly context: tls.SecureContext,
  ) {
    this.origin = new URL(baseUrl).origin;
    this.agent = createHttpsAgent({ secureContext: context });
  }

  /** The option checked for `baseUrl` (https only: on http:// nothing would be encrypted); undefined when not set. */
  static create(owner: string, value: unknown, baseUrl: string): FhirTls | undefined {
    const parsed = parseTlsOptions(owner, value);
    if (!parsed) return undefined;
    if (new URL(baseUrl).protocol !== 'https:') {
      fail(
        owner,
        `tls is set but the base URL ${new URL(baseUrl).origin} is http://: TLS settings apply to an https:// server only`,
      );
    }
    return new FhirTls(baseUrl, parsed.description, parsed.context);
  }

  /** The agent for a request to `url`: this one on the FHIR server's origin, the shared one (system CAs, no client certificate) elsewhere. */
  agentFor(url: string): https.Agent | undefined {
    try {
      return new URL(url).origin === this.origin ? this.agent : undefined;
    } catch {
      return undefined;
    }
  }

  /** Closes the agent's idle connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** Statuses with which a TLS gateway answers, with a page of its own, a client certificate it wants and did not get or does not accept (nginx: 400). */
const GATEWAY_REFUSALS: ReadonlySet<number> = new Set([400, 403, 495, 496]);

const CA_HINT = 'give the CA that issued it as the tls.ca option (FHIR_TLS_CA_FILE)';
const CLIENT_HINT =
  'a client certificate is the tls.cert and tls.key options (FHIR_TLS_CERT_FILE, FHIR_TLS_KEY_FILE)';

/** What to do about a TLS failure of the FHIR server (the transport's `unreachable`), or about a gateway's refusal; undefined for anything else. */
function hint(
  error: StorageUnavailableError,
  baseUrl: string,
  client: CertificateSummary | undefined,
): string | undefined {
  const sent =
    client && `the client certificate sent: ${client.subject}, issued by ${client.issuer}`;
  if (error.kind === 'unreachable') {
    const side = tlsFailureSide(error.cause);
    if (side === 'server-certificate') return `: ${CA_HINT}`;
    if (side === 'refused') return `; ${sent ?? CLIENT_HINT}`;
    return undefined;
  }
  if (
    error.kind !== 'bad-response' ||
    !GATEWAY_REFUSALS.has(error.upstreamStatus ?? 0) ||
    !baseUrl.startsWith('https:')
  ) {
    return undefined;
  }
  return client
    ? `: a TLS gateway answers so when it does not accept the client certificate sent (${client.subject}, issued by ${client.issuer})`
    : `: a TLS gateway answers so when it requires a client certificate and none was sent (${CLIENT_HINT.replace('a client certificate is ', '')})`;
}

/**
 * A failure of a request to the FHIR server with what to do about it: a TLS
 * failure names the option and variable to set; a non-JSON 400/403/495/496
 * from an https server (FHIR servers answer errors with an OperationOutcome,
 * gateways with a page) says whether a client certificate was sent. Any
 * other error as it is.
 */
export function explainTlsFailure(
  error: unknown,
  baseUrl: string,
  tls: FhirTls | undefined,
): unknown {
  if (!(error instanceof StorageUnavailableError)) return error;
  const more = hint(error, baseUrl, tls?.description.client);
  if (!more) return error;
  return new StorageUnavailableError(error.kind, `${error.message}${more}`, error.upstreamStatus, {
    cause: error,
  });
}
