/** Owns the one "is this an absolute http(s) URL?" check (base URLs, endpoints, issuers). */

/** `value` parsed as an absolute `http:` or `https:` URL; `undefined` when it is not one. */
export function parseHttpUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}
