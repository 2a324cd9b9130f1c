/**
 * FhirStorage authenticating to a protected FHIR server: the real HAPI server
 * (FHIR_BASE_URL) behind a proxy that forwards only requests with valid
 * credentials, and a real OAuth 2.0 server (oidc-provider) issuing JWT access
 * tokens the proxy verifies against the provider's JWKS. The conformance suite
 * runs through every auth type; then token caching, renewal before expiry,
 * renewal once on a 401 (also in the middle of paging), and no secret in errors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { FhirStorage, StorageUnavailableError, comparisons as C } from '../../src/index.js';
import type { FhirAuthOptions } from '../../src/index.js';
import { runConformanceSuite } from '../../src/testing/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { SMART_SCOPES, startOAuthServer, type OAuthServer } from './oauth-server.js';
import { startProtectedProxy, type ProtectedProxy } from './protected-proxy.js';

const upstream = requireFhirBaseUrl();
const run = randomBytes(5).toString('hex');
const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: `auth-${run}` };
const staticToken = `static-${randomBytes(16).toString('hex')}`;
const basic = { username: 'emr-user', password: `pw-${randomBytes(8).toString('hex')}` };

// Started before any suite is declared: node:test runs `before` hooks of a
// describe after its children are declared, and the factories need the URLs.
const proxy: ProtectedProxy = await startProtectedProxy(upstream);
const oauth: OAuthServer = await startOAuthServer(proxy.baseUrl);
proxy.configure({
  issuer: oauth.issuer,
  jwksUri: oauth.jwksUri,
  tokenEndpoint: oauth.tokenEndpoint,
  staticToken,
  basic,
});
after(async () => {
  await proxy.stop();
  await oauth.stop();
});

const { RS384, ES384 } = oauth.smartClients;
/** Static credentials: the same header on every request. */
const staticAuthTypes: [string, FhirAuthOptions][] = [
  ['bearer (static token)', { type: 'bearer', token: staticToken }],
  ['basic', { type: 'basic', ...basic }],
];
/** Tokens from the OAuth server: the whole conformance suite runs through each. */
const tokenAuthTypes: [string, FhirAuthOptions][] = [
  [
    'client-credentials (tokenUrl given)',
    { type: 'client-credentials', tokenUrl: oauth.tokenEndpoint, ...oauth.secretClient },
  ],
  [
    'smart-backend RS384, PEM key, token endpoint discovered',
    {
      type: 'smart-backend',
      clientId: RS384.clientId,
      privateKey: RS384.privatePem,
      keyId: RS384.keyId,
      algorithm: 'RS384',
      scope: SMART_SCOPES,
    },
  ],
  [
    'smart-backend ES384, JWK key, token endpoint discovered',
    {
      type: 'smart-backend',
      clientId: ES384.clientId,
      privateKey: ES384.privateJwk,
      keyId: ES384.keyId,
      algorithm: 'ES384',
      scope: SMART_SCOPES,
    },
  ],
];

const storageWith = (auth: FhirAuthOptions, extra: Partial<{ pageSize: number }> = {}) =>
  new FhirStorage({ baseUrl: proxy.baseUrl, scopeTag, auth, ...extra });

