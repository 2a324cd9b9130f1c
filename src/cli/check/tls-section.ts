/**
 * The `check` section on TLS to the FHIR server: whether the base URL is
 * https, which CAs are trusted (the system's, or those of FHIR_TLS_CA_FILE),
 * the client certificate sent (subject, issuer, expiry, fingerprint; never
 * the key), and one handshake made with those settings: the protocol, the
 * server's certificate and whether we trust it. An untrusted server, a failed
 * handshake or an expired client certificate fails the section.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { tlsFailureReason } from '../../transport/tls-failures.js';
import { FhirTls, summarize, type CertificateSummary } from '../../transport/tls.js';
import type { CheckSection } from './section.js';
import { errorMessage } from '../../shared/error-message.js';

const DAY_MS = 86_400_000;
const HANDSHAKE_TIMEOUT_MS = 5_000;

/** `CN=…, issued by CN=…, expires <date> (in N days)`; expired ones say so. */
export function describeCertificate(
  certificate: CertificateSummary,
  now = Date.now(),
): { text: string; expired: boolean } {
  const left = certificate.validTo.getTime() - now;
  const expired = left <= 0;
  const days = Math.floor(left / DAY_MS);
  const when = expired ? 'EXPIRED' : `in ${days} day${days === 1 ? '' : 's'}`;
  return {
    text: `${certificate.subject}, issued by ${certificate.issuer}, expires ${certificate.validTo.toISOString()} (${when})`,
    expired,
  };
}

/** `NAME=value` when the variable is set: where the CLI's settings came from. */
function fromVariable(name: string): string {
  const value = process.env[name]?.trim();
  return value ? ` from ${name}=${value}` : '';
}

interface Handshake {
  protocol: string | null;
  server?: CertificateSummary;
  /** Why we do not trust the server's certificate; undefined when we do. */
  untrusted?: string;
}

/** One TLS handshake with the server as the transport makes it, but told what the server presented even when untrusted. */
function handshake(baseUrl: string, fhirTls: FhirTls | undefined): Promise<Handshake> {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      servername: net.isIP(host) ? undefined : host,
      secureContext: fhirTls?.context,
      rejectUnauthorized: false, // to describe an untrusted certificate; the verdict is below
    });
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () =>
      socket.destroy(new Error(`no TLS handshake within ${HANDSHAKE_TIMEOUT_MS} ms`)),
    );
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const server = peer?.raw ? summarize(new X509Certificate(peer.raw)) : undefined;
      const identity = peer?.raw ? tls.checkServerIdentity(host, peer) : undefined;
      // node types it as an Error but sets OpenSSL's verify code (UNABLE_TO_VERIFY_LEAF_SIGNATURE, …)
      const verify: unknown = socket.authorizationError;
      resolve({
        protocol: socket.getProtocol(),
        server,
        untrusted: verify
          ? `${errorMessage(verify)}: give the CA that issued it as FHIR_TLS_CA_FILE`
          : identity?.message,
      });
      socket.end();
    });
  });
}

export const tlsSection: CheckSection = {
  title: 'TLS',
  async run(context) {
    const fhirTls = FhirTls.create('check', context.connection.tls, context.baseUrl);
    if (!context.baseUrl.startsWith('https:')) {
      return { ok: true, lines: ['none: the base URL is http:// (nothing is encrypted)'] };
    }
    const { ca, client } = fhirTls?.description ?? { ca: 'system' as const };
    let ok = true;
    const lines = [
      ca === 'system'
        ? 'trusted CAs: the system store (node’s bundled list and NODE_EXTRA_CA_CERTS)'
        : `trusted CAs: ${ca.length} given${fromVariable('FHIR_TLS_CA_FILE')}`,
      ...(ca === 'system' ? [] : ca.map((c) => `  ${describeCertificate(c).text}`)),
    ];
    if (client) {
      const described = describeCertificate(client);
      ok &&= !described.expired;
      lines.push(`client certificate${fromVariable('FHIR_TLS_CERT_FILE')}:`);
      lines.push(`  ${described.text}, SHA-256 ${client.fingerprint256}`);
    } else {
      lines.push('client certificate: none');
    }
    try {
      const found = await handshake(context.baseUrl, fhirTls);
      lines.push(`handshake: ${found.protocol ?? 'TLS'}; server certificate:`);
      if (found.server) lines.push(`  ${describeCertificate(found.server).text}`);
      lines.push(found.untrusted ? `  NOT trusted: ${found.untrusted}` : '  trusted');
      ok &&= !found.untrusted;
    } catch (error) {
      lines.push(`handshake: failed: ${tlsFailureReason(error) ?? (error as Error).message}`);
      ok = false;
    }
    return { ok, lines };
  },
};
