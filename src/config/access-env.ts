/**
 * Owns the facade's access settings from the environment (contract §6),
 * checked at start-up so a bad value stops it with one message naming the
 * variable: `API_TOKENS`, `API_CLIENTS_FILE`, `OIDC_ISSUER`/`OIDC_AUDIENCE`/
 * `OIDC_JWKS_URI`, `RATE_LIMIT`, `CLIENT_MAX_IN_FLIGHT`, and the secure
 * default: on a non-loopback `HOST` some authentication or
 * `ALLOW_ANONYMOUS=true` is required.
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import { parseApiTokens, type AuthOptions, type StaticClient } from '../http/auth.js';
import { parseRateLimit, type ClientLimits } from '../http/client-limits.js';
import { invalidScopes } from '../http/scopes.js';
import { parseHttpUrl } from '../shared/http-url.js';

export interface AccessConfig {
  auth: AuthOptions;
  limits: ClientLimits;
  allowAnonymous: boolean;
}

/** Default bound on one client's requests in flight (`CLIENT_MAX_IN_FLIGHT`). */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/** `127.0.0.1`, any `127.x.y.z`, `::1`, `localhost`: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** `API_CLIENTS_FILE`: `[{"name", "token_sha256", "scopes"}]`, every entry checked. */
export function readClientsFile(file: string): StaticClient[] {
  const fail = (why: string): never => {
    throw new Error(`API_CLIENTS_FILE ${file}: ${why}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    return fail((error as NodeJS.ErrnoException).code ? 'cannot be read' : 'is not valid JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    return fail('must be a non-empty JSON array of {"name", "token_sha256", "scopes"}');
  const names = new Set<string>();
  const digests = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    const at = `entry ${i}`;
    const e = entry as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      return fail(`${at} is not an object`);
    const extra = Object.keys(e).filter((k) => !['name', 'token_sha256', 'scopes'].includes(k));
    if (extra.length) return fail(`${at} has unknown member ${JSON.stringify(extra[0])}`);
    const { name, token_sha256: digest, scopes } = e;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._:@-]{1,100}$/.test(name))
      return fail(`${at}: name must be 1-100 letters, digits or ._:@-`);
    if (names.has(name) || /^api-token-\d+$/.test(name))
      return fail(`${at}: name ${JSON.stringify(name)} is used twice or reserved for API_TOKENS`);
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/i.test(digest))
      return fail(`${at} (${name}): token_sha256 must be 64 hex digits (the token's SHA-256)`);
    if (digests.has(digest.toLowerCase()))
      return fail(`${at} (${name}): token_sha256 is used twice`);
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string'))
      return fail(`${at} (${name}): scopes must be an array of SMART scopes`);
    const bad = invalidScopes(scopes as string[]);
    if (bad.length)
      return fail(
        `${at} (${name}): ${JSON.stringify(bad[0])} is not a scope like system/Patient.rs or user/*.read`,
      );
    names.add(name);
    digests.add(digest.toLowerCase());
    return { name, tokenSha256: digest.toLowerCase(), scopes: scopes as string[] };
  });
}

function httpUrl(name: string, text: string): string {
  if (!parseHttpUrl(text))
    throw new Error(`${name} must be an http(s) URL, not ${JSON.stringify(text)}`);
  return text;
}

function oidcOptions(env: NodeJS.ProcessEnv): AuthOptions['oidc'] {
  const issuer = env.OIDC_ISSUER?.trim();
  const audience = env.OIDC_AUDIENCE?.trim();
  const jwksUri = env.OIDC_JWKS_URI?.trim();
  if (!issuer) {
    if (audience || jwksUri) throw new Error('OIDC_AUDIENCE and OIDC_JWKS_URI need OIDC_ISSUER');
    return undefined;
  }
  if (!audience) throw new Error('OIDC_AUDIENCE is required with OIDC_ISSUER');
  return {
    issuer: httpUrl('OIDC_ISSUER', issuer),
    audience,
    ...(jwksUri ? { jwksUri: httpUrl('OIDC_JWKS_URI', jwksUri) } : {}),
  };
}

function booleanEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name]?.trim().toLowerCase();
  if (!text || text === 'false') return false;
  if (text === 'true') return true;
  throw new Error(`${name} must be true or false, not ${JSON.stringify(env[name])}`);
}

function maxInFlight(env: NodeJS.ProcessEnv): number {
  const text = env.CLIENT_MAX_IN_FLIGHT?.trim();
  if (!text) return DEFAULT_MAX_IN_FLIGHT;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw new Error(
      `CLIENT_MAX_IN_FLIGHT must be a positive whole number, not ${JSON.stringify(text)}`,
    );
  return value;
}

/** The access settings; throws (one line, naming the variable) on a bad value or an open non-loopback HOST. */
export function readAccessConfig(env: NodeJS.ProcessEnv, host: string): AccessConfig {
  const clientsFile = env.API_CLIENTS_FILE?.trim();
  const auth: AuthOptions = {
    apiTokens: parseApiTokens(env.API_TOKENS),
    ...(clientsFile ? { clients: readClientsFile(clientsFile) } : {}),
  };
  const oidc = oidcOptions(env);
  if (oidc) auth.oidc = oidc;
  const rate = env.RATE_LIMIT?.trim();
  const allowAnonymous = booleanEnv(env, 'ALLOW_ANONYMOUS');
  const configured = auth.apiTokens!.length > 0 || clientsFile || oidc;
  if (!configured && !allowAnonymous && !isLoopback(host)) {
    throw new Error(
      `refusing to serve patient records without authentication on HOST=${host}: set API_TOKENS, API_CLIENTS_FILE or OIDC_ISSUER (or ALLOW_ANONYMOUS=true to serve anyone who can reach it)`,
    );
  }
  return {
    auth,
    limits: { ...(rate ? { rate: parseRateLimit(rate) } : {}), maxInFlight: maxInFlight(env) },
    allowAnonymous,
  };
}
