/**
 * The facade's access control (contract §6) against a real OpenID Connect
 * provider (oidc-provider, test/auth/oauth-server.ts) issuing JWT access
 * tokens: every scope against every route of the route table (contract
 * models and a third model), and the tokens it must refuse (none, expired,
 * another audience, another issuer, a foreign key, `alg: none`, HS256), a key
 * rotation while the facade runs, and who the caller is for each kind of token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { base64url, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { defaultModels } from '../../src/api/models.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { authenticate, sha256Hex, type AuthOptions } from '../../src/http/auth.js';
import { requestClient } from '../../src/http/request-client.js';
import { facadeApi, type RouteSpec } from '../../src/http/routes.js';
import { locationModel } from '../support/location-model.js';
import { call, type Answer, startApp, type RunningApp } from '../http/helpers.js';
import { startOAuthServer, type OAuthServer } from './oauth-server.js';

type Json = Record<string, unknown>;
const audience = 'https://facade.example.org';
const types = ['Patient', 'Practitioner', 'Location'] as const;
const letters = ['c', 'r', 'u', 'd', 's'] as const;

/** Scope → what it grants, written out here (not computed by the code under test). */
const grants: Record<string, [type: string, letter: string][]> = {};
for (const type of types)
  for (const letter of letters) grants[`system/${type}.${letter}`] = [[type, letter]];
const all = (type: string) => letters.map((l): [string, string] => [type, l]);
Object.assign(grants, {
  'user/*.read': types.flatMap((t) => [[t, 'r'] as [string, string], [t, 's'] as [string, string]]),
  'system/Patient.write': [
    ['Patient', 'c'],
    ['Patient', 'u'],
    ['Patient', 'd'],
  ],
  'system/*.*': types.flatMap(all),
  'user/Practitioner.cruds': all('Practitioner'),
  'system/Location.rs': [
    ['Location', 'r'],
    ['Location', 's'],
  ],
  'patient/Patient.read': [],
});

/** Contract §6's table: the permission of a route, by method and path shape. */
function contractPermission(route: RouteSpec): string {
  const path = route.path.replace(/^\/\w+s/, '/{model}');
  const table: Record<string, string> = {
    'get /{model}/{id}': 'r',
    'get /{model}/{id}/links': 'r',
    'get /{model}': 's',
    'post /{model}/_search': 's',
    'post /{model}': 'c',
    'patch /{model}/{id}': 'u',
    'post /{model}/{id}/links': 'u',
    'delete /{model}/{id}/links': 'u',
    'delete /{model}/{id}': 'd',
  };
  return table[`${route.method} ${path}`]!;
}

const modelType: Record<string, string> = {
  patients: 'Patient',
  providers: 'Practitioner',
  locations: 'Location',
};

