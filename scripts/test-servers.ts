/**
 * `npm run test:servers`: the server conformance suite on every server
 * profile, one after the other, each on servers started for it and stopped
 * after it (scripts/server-matrix.ts): the bundled HAPI `tuned` and `stock`,
 * HAPI on PostgreSQL (two nodes), and Helios FHIR Server 0.2.7, a second
 * implementation (built with cargo on first use, about 40 minutes; see
 * scripts/helios.ts), and Medplum 5.0.10 when MEDPLUM_SRC points at its source
 * or scripts/medplum.sh has one built (opt-in: its server is not published to a
 * registry). TEST_SERVER_PROFILES (comma-separated) picks some.
 * Prints one line per profile and exits non-zero if any failed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../src/shared/package-root.js';
import { onShutdownSignal } from '../src/shared/shutdown-signals.js';
import { medplumConfigured } from './medplum.js';
import { KNOWN_PROFILES, matrixProfiles, runProfile } from './server-matrix.js';

const root = packageRoot();

function runFiles(files: string[], extra: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=dot', ...files],
      { cwd: root, env: { ...process.env, ...extra }, stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}

async function main(): Promise<number> {
  const profiles =
    process.env.TEST_SERVER_PROFILES === undefined
      ? KNOWN_PROFILES.filter((p) => p !== 'medplum' || medplumConfigured(process.env))
      : matrixProfiles();
  const interrupt = new AbortController();
  onShutdownSignal(() => interrupt.abort());
  const results: [string, string][] = [];
  for (const profile of profiles) {
    if (interrupt.signal.aborted) break;
    const started = Date.now();
    let outcome: string;
    try {
      const code = await runProfile(
        profile,
        (files, env) =>
          runFiles(
            files.map((f) => path.join(root, f)),
            env,
          ),
        interrupt.signal,
      );
      outcome = code === 0 ? 'passed' : `FAILED (exit ${code})`;
    } catch (error) {
      outcome = `could not run: ${(error as Error).message.split('\n')[0]}`;
    }
    results.push([profile, `${outcome} in ${Math.round((Date.now() - started) / 1000)} s`]);
  }
  process.stdout.write('\nserver profile → conformance suite\n');
  for (const [profile, outcome] of results) process.stdout.write(`  ${profile}: ${outcome}\n`);
  return results.every(([, o]) => o.startsWith('passed')) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
