/** Bearer tokens from `API_TOKENS`, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { httpProblem, sendProblem } from './problem.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** `API_TOKENS="a, b"` → `['a', 'b']` (blank entries dropped). */
export function parseApiTokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** Whether `presented` is one of `digests`; every digest is compared, equal-length, in constant time. */
function isKnownToken(presented: string, digests: readonly Buffer[]): boolean {
  const candidate = digest(presented);
  let found = false;
  for (const known of digests) found = timingSafeEqual(candidate, known) || found;
  return found;
}

export function bearerAuth(
  tokens: readonly string[],
  openPaths: readonly string[],
): RequestHandler {
  const digests = tokens.map(digest);
  return (req, res, next) => {
    if (openPaths.includes(req.path)) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (match && isKnownToken(match[1]!, digests)) return next();
    res.set(
      'WWW-Authenticate',
      match
        ? 'Bearer realm="healthcare-fhir", error="invalid_token"'
        : 'Bearer realm="healthcare-fhir"',
    );
    sendProblem(
      res,
      httpProblem(
        401,
        match
          ? 'The bearer token is not valid.'
          : 'This route needs an Authorization: Bearer <token> header.',
      ),
    );
  };
}
