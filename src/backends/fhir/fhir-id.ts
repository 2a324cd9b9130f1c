/**
 * Owns which ids name a FHIR resource we can reach: the logical-id rule every
 * module checks before an id goes into a URL or a search (an id outside it
 * names no record of ours, so a lookup by it finds nothing).
 */

/**
 * A FHIR logical id that a URL can name: `[A-Za-z0-9\-.]{1,64}`, except `.` and
 * `..`, which the pattern allows but URL normalisation removes as dot segments
 * (`Patient/..` is the base URL itself; no encoding survives it). Anything else
 * is never put into a URL: such an id names no resource we can reach. So is
 * `metadata`: HAPI routes `[type]/metadata` as the capabilities operation and
 * refuses every verb there, so no resource can have that id on it.
 */
const fhirIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;
const unreachableIds = new Set(['.', '..', 'metadata']);
export function isFhirId(id: unknown): id is string {
  return typeof id === 'string' && fhirIdPattern.test(id) && !unreachableIds.has(id);
}
