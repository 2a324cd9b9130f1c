/**
 * The facade's access settings (config/access-env.ts): secure by default on a
 * non-loopback HOST (the real process refuses to start, one clear line, non-zero
 * exit; ALLOW_ANONYMOUS=true starts it), and every bad value stops start-up
 * with a message naming the variable.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isLoopback, readAccessConfig, readClientsFile } from '../../src/config/access-env.js';
import { sha256Hex } from '../../src/http/auth.js';
import { packageRoot } from '../../src/shared/package-root.js';

/** The facade process with exactly these access variables (the test runner's own are removed). */
function runFacade(env: Record<string, string>): {
  exited: Promise<number | null>;
  output: () => string;
  listening: Promise<string>;
  stop: () => void;
} {
  const base = { ...process.env };
  for (const name of ['API_TOKENS', 'API_CLIENTS_FILE', 'OIDC_ISSUER', 'ALLOW_ANONYMOUS']) {
    delete base[name];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: packageRoot(),
    env: { ...base, HEALTHCARE_STORAGE_BACKEND: 'memory', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`exited before listening: ${output}`)));
  });
  listening.catch(() => {});
  return { exited, output: () => output, listening, stop: () => child.kill('SIGTERM') };
}

describe('secure by default: the facade process on a non-loopback HOST', () => {
  it('HOST=0.0.0.0 without any authentication exits 2 with one line saying what to set', async () => {
    const run = runFacade({ HOST: '0.0.0.0' });
    assert.equal(await run.exited, 2);
    const lines = run
      .output()
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, run.output());
    assert.match(
      (JSON.parse(lines[0]!) as { msg: string }).msg,
      /refusing to serve patient records without authentication on HOST=0\.0\.0\.0: set API_TOKENS, API_CLIENTS_FILE or OIDC_ISSUER \(or ALLOW_ANONYMOUS=true/,
    );
  });

  it('HOST=0.0.0.0 with ALLOW_ANONYMOUS=true starts and serves records without a token', async () => {
    const run = runFacade({ HOST: '0.0.0.0', ALLOW_ANONYMOUS: 'true' });
    const url = await run.listening;
    assert.equal((await fetch(`${url}/patients`)).status, 200);
    run.stop();
    assert.equal(await run.exited, 0);
  });
});

describe('access settings from the environment', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-env-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: unknown): string => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content));
    return at;
  };

  it('loopback hosts are 127.x, ::1 and localhost; 0.0.0.0, :: and a LAN address are not', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.org'])
      assert.ok(!isLoopback(host), host);
  });

  it('a non-loopback HOST is accepted with API_TOKENS, API_CLIENTS_FILE or OIDC_ISSUER', () => {
    const clients = file('ok.json', [
      { name: 'sms-app', token_sha256: sha256Hex('t'), scopes: ['system/Patient.rs'] },
    ]);
    for (const env of [
      { API_TOKENS: 'a' },
      { API_CLIENTS_FILE: clients },
      { OIDC_ISSUER: 'https://idp.example.org', OIDC_AUDIENCE: 'facade' },
    ]) {
      assert.doesNotThrow(() => readAccessConfig(env, '0.0.0.0'), JSON.stringify(env));
    }
    assert.throws(() => readAccessConfig({ API_TOKENS: ' , ' }, '0.0.0.0'), /refusing/);
  });

  it('API_CLIENTS_FILE entries are read with their scopes; each malformed file is refused naming the problem', () => {
    const good = file('good.json', [
      { name: 'sms-app', token_sha256: sha256Hex('x').toUpperCase(), scopes: ['user/*.read'] },
    ]);
    assert.deepEqual(readClientsFile(good), [
      { name: 'sms-app', tokenSha256: sha256Hex('x'), scopes: ['user/*.read'] },
    ]);
    const digest = sha256Hex('y');
    const cases: [unknown, RegExp][] = [
      ['not json', /is not valid JSON/],
      [[], /non-empty JSON array/],
      [[{ name: 'a', token_sha256: 'abc', scopes: [] }], /64 hex digits/],
      [
        [{ name: 'a', token_sha256: digest, scopes: ['system/Patient.xyz'] }],
        /"system\/Patient\.xyz" is not a scope/,
      ],
      [[{ name: 'a', token_sha256: digest, scopes: 'system/*.*' }], /must be an array/],
      [[{ name: 'a', token_sha256: digest, scopes: [], token: 'x' }], /unknown member "token"/],
      [[{ name: 'api-token-1', token_sha256: digest, scopes: [] }], /reserved/],
      [
        [
          { name: 'a', token_sha256: digest, scopes: [] },
          { name: 'b', token_sha256: digest, scopes: [] },
        ],
        /used twice/,
      ],
    ];
    cases.forEach(([content, message], i) => {
      const at = file(`bad-${i}.json`, content);
      assert.throws(
        () => readAccessConfig({ API_CLIENTS_FILE: at }, '127.0.0.1'),
        (error: Error) => {
          assert.match(error.message, /^API_CLIENTS_FILE /);
          assert.match(error.message, message);
          return true;
        },
      );
    });
    assert.throws(
      () => readAccessConfig({ API_CLIENTS_FILE: path.join(dir, 'missing.json') }, '127.0.0.1'),
      /cannot be read/,
    );
  });

  it('OIDC, RATE_LIMIT, CLIENT_MAX_IN_FLIGHT and ALLOW_ANONYMOUS: bad values name the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ OIDC_ISSUER: 'https://idp.example.org' }, /OIDC_AUDIENCE is required/],
      [{ OIDC_ISSUER: 'idp.example.org', OIDC_AUDIENCE: 'a' }, /OIDC_ISSUER must be an http/],
      [{ OIDC_AUDIENCE: 'a' }, /need OIDC_ISSUER/],
      [{ RATE_LIMIT: 'fast' }, /RATE_LIMIT must be/],
      [{ RATE_LIMIT: '0/s' }, /RATE_LIMIT must be/],
      [{ CLIENT_MAX_IN_FLIGHT: '0' }, /CLIENT_MAX_IN_FLIGHT/],
      [{ ALLOW_ANONYMOUS: 'yes' }, /ALLOW_ANONYMOUS must be true or false/],
    ];
    for (const [env, message] of cases)
      assert.throws(() => readAccessConfig(env, '127.0.0.1'), message);
    assert.deepEqual(readAccessConfig({ RATE_LIMIT: '600/min' }, '127.0.0.1').limits, {
      rate: { count: 600, perMs: 60_000 },
      maxInFlight: 32,
    });
  });
});
