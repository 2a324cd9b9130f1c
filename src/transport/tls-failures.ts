/**
 * TLS failures in words: which errors of a connection are TLS failures (the
 * server's certificate not trusted, the handshake refused, no TLS on the port),
 * what each means for the person configuring the connection, and that none is
 * worth sending again (a certificate does not become trusted in ten seconds).
 * Messages name certificates and OpenSSL's reason, never key material.
 */

/** Codes of a server certificate that failed our verification (OpenSSL's X509_V_ERR names, as node reports them). */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Alerts the server sends when it refuses our client certificate (or its absence), by the end of node's code. */
const CLIENT_CERTIFICATE_ALERTS: Record<string, string> = {
  CERTIFICATE_REQUIRED: 'it requires a client certificate and none was sent',
  HANDSHAKE_FAILURE: 'handshake failure (often: it requires a client certificate)',
  BAD_CERTIFICATE: 'it did not accept the client certificate',
  UNKNOWN_CA: 'it does not trust the CA that issued the client certificate',
  CERTIFICATE_EXPIRED: 'the client certificate has expired',
  CERTIFICATE_REVOKED: 'the client certificate is revoked',
  UNSUPPORTED_CERTIFICATE: 'it does not support the client certificate',
  ACCESS_DENIED: 'access denied to this client certificate',
};

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` (a connection's error) is a TLS failure: never sent again. */
export function isTlsFailure(error: unknown): boolean {
  const code = codeOf(error);
  if (code === undefined) return false;
  return (
    UNTRUSTED_CERTIFICATE.has(code) ||
    code.startsWith('ERR_SSL_') ||
    (code === 'EPROTO' && /SSL routines/.test(String((error as Error).message)))
  );
}

/** Which side a TLS failure is about: the server's certificate, ours (a refused handshake), or neither. */
export function tlsFailureSide(error: unknown): 'server-certificate' | 'refused' | undefined {
  if (!isTlsFailure(error)) return undefined;
  const code = codeOf(error)!;
  if (UNTRUSTED_CERTIFICATE.has(code)) return 'server-certificate';
  return /ALERT_[A-Z_]+$/.test(code) ? 'refused' : undefined;
}

/**
 * What a TLS failure means, for the message of the error that reports it
 * (`https://host is unreachable (GET): <this>`); undefined for other errors.
 */
export function tlsFailureReason(error: unknown): string | undefined {
  if (!isTlsFailure(error)) return undefined;
  const code = codeOf(error)!;
  const detail = String((error as Error).message)
    .split('\n')[0]!
    .slice(0, 200);
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return `TLS: the server's certificate is not trusted (${detail}; ${code})`;
  }
  const alert = /ALERT_([A-Z_]+)$/.exec(code)?.[1];
  if (alert) {
    const meaning = CLIENT_CERTIFICATE_ALERTS[alert] ?? alert.toLowerCase().replace(/_/g, ' ');
    return `TLS: the server refused the handshake: ${meaning} (${code})`;
  }
  if (/wrong version number/i.test(detail)) {
    return `TLS: the server does not speak TLS on this port (wrong version number): is it an http:// URL?`;
  }
  return `TLS: the handshake failed (${code})`;
}
