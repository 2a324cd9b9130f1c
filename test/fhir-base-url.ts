/**
 * The real FHIR server the integration tests run against: `npm test` starts
 * the local HAPI server and sets FHIR_BASE_URL. Without it these tests fail
 * loudly instead of being skipped.
 */
export function requireFhirBaseUrl(): string {
  const url = process.env.FHIR_BASE_URL?.trim().replace(/\/+$/, '');
  if (!url) {
    throw new Error(
      'FHIR_BASE_URL is not set: run the tests with `npm test` (it starts a local HAPI FHIR server), or point FHIR_BASE_URL at one',
    );
  }
  return url;
}
