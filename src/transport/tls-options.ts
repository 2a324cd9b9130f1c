/**
 * The `tls` option of `FhirStorage` as users write it. Kept free of node's own
 * types (a `Uint8Array` stands for a Buffer) so the package's declarations
 * compile for users without `@types/node`.
 */

/** PEM text, or its bytes (a Buffer is a Uint8Array). */
export type Pem = string | Uint8Array;

/** The `tls` option of `FhirStorage`. */
export interface FhirTlsOptions {
  /**
   * The CA certificate(s) to trust for the FHIR server, in place of the
   * system's (node's bundled Mozilla list and `NODE_EXTRA_CA_CERTS`): one PEM
   * (it may hold several certificates) or a list of them.
   */
  ca?: Pem | readonly Pem[];
  /** The client certificate for mutual TLS (PEM; intermediate CA certificates may follow it). Needs `key`. */
  cert?: Pem;
  /** The client certificate's private key (PEM, not encrypted). Needs `cert`. */
  key?: Pem;
}
