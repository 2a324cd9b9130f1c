/**
 * The auth settings at the edges: the facade's FHIR_AUTH… variables (checked
 * at start-up, a bad one stops the process with a message naming it), the
 * facade serving through the protected FHIR server without a secret or token
 * in its logs or answers, and `healthcare-fhir check` reporting the method,
 * the token endpoint and whether a token was obtained, without a secret.
 * Real parts: oidc-provider and the JWKS-verifying proxy in front of HAPI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readFhirConnectionEnv } from '../../src/config/fhir-connection-env.js';
import { readConfig, startServer } from '../../src/server.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { captureLogger } from '../http/helpers.js';
import { SMART_SCOPES, startOAuthServer } from './oauth-server.js';
import { startProtectedProxy } from './protected-proxy.js';

const upstream = requireFhirBaseUrl();
const run = randomBytes(5).toString('hex');
const proxy = await startProtectedProxy(upstream);
const oauth = await startOAuthServer(proxy.baseUrl);
proxy.configure({
  issuer: oauth.issuer,
  jwksUri: oauth.jwksUri,
  tokenEndpoint: oauth.tokenEndpoint,
});
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-auth-'));
const keyFile = path.join(keyDir, 'smart-es384.pem');
fs.writeFileSync(keyFile, oauth.smartClients.ES384.privatePem, { mode: 0o600 });
after(async () => {
  await proxy.stop();
  await oauth.stop();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

const secretEnv = {
  FHIR_AUTH: 'client-credentials',
  FHIR_CLIENT_ID: oauth.secretClient.clientId,
  FHIR_CLIENT_SECRET: oauth.secretClient.clientSecret,
};
const smartEnv = {
  FHIR_AUTH: 'smart-backend',
  FHIR_CLIENT_ID: oauth.smartClients.ES384.clientId,
  FHIR_PRIVATE_KEY_FILE: keyFile,
  FHIR_KEY_ID: oauth.smartClients.ES384.keyId,
  FHIR_JWT_ALG: 'ES384',
  FHIR_SCOPE: SMART_SCOPES,
};
const privateKeyBody = oauth.smartClients.ES384.privatePem.split('\n')[1]!;

/** Runs a TypeScript entry point with only `env` (plus PATH); resolves to its exit code and output. */
function runNode(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('FHIR_AUTH… environment of the facade', () => {
  it('reads each method into the auth option', () => {
    assert.deepEqual(readFhirConnectionEnv({}), {});
    assert.deepEqual(readFhirConnectionEnv({ FHIR_AUTH: 'bearer', FHIR_TOKEN: 'abc' }).auth, {
      type: 'bearer',
      token: 'abc',
    });
    assert.deepEqual(
      readFhirConnectionEnv({ FHIR_AUTH: 'basic', FHIR_USERNAME: 'u', FHIR_PASSWORD: 'p' }).auth,
      { type: 'basic', username: 'u', password: 'p' },
    );
    assert.equal(readFhirConnectionEnv(secretEnv).auth?.type, 'client-credentials');
    const smart = readFhirConnectionEnv(smartEnv).auth;
    assert.equal(smart?.type === 'smart-backend' && smart.algorithm, 'ES384');
    assert.deepEqual(
      readFhirConnectionEnv({ FHIR_RETRY_MAX_ATTEMPTS: '3', FHIR_RETRY_MAX_ELAPSED_MS: '2000' })
        .retry,
      { maxAttempts: 3, maxElapsedMs: 2000 },
    );
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['an unknown method', { FHIR_AUTH: 'kerberos' }, /FHIR_AUTH must be one of/],
    ['bearer without a token', { FHIR_AUTH: 'bearer' }, /FHIR_AUTH=bearer needs FHIR_TOKEN/],
    [
      'a secret for another method',
      { FHIR_AUTH: 'bearer', FHIR_TOKEN: 't', FHIR_CLIENT_SECRET: 'hush-123' },
      /FHIR_CLIENT_SECRET is set but FHIR_AUTH is bearer/,
    ],
    [
      'credentials with FHIR_AUTH unset',
      { FHIR_PASSWORD: 'hush-123' },
      /FHIR_PASSWORD is set but FHIR_AUTH is none/,
    ],
    ['smart without a key id', { ...smartEnv, FHIR_KEY_ID: '' }, /needs FHIR_KEY_ID/],
    [
      'smart with an unreadable key file',
      { ...smartEnv, FHIR_PRIVATE_KEY_FILE: '/nonexistent/k.pem' },
      /FHIR_PRIVATE_KEY_FILE cannot be read \(ENOENT\)/,
    ],
    [
      'smart with an RSA algorithm for an EC key',
      { ...smartEnv, FHIR_JWT_ALG: 'RS384' },
      /the key in FHIR_PRIVATE_KEY_FILE is not a key for RS384/,
    ],
    [
      'smart with an unknown algorithm',
      { ...smartEnv, FHIR_JWT_ALG: 'HS256' },
      /FHIR_JWT_ALG must be RS384 or ES384/,
    ],
    [
      'a token URL that is not a URL',
      { ...secretEnv, FHIR_TOKEN_URL: 'token' },
      /FHIR_TOKEN_URL must be an absolute http\(s\) URL/,
    ],
    [
      'zero retry attempts',
      { FHIR_RETRY_MAX_ATTEMPTS: '0' },
      /FHIR_RETRY_MAX_ATTEMPTS must be a whole number of at least 1/,
    ],
  ];
  for (const [title, env, message] of bad) {
    it(`${title} is an error naming the variable, without its value`, () => {
      assert.throws(
        () => readFhirConnectionEnv(env),
        (e: Error) =>
          message.test(e.message) &&
          !e.message.includes('hush-123') &&
          !e.message.includes(privateKeyBody),
      );
    });
  }

  it('npm start with a bad auth configuration stops at once (exit 2) with the message', async () => {
    const result = await runNode('src/server.ts', [], {
      FHIR_BASE_URL: proxy.baseUrl,
      PORT: '0',
      ...smartEnv,
      FHIR_KEY_ID: '',
    });
    assert.equal(result.code, 2);
    assert.match(result.stdout + result.stderr, /FHIR_AUTH=smart-backend needs FHIR_KEY_ID/);
    assert.ok(!(result.stdout + result.stderr).includes(privateKeyBody));
  });
});

describe('the facade through the protected FHIR server', () => {
  for (const [title, env] of [
    ['client-credentials', secretEnv],
    ['smart-backend ES384', smartEnv],
  ] as const) {
    it(`${title}: serves create/get/search, and neither logs nor answers carry a secret or token`, async () => {
      const { logger, lines } = captureLogger();
      const config = readConfig({ ...env, FHIR_BASE_URL: proxy.baseUrl, PORT: '0' });
      const running = await startServer(config, { logger });
      const seenBefore = new Set(proxy.stats.tokensSeen);
      const answers: string[] = [];
      try {
        const name = `Facade ${title} ${run}`;
        const created = await fetch(`${running.url}/patients`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
        assert.equal(created.status, 201);
        const record = (await created.json()) as { id: string };
        const got = await fetch(`${running.url}/patients/${record.id}`);
        assert.equal(got.status, 200);
        const found = await fetch(`${running.url}/patients?name=${encodeURIComponent(name)}`);
        assert.deepEqual(
          ((await found.json()) as { id: string }[]).map((r) => r.id),
          [record.id],
        );
        answers.push(JSON.stringify(record), await got.text());
        // a revoked token: renewed, the answer is still right
        proxy.revokeSeen();
        assert.equal((await fetch(`${running.url}/patients/${record.id}`)).status, 200);
        assert.equal(
          (await fetch(`${running.url}/patients/${record.id}`, { method: 'DELETE' })).status,
          204,
        );
      } finally {
        await running.shutdown();
      }
      const newTokens = [...proxy.stats.tokensSeen].filter((t) => !seenBefore.has(t));
      assert.ok(newTokens.length >= 2, 'tokens were used, and renewed after the revocation');
      const everything = [...lines(), ...answers].join('\n');
      for (const secret of [oauth.secretClient.clientSecret, privateKeyBody, ...newTokens]) {
        assert.ok(!everything.includes(secret), 'no secret or token in the logs or answers');
      }
      assert.ok(
        lines().some((l) => l.includes(`"fhirAuth":"${env.FHIR_AUTH}"`)),
        'the method is logged',
      );
    });
  }

  it('a wrong client secret: the facade answers 502 problem+json without the secret', async () => {
    const { logger, lines } = captureLogger();
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const config = readConfig({
      ...secretEnv,
      FHIR_CLIENT_SECRET: wrong,
      FHIR_BASE_URL: proxy.baseUrl,
      PORT: '0',
    });
    const running = await startServer(config, { logger });
    try {
      const res = await fetch(`${running.url}/patients/abc`);
      assert.equal(res.status, 502);
      const text = await res.text();
      assert.ok(!text.includes(wrong) && !lines().join('\n').includes(wrong));
    } finally {
      await running.shutdown();
    }
  });
});

describe('healthcare-fhir check: the auth section', () => {
  it('client-credentials: method, token endpoint found in .well-known, token obtained: yes; no secret printed', async () => {
    const result = await runNode('src/cli/main.ts', ['check', proxy.baseUrl], secretEnv);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^auth\n {2}method: client-credentials\n/);
    assert.ok(
      result.stdout.includes(
        `token endpoint: ${oauth.tokenEndpoint} (found in .well-known/smart-configuration)`,
      ),
      result.stdout,
    );
    assert.match(result.stdout, /token obtained: yes, expires in 300 s/);
    assert.match(
      result.stdout,
      /retry: GET, DELETE and If-Match PUT up to 5 attempts within 10000 ms/,
    );
    assert.ok(!result.stdout.includes(oauth.secretClient.clientSecret));
  });

  it('smart-backend with a configured token URL: "configured", token obtained: yes; no key printed', async () => {
    const result = await runNode('src/cli/main.ts', ['check', proxy.baseUrl], {
      ...smartEnv,
      FHIR_TOKEN_URL: oauth.tokenEndpoint,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /method: smart-backend/);
    assert.ok(result.stdout.includes(`token endpoint: ${oauth.tokenEndpoint} (configured)`));
    assert.match(result.stdout, /token obtained: yes/);
    assert.ok(!result.stdout.includes(privateKeyBody));
  });

  it('a wrong secret: token obtained: no, the reason, exit code 1, no secret printed', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const result = await runNode('src/cli/main.ts', ['check', proxy.baseUrl], {
      ...secretEnv,
      FHIR_CLIENT_SECRET: wrong,
    });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /token obtained: no\n.*invalid_client/);
    assert.ok(!(result.stdout + result.stderr).includes(wrong));
  });

  it('no auth: method none, and a bad variable is exit code 2 with the message', async () => {
    const none = await runNode('src/cli/main.ts', ['check', proxy.baseUrl], {});
    assert.match(none.stdout, /method: none/);
    const bad = await runNode('src/cli/main.ts', ['check', proxy.baseUrl], { FHIR_AUTH: 'bearer' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /FHIR_AUTH=bearer needs FHIR_TOKEN/);
  });
});
