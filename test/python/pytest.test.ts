/**
 * The Python package (clients/python) against the real facade on the real HAPI FHIR server that
 * `npm test` starts: sets up its virtual environment (clients/python/scripts/setup-venv.sh),
 * starts the facades its tests need, runs pytest, and checks that every test passed, the seed's
 * own BackendTestMixin tests (rapidsms-healthcare 0.1.0) on FacadeStorage among them.
 *
 * Facades (each on a free local port):
 * - over FhirStorage with a scope tag unique to this run and an API token: the seed's tests
 *   assume an empty store, and the scope makes "empty" mean this run's records only; also a
 *   static client with only `system/Patient.rs` (the client's 403 `Forbidden`);
 * - over a FHIR server that refuses connections (503) and one that never answers (504).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { sha256Hex } from '../../src/http/auth.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { startApp, type RunningApp } from '../http/helpers.js';

const fhirBaseUrl = requireFhirBaseUrl();
const packageDir = path.resolve(fileURLToPath(import.meta.url), '../../../clients/python');
const venvPython = path.join(packageDir, '.venv', 'bin', 'python');

interface PytestRun {
  code: number | null;
  output: string;
  cases: { name: string; className: string; outcome: 'passed' | 'failed' | 'skipped' }[];
}

/** Runs pytest in clients/python; the outcome of each case comes from its JUnit XML report. */
function runPytest(env: NodeJS.ProcessEnv): Promise<PytestRun> {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pytest-')), 'report.xml');
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython, ['-m', 'pytest', '-q', `--junitxml=${report}`], {
      cwd: packageDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const xml = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
      fs.rmSync(path.dirname(report), { recursive: true, force: true });
      const cases = [...xml.matchAll(/<testcase ([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)].map(
        (match) => {
          const attribute = (name: string) =>
            new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(match[1]!)?.[1] ?? '';
          const body = match[3] ?? '';
          const outcome: PytestRun['cases'][number]['outcome'] = /<(failure|error)\b/.test(body)
            ? 'failed'
            : /<skipped\b/.test(body)
              ? 'skipped'
              : 'passed';
          return { name: attribute('name'), className: attribute('classname'), outcome };
        },
      );
      resolve({ code, output, cases });
    });
  });
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the Python client and FacadeStorage (pytest) against the facade on HAPI', () => {
  const apps: RunningApp[] = [];
  let silent: Server;
  const sockets = new Set<Socket>();
  let run: PytestRun;

  before(async () => {
    await promisify(execFile)('bash', [path.join(packageDir, 'scripts', 'setup-venv.sh')]);
    const scope = `py-${randomBytes(4).toString('hex')}`;
    const token = randomBytes(16).toString('hex');
    const readonlyToken = randomBytes(16).toString('hex');
    const scoped = await startApp({
      storage: new FhirStorage({
        baseUrl: fhirBaseUrl,
        scopeTag: { system: 'urn:healthcare-fhir:test', code: scope },
      }),
      apiTokens: [token],
      clients: [
        {
          name: 'py-readonly',
          tokenSha256: sha256Hex(readonlyToken),
          scopes: ['system/Patient.rs'],
        },
      ],
    });
    const refusing = await startApp({
      storage: new FhirStorage({
        baseUrl: `http://127.0.0.1:${await closedPort()}/fhir`,
        retry: false,
      }),
    });
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hanging = await startApp({
      storage: new FhirStorage({
        baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/fhir`,
        timeoutMs: 1500,
        retry: false,
      }),
    });
    apps.push(scoped, refusing, hanging);
    run = await runPytest({
      ...process.env,
      HEALTHCARE_FHIR_FACADE_URL: scoped.baseUrl,
      HEALTHCARE_FHIR_FACADE_TOKEN: token,
      HEALTHCARE_FHIR_TEST_READONLY_TOKEN: readonlyToken,
      HEALTHCARE_FHIR_TEST_SCOPE: scope,
      HEALTHCARE_FHIR_TEST_UNREACHABLE_URL: refusing.baseUrl,
      HEALTHCARE_FHIR_TEST_SILENT_URL: hanging.baseUrl,
    });
    const summary = run.output.trim().split('\n').at(-1);
    process.stderr.write(`[pytest] clients/python: ${summary}\n`);
  });

  after(async () => {
    await Promise.all(apps.map((app) => app.close()));
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('pytest exits 0 with every test passed, none failed or skipped', () => {
    assert.equal(run.code, 0, run.output);
    assert.ok(run.cases.length > 0, `no test ran:\n${run.output}`);
    const notPassed = run.cases.filter((c) => c.outcome !== 'passed');
    assert.deepEqual(notPassed, [], run.output);
  });

  it("every test_* of the seed's BackendTestMixin ran on FacadeStorage and passed", async () => {
    const { stdout } = await promisify(execFile)(venvPython, [
      '-c',
      'import healthcare, os; print(os.path.dirname(healthcare.__file__))',
    ]);
    const mixin = fs.readFileSync(path.join(stdout.trim(), 'tests', 'backends', 'base.py'), 'utf8');
    const seedTests = [...mixin.matchAll(/^ {4}def (test_\w+)\(/gm)].map((m) => m[1]!).sort();
    assert.ok(seedTests.length >= 27, `found only ${seedTests.length} seed tests`);
    const passedOnFacade = run.cases
      .filter((c) => c.className.endsWith('SeedBackendTestsOnFacadeStorage'))
      .filter((c) => c.outcome === 'passed')
      .map((c) => c.name)
      .sort();
    assert.deepEqual(passedOnFacade, seedTests, run.output);
  });
});
