/**
 * Owns running Medplum (a FHIR R4 server on PostgreSQL and Redis, OAuth on
 * every call) for `npm run test:servers`' `medplum` profile, through
 * scripts/medplum.sh: build it from the source the user points MEDPLUM_SRC at
 * (a git checkout or bare git dir of medplum/medplum; Medplum's server is not
 * published to a registry, so the profile is opt-in and never in CI; about
 * 3 minutes the first time), start it (PostgreSQL and Redis from Debian's
 * packages, a client made through Medplum's admin API), and hand the tests
 * its base URL and client credentials (FHIR_AUTH=client-credentials). A
 * Medplum the script had already running is left running afterwards.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../src/shared/package-root.js';

const script = path.join(packageRoot(), 'scripts', 'medplum.sh');

function medplumSh(command: string, env: NodeJS.ProcessEnv, inherit = true): string {
  const res = spawnSync('bash', [script, command], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', inherit ? 'inherit' : 'pipe'],
  });
  if (res.status !== 0)
    throw new Error(
      `scripts/medplum.sh ${command} failed (exit ${res.status}): ${res.stderr ?? ''}`,
    );
  return res.stdout;
}

/** Whether the profile can run: MEDPLUM_SRC given, or a Medplum the script already built. */
export function medplumConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.MEDPLUM_SRC) return true;
  try {
    return medplumSh('env', env, false).includes('FHIR_BASE_URL=');
  } catch {
    return false;
  }
}

export interface MedplumServer {
  /** FHIR_BASE_URL, FHIR_AUTH and the client credentials for the tests. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export function startMedplum(
  env: NodeJS.ProcessEnv,
  progress: (message: string) => void,
): Promise<MedplumServer> {
  if (!medplumConfigured(env))
    throw new Error(
      'profile medplum needs MEDPLUM_SRC=<a git checkout or bare git dir of medplum/medplum> (see scripts/medplum.sh)',
    );
  const scriptEnv = { ...env, ...(env.MEDPLUM_SRC ? { MEDPLUM_GIT_DIR: env.MEDPLUM_SRC } : {}) };
  const wasRunning = /medplum: running/.test(medplumSh('status', scriptEnv, false));
  progress(wasRunning ? 'Medplum already running' : 'building (once) and starting Medplum');
  if (!wasRunning) {
    medplumSh('build', scriptEnv);
    medplumSh('start', scriptEnv);
  }
  const testEnv: NodeJS.ProcessEnv = { FHIR_AUTH: 'client-credentials' };
  for (const line of medplumSh('env', scriptEnv, false).split('\n')) {
    const match = /^export (FHIR_[A-Z_]+)=(.*)$/.exec(line);
    if (match) testEnv[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
  }
  progress(`Medplum ready at ${testEnv.FHIR_BASE_URL}`);
  return Promise.resolve({
    env: testEnv,
    stop: () => {
      if (!wasRunning) medplumSh('stop', scriptEnv);
      return Promise.resolve();
    },
  });
}