describe('the protected proxy refuses what it should', () => {
  it('refuses a request without credentials, with a forged JWT and with a wrong basic password (401)', async () => {
    const forged = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.e30.`;
    for (const authorization of [
      undefined,
      `Bearer ${forged}`,
      `Basic ${Buffer.from(`${basic.username}:wrong`).toString('base64')}`,
    ]) {
      const res = await fetch(`${proxy.baseUrl}/metadata`, {
        headers: authorization ? { authorization } : {},
      });
      assert.equal(res.status, 401);
    }
  });
});

for (const [title, auth] of tokenAuthTypes) {
  runConformanceSuite(`FhirStorage through auth ${title}`, () => storageWith(auth));
}

describe('static credentials reach the protected server', () => {
  for (const [title, auth] of staticAuthTypes) {
    it(`${title}: create, get, filter, update, link, delete all pass the proxy`, async () => {
      const storage = storageWith(auth);
      const forwarded = proxy.stats.forwarded;
      const refused = proxy.stats.unauthorized;
      const name = `Static ${title} ${run}`;
      const created = await storage.createPatient({ name });
      assert.deepEqual(await storage.getPatient(created.id), created);
      assert.deepEqual(
        (await storage.filterPatients(['name', C.EQUAL, name])).map((r) => r.id),
        [created.id],
      );
      assert.equal(await storage.updatePatient(created.id, { location: 'Gulu' }), true);
      assert.equal(await storage.linkPatient(created.id, `src-${run}`, title), true);
      assert.equal(await storage.deletePatient(created.id), true);
      assert.equal(await storage.getPatient(created.id), null);
      assert.equal(proxy.stats.unauthorized - refused, 0);
      assert.ok(proxy.stats.forwarded - forwarded >= 8);
    });
  }
});

describe('access tokens: cached, renewed before expiry and once on a 401', () => {
  const clientCredentials: FhirAuthOptions = {
    type: 'client-credentials',
    ...oauth.secretClient,
  };

  it('one token serves many requests (the token endpoint is asked once)', async () => {
    const storage = storageWith(clientCredentials);
    const issuedBefore = oauth.issued;
    const created = await storage.createPatient({ name: `Cache ${run}` });
    await Promise.all([1, 2, 3, 4].map(() => storage.getPatient(created.id)));
    assert.equal(await storage.deletePatient(created.id), true);
    assert.equal(oauth.issued - issuedBefore, 1);
  });

  it('a token near its expiry is renewed before use, so the server never sees it expired', async () => {
    oauth.setTokenTtl(3);
    try {
      const storage = storageWith(clientCredentials);
      const issued = oauth.issued;
      const refused = proxy.stats.unauthorized;
      const created = await storage.createPatient({ name: `Expiry ${run}` });
      await new Promise((r) => setTimeout(r, 3000)); // past the renewal point (2.7 s), at expiry
      assert.equal((await storage.getPatient(created.id))?.id, created.id);
      assert.equal(oauth.issued - issued, 2, 'a second token was fetched');
      assert.equal(proxy.stats.unauthorized - refused, 0, 'no request was refused');
      await storage.deletePatient(created.id);
    } finally {
      oauth.setTokenTtl(300);
    }
  });

  it('a token the server revokes gets one renewal on the 401, and the request succeeds', async () => {
    const storage = storageWith(clientCredentials);
    const created = await storage.createPatient({ name: `Revoked ${run}` });
    const issued = oauth.issued;
    const refused = proxy.stats.unauthorized;
    proxy.revokeSeen();
    assert.equal((await storage.getPatient(created.id))?.id, created.id);
    assert.equal(proxy.stats.unauthorized - refused, 1);
    assert.equal(oauth.issued - issued, 1);
    await storage.deletePatient(created.id);
  });

  it('a create refused with 401 is sent again once with a new token, and the record is created once', async () => {
    const storage = storageWith(clientCredentials);
    await storage.getPatient('warm-up');
    proxy.revokeSeen();
    const name = `Create401 ${run}`;
    const created = await storage.createPatient({ name });
    const found = await storage.filterPatients(['name', C.EQUAL, name]);
    assert.deepEqual(
      found.map((r) => r.id),
      [created.id],
    );
    await storage.deletePatient(created.id);
  });

  it('a token revoked between two pages of a search is renewed, and every record comes back once', async () => {
    const storage = storageWith(clientCredentials, { pageSize: 2 });
    const name = `Paging ${run}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await storage.createPatient({ name })).id);
    const refused = proxy.stats.unauthorized;
    let revokedAt: string | undefined;
    // a second page is a keyset continuation (_lastUpdated from the last time seen), or the
    // server's own next link on a server that ignores _sort
    proxy.beforeForward = (url) => {
      if (!revokedAt && /[?&](_lastUpdated=|_getpages=)/.test(url)) {
        revokedAt = url;
        proxy.revokeSeen();
      }
    };
    try {
      // the revocation applies from the next request: the second page's successor
      const found = await storage.filterPatients(['name', C.EQUAL, name]);
      assert.ok(revokedAt, 'the search was paged');
      assert.deepEqual(found.map((r) => r.id).sort(), [...ids].sort());
      assert.equal(proxy.stats.unauthorized - refused, 1, 'one page was refused, then renewed');
    } finally {
      proxy.beforeForward = undefined;
      for (const id of ids) await storage.deletePatient(id);
    }
  });

  it('a static bearer token the server refuses is a bad-response naming 401, without the token', async () => {
    const storage = storageWith({ type: 'bearer', token: `${staticToken}-wrong` });
    await assert.rejects(storage.getPatient('x'), (e: unknown) => {
      assert.ok(e instanceof StorageUnavailableError);
      assert.equal(e.kind, 'bad-response');
      assert.equal(e.upstreamStatus, 401);
      assert.match(e.message, /401.*auth configuration/);
      assert.ok(!e.message.includes(staticToken));
      return true;
    });
  });

  it('a wrong client secret is a clear error (invalid_client) without the secret', async () => {
    const secret = `wrong-${randomBytes(8).toString('hex')}`;
    const storage = storageWith({
      type: 'client-credentials',
      clientId: oauth.secretClient.clientId,
      clientSecret: secret,
    });
    await assert.rejects(storage.getPatient('x'), (e: unknown) => {
      assert.ok(e instanceof StorageUnavailableError);
      assert.match(
        e.message,
        /token endpoint .* refused the client-credentials token request \(401 invalid_client\)/,
      );
      assert.ok(!JSON.stringify({ m: e.message, s: e.stack }).includes(secret));
      return true;
    });
  });

  it('a SMART client signing with a key the server does not know is refused (invalid_client), key not shown', async () => {
    const storage = storageWith({
      type: 'smart-backend',
      clientId: RS384.clientId,
      privateKey: ES384.privatePem,
      keyId: RS384.keyId,
      algorithm: 'ES384',
    });
    await assert.rejects(storage.getPatient('x'), (e: unknown) => {
      assert.ok(e instanceof StorageUnavailableError);
      assert.match(e.message, /refused the smart-backend token request \(\d+ invalid_client\)/);
      assert.ok(!e.message.includes('PRIVATE KEY'));
      return true;
    });
  });

  it('no token the server issued appears in an error, and tokens are not visible on the storage object', async () => {
    const storage = storageWith(clientCredentials);
    await storage.getPatient('x');
    const { inspect } = await import('node:util');
    const shown = inspect(storage, { depth: 10, showHidden: true });
    for (const token of proxy.stats.tokensSeen) assert.ok(!shown.includes(token));
    assert.ok(!shown.includes(oauth.secretClient.clientSecret));
  });
});
