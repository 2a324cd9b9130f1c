/**
 * The `check` command's first section: how we authenticate to the FHIR server
 * (method, token endpoint and whether it was configured or discovered, a token
 * obtained now) and the retry budget. Never prints a secret or a token.
 */
import { FhirServerCheck } from '../../backends/fhir/server-check.js';
import { TRANSIENT_STATUSES } from '../../transport/http.js';
import type { CheckContext, CheckSection } from './section.js';

export const authSection: CheckSection = {
  title: 'auth',
  async run(context: CheckContext) {
    const server = new FhirServerCheck({ ...context.connection, baseUrl: context.baseUrl });
    const lines: string[] = [];
    let ok = true;
    const check = await server.auth();
    lines.push(`method: ${check.method}`);
    if (check.tokenEndpoint) {
      lines.push(
        'url' in check.tokenEndpoint
          ? `token endpoint: ${check.tokenEndpoint.url} (${check.tokenEndpoint.source === 'discovered' ? 'found in .well-known/smart-configuration' : 'configured'})`
          : `token endpoint: not found (${check.tokenEndpoint.error})`,
      );
    }
    if (check.tokenObtained !== undefined) {
      const lifetime = check.tokenExpiresInS ? `, expires in ${check.tokenExpiresInS} s` : '';
      lines.push(`token obtained: ${check.tokenObtained ? `yes${lifetime}` : 'no'}`);
      if (check.error) lines.push(`  ${check.error}`);
      ok = check.tokenObtained;
    }
    const { maxAttempts, maxElapsedMs } = server.retry;
    lines.push(
      `retry: GET, DELETE and If-Match PUT up to ${maxAttempts} attempts within ${maxElapsedMs} ms on connection errors, timeouts and ${[...TRANSIENT_STATUSES].join('/')} (Retry-After honoured); creates and transactions only after a 429 (Retry-After or the RateLimit reset honoured), else once`,
    );
    return { ok, lines };
  },
};