/** A request for the route that changes nothing (unknown ids, invalid bodies). */
function requestFor(route: RouteSpec): { path: string; body?: unknown } {
  const path = route.path.replace('{id}', 'no-such-record');
  if (route.operationId.startsWith('unlink')) return { path: `${path}?source_id=x&source_name=y` };
  if (route.operationId.startsWith('link'))
    return { path, body: { source_id: 'x', source_name: 'y' } };
  if (route.operationId.startsWith('search')) return { path, body: { lookups: [] } };
  if (route.method === 'post' || route.method === 'patch') return { path, body: { name: '' } };
  return { path };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('access control with a real OpenID Connect provider', () => {
  let idp: OAuthServer;
  let stranger: OAuthServer;
  let app: RunningApp;
  const routes = facadeApi([...Object.values(defaultModels), locationModel]).routes.filter(
    (r) => r.access,
  );
  const send = (route: RouteSpec, token: string): Promise<Answer> => {
    const { path, body } = requestFor(route);
    return call(app.baseUrl, route.method.toUpperCase(), path, {
      headers: bearer(token),
      ...(body !== undefined ? { body } : {}),
    });
  };

  const scopes = Object.keys(grants);
  before(async () => {
    idp = await startOAuthServer(audience, {
      scopes,
      otherResources: ['https://another-api.example.org'],
    });
    stranger = await startOAuthServer(audience, { scopes });
    app = await startApp({
      storage: new MemoryStorage({ extraModels: [locationModel] }),
      oidc: { issuer: idp.issuer, audience, clockToleranceSec: 0, jwksCooldownMs: 1000 },
    });
  });
  after(async () => {
    await app.close();
    await idp.stop();
    await stranger.stop();
  });

  it("every record route declares contract §6's permission on its model's resource type", () => {
    assert.equal(routes.length, 9 + 6 + 6);
    for (const route of routes) {
      assert.equal(route.access!.permission, contractPermission(route), route.operationId);
      assert.equal(route.access!.resourceType, modelType[route.path.split('/')[1]!]);
    }
  });

  it('each scope against every route: 403 naming system/<Type>.<letter> exactly where the scope does not grant it, else the full-access answer', async () => {
    const full = await idp.token('system/*.*');
    const baseline = new Map<RouteSpec, number>();
    for (const route of routes) baseline.set(route, (await send(route, full)).status);
    assert.ok(![...baseline.values()].some((s) => s === 401 || s === 403));
    for (const [scope, granted] of Object.entries(grants)) {
      const token = await idp.token(scope);
      for (const route of routes) {
        const type = modelType[route.path.split('/')[1]!]!;
        const letter = contractPermission(route);
        const allowed = granted.some(([t, l]) => t === type && l === letter);
        const answer = await send(route, token);
        const what = `${scope} → ${route.method} ${route.path}`;
        if (allowed) {
          assert.equal(answer.status, baseline.get(route), what);
          continue;
        }
        assert.equal(answer.status, 403, what);
        const problem = answer.json as Json;
        assert.equal(problem.type, 'urn:healthcare-fhir:problem:forbidden', what);
        assert.match(problem.detail as string, new RegExp(`scope system/${type}\\.${letter} `));
        assert.match(answer.headers.get('www-authenticate') ?? '', /insufficient_scope/);
      }
    }
  });

  it('no token, a malformed one, and an unknown opaque one → 401 with WWW-Authenticate', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, bearer('opaque-token')]) {
      const answer = await call(app.baseUrl, 'GET', '/patients', { headers });
      assert.equal(answer.status, 401);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    }
  });

  it('an expired token, one for another audience and one of another issuer → 401 invalid_token', async () => {
    idp.setTokenTtl(1);
    const expiring = await idp.token('system/*.*');
    idp.setTokenTtl(300);
    const refused = [
      await idp.token('system/*.*', 'https://another-api.example.org'),
      await stranger.token('system/*.*'),
    ];
    await new Promise((r) => setTimeout(r, 1100));
    for (const token of [expiring, ...refused]) {
      const answer = await call(app.baseUrl, 'GET', '/patients', { headers: bearer(token) });
      assert.equal(answer.status, 401);
      assert.match(answer.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  it("tokens with the issuer's claims but a foreign key (same kid or another), alg none or HS256 → 401", async () => {
    const claims = { client_id: 'intruder', scope: 'system/*.*' };
    const foreign = (await generateKeyPair('RS256')).privateKey;
    const signed = (kid: string, key: Parameters<SignJWT['sign']>[0], alg = 'RS256') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid })
        .setIssuer(idp.issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    const payload = base64url.encode(
      JSON.stringify({ ...claims, iss: idp.issuer, aud: audience, exp: Date.now() / 1000 + 300 }),
    );
    const tokens = [
      await signed(idp.signingKeyId, foreign),
      await signed('some-other-kid', foreign),
      `${base64url.encode('{"alg":"none"}')}.${payload}.`,
      await signed(idp.signingKeyId, new TextEncoder().encode('a shared secret'), 'HS256'),
    ];
    for (const token of tokens) {
      const answer = await call(app.baseUrl, 'GET', '/patients', { headers: bearer(token) });
      assert.equal(answer.status, 401, token.split('.')[0]);
    }
  });

  it('a rotated signing key is fetched once for its new kid; unknown kids do not refetch within the cooldown', async () => {
    const foreign = await new SignJWT({ client_id: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'never-published' })
      .sign((await generateKeyPair('RS256')).privateKey);
    await new Promise((r) => setTimeout(r, 1050)); // past the cooldown of earlier fetches
    const fetchesBefore = idp.jwksFetches;
    await idp.rotateSigningKey();
    const token = await idp.token('system/Patient.s');
    assert.equal(decodeProtectedHeader(token).kid, idp.signingKeyId);
    const answer = await call(app.baseUrl, 'GET', '/patients', { headers: bearer(token) });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(idp.jwksFetches, fetchesBefore + 1);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(app.baseUrl, 'GET', '/patients', { headers: bearer(foreign) }),
      ),
    );
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([401]));
    assert.equal(idp.jwksFetches, fetchesBefore + 1, 'no refetch within the cooldown');
  });

  it("OIDC_JWKS_URI is the only key set used (pointing it at another issuer's keys refuses our tokens); discovery falls back to oauth-authorization-server", async () => {
    const rfc8414 = await startOAuthServer(audience, { scopes, oauthMetadataOnly: true });
    const apps = await Promise.all([
      startApp({
        storage: new MemoryStorage(),
        oidc: { issuer: idp.issuer, audience, jwksUri: idp.jwksUri },
      }),
      startApp({
        storage: new MemoryStorage(),
        oidc: { issuer: idp.issuer, audience, jwksUri: stranger.jwksUri },
      }),
      startApp({ storage: new MemoryStorage(), oidc: { issuer: rfc8414.issuer, audience } }),
    ]);
    try {
      const status = async (at: RunningApp, token: string) =>
        (await call(at.baseUrl, 'GET', '/patients', { headers: bearer(token) })).status;
      const ours = await idp.token('system/*.*');
      assert.equal(await status(apps[0], ours), 200);
      assert.equal(await status(apps[1], ours), 401);
      assert.equal((await fetch(`${rfc8414.issuer}/.well-known/openid-configuration`)).status, 404);
      assert.equal(await status(apps[2], await rfc8414.token('system/*.*')), 200);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
      await rfc8414.stop();
    }
  });

  it('the issuer unreachable: a JWT cannot be checked → 503 auth-unavailable, not 401', async () => {
    const offline = await startApp({
      storage: new MemoryStorage(),
      oidc: { issuer: 'http://127.0.0.1:9/', audience, fetchTimeoutMs: 500 },
    });
    try {
      const answer = await call(offline.baseUrl, 'GET', '/patients', {
        headers: bearer(await idp.token('system/*.*')),
      });
      assert.equal(answer.status, 503);
      assert.equal((answer.json as Json).type, 'urn:healthcare-fhir:problem:auth-unavailable');
    } finally {
      await offline.close();
    }
  });

  it('the caller: client_id of a JWT, api-token-N for API_TOKENS, the name of a clients-file entry; scopes as granted', async () => {
    const options: AuthOptions = {
      oidc: { issuer: idp.issuer, audience },
      apiTokens: ['first-token', 'second-token'],
      clients: [
        { name: 'sms-app', tokenSha256: sha256Hex('sms-token'), scopes: ['system/Patient.rs'] },
      ],
    };
    const echo = express();
    echo.use(authenticate(options));
    echo.get('/who', (_req, res) => res.json(requestClient(res)));
    const server = echo.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/who`;
    const who = async (token: string) =>
      (await fetch(url, { headers: bearer(token) }).then((r) => r.json())) as Json;
    try {
      assert.deepEqual(await who(await idp.token('system/Patient.r user/*.read')), {
        name: idp.secretClient.clientId,
        scopes: ['system/Patient.r', 'user/*.read'],
      });
      assert.deepEqual(await who('second-token'), {
        name: 'api-token-2',
        scopes: ['system/*.cruds'],
      });
      assert.deepEqual(await who('sms-token'), { name: 'sms-app', scopes: ['system/Patient.rs'] });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
