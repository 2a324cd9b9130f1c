/**
 * How long a FHIR server asked us to wait before trying again, read from its
 * answer's headers: `Retry-After` (RFC 9110) and the rate limit's reset
 * (`RateLimit`, `RateLimit-Reset`). The retry layer (retry.ts) waits that long.
 */
import type { ResponseHeaders } from './http.js';

/** `Retry-After` (delta seconds or an HTTP date) in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(headers: ResponseHeaders, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * When a rate limit resets, in ms from now, from the `RateLimit` header
 * (draft-ietf-httpapi-ratelimit-headers: `"requests";r=0;t=60, "fhir";r=5;t=30`,
 * Medplum's form): the latest `t=` among the policies whose remaining `r` is
 * spent, else among all; or the older `RateLimit-Reset: <seconds>` header.
 */
export function rateLimitResetMs(headers: ResponseHeaders): number | undefined {
  const resets: { spent: boolean; seconds: number }[] = [];
  for (const item of (headers.get('ratelimit') ?? '').split(',')) {
    const params = new Map(
      item
        .split(';')
        .slice(1)
        .map((p): [string, string] => {
          const [key = '', value = ''] = p.trim().split('=');
          return [key, value];
        }),
    );
    const t = params.get('t');
    if (t === undefined || !/^\d+$/.test(t)) continue;
    const r = params.get('r');
    resets.push({ spent: r !== undefined && /^-?\d+$/.test(r) && Number(r) <= 0, seconds: +t });
  }
  const spent = resets.filter((x) => x.spent);
  const chosen = spent.length ? spent : resets;
  if (chosen.length) return Math.max(...chosen.map((x) => x.seconds)) * 1000;
  const legacy = headers.get('ratelimit-reset')?.trim();
  return legacy && /^\d+$/.test(legacy) ? Number(legacy) * 1000 : undefined;
}

/** How long the server asked us to wait: `Retry-After`, else (on a 429) the rate limit's reset. */
export function serverWaitMs(status: number, headers: ResponseHeaders): number | undefined {
  return retryAfterMs(headers) ?? (status === 429 ? rateLimitResetMs(headers) : undefined);
}
