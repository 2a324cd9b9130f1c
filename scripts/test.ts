/**
 * `npm test` driver.
 *
 * Without FHIR_BASE_URL: starts the local HAPI FHIR server (in-memory H2, free port), runs the
 * tests with FHIR_BASE_URL pointing at it, and always stops it afterwards. With FHIR_BASE_URL set:
 * runs the tests against that server. The link guarantee tests run last (they install
 * SearchParameters on the server). A full run (no filter, no FHIR_BASE_URL) then runs the server
 * conformance suite on each further server profile (scripts/server-matrix.ts: PostgreSQL with
 * two HAPI nodes; `stock`, HAPI's own defaults). The claims suite (Medplum's link guarantee) runs only
 * in the opt-in `medplum` profile of `npm run test:servers`, or when its file is named.
 *
 * Usage: npm test [-- [node test flags…] [file or directory or substring…]]
 *   npm test -- test/unit                 # only tests under test/unit
 *   npm test -- fhir-server               # test files whose path contains "fhir-server"
 *   npm test -- --test-name-pattern=read  # node:test flags are passed through
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startLocalFhirServer, type LocalFhirServer } from '../fhir-server/launcher/index.js';
import { packageRoot } from '../src/shared/package-root.js';
import { onShutdownSignal } from '../src/shared/shutdown-signals.js';
import {
  CLAIMS_SERVER_SUITE,
  LINK_GUARANTEE_TESTS,
  matrixProfiles,
  runProfile,
} from './server-matrix.js';

const root = packageRoot();

function listTestFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      out.push(...listTestFiles(full));
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      out.push(full);
    }
  }
  return out;
}

function selectFiles(all: string[], filters: string[]): string[] {
  if (filters.length === 0) return all;
  const selected = new Set<string>();
  for (const filter of filters) {
    const abs = path.resolve(filter);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile()) {
      selected.add(abs);
      continue;
    }
    if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) {
      const under = all.filter((f) => f.startsWith(abs + path.sep));
      if (under.length > 0) {
        for (const f of under) selected.add(f);
        continue;
      }
    }
    for (const f of all) if (path.relative(root, f).includes(filter)) selected.add(f);
  }
  return all.filter((f) => selected.has(f)).concat([...selected].filter((f) => !all.includes(f)));
}

function runNodeTests(
  files: string[],
  nodeFlags: string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-concurrency=1',
        ...nodeFlags,
        ...files.map((f) => path.relative(root, f)),
      ],
      { cwd: root, env, stdio: 'inherit' },
    );
    // Ctrl-C reaches the child through the terminal's process group; just wait for it.
    child.on('error', (err) => {
      process.stderr.write(`cannot run node --test: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const nodeFlags = args.filter((a) => a.startsWith('-'));
  const filters = args.filter((a) => !a.startsWith('-'));

  // The claims suite proves Medplum's guarantee (an atomic conditional create): it runs in the
  // medplum profile of the matrix, or when named, never against the bundled HAPI.
  const profileOnly = CLAIMS_SERVER_SUITE.map((f) => path.join(root, f));
  const all = listTestFiles(path.join(root, 'test'))
    .filter((f) => !profileOnly.includes(f))
    .sort();
  if (all.length === 0) {
    process.stdout.write('no test files (test/**/*.test.ts) yet: nothing to run\n');
    return 0;
  }
  const files = selectFiles(all, filters);
  if (files.length === 0) {
    process.stderr.write(`no test files match: ${filters.join(' ')}\n`);
    return 1;
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  let server: LocalFhirServer | undefined;
  const interrupt = new AbortController();
  onShutdownSignal((signal) => {
    interrupt.abort();
    process.stderr.write(`\n${signal}: stopping…\n`);
    void server?.stop();
  });
  const interrupted = () => interrupt.signal.aborted;

  try {
    if (!env.FHIR_BASE_URL) {
      server = await startLocalFhirServer({
        database: 'h2-memory',
        port: 0,
        signal: interrupt.signal,
        onProgress: (m) => process.stderr.write(`[fhir-server] ${m}\n`),
      });
      if (interrupted()) return 130;
      env.FHIR_BASE_URL = server.baseUrl;
    } else {
      process.stderr.write(`[fhir-server] using FHIR_BASE_URL=${env.FHIR_BASE_URL}\n`);
    }
    const linkTests = LINK_GUARANTEE_TESTS.map((f) => path.join(root, f));
    const rest = files.filter((f) => !linkTests.includes(f));
    const last = files.filter((f) => linkTests.includes(f));
    let code = rest.length > 0 ? await runNodeTests(rest, nodeFlags, env) : 0;
    if (last.length > 0) code = (await runNodeTests(last, nodeFlags, env)) || code;
    if (server && filters.length === 0 && !interrupted()) {
      await server.stop(); // at most one of our servers besides the matrix's
      server = undefined;
      for (const profile of matrixProfiles()) {
        if (interrupted()) break;
        const run = (list: string[], extra: NodeJS.ProcessEnv) =>
          runNodeTests(
            list.map((f) => path.join(root, f)),
            nodeFlags,
            { ...env, ...extra },
          );
        code = (await runProfile(profile, run, interrupt.signal)) || code;
      }
    }
    return interrupted() && code === 0 ? 130 : code;
  } catch (err) {
    if (interrupted()) {
      process.stderr.write('[fhir-server] start-up interrupted\n');
      return 130;
    }
    throw err;
  } finally {
    if (server) {
      await server.stop();
      process.stderr.write('[fhir-server] stopped\n');
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
