/**
 * Owns the server matrix of `npm test`: after the main run (tuned profile,
 * in-memory H2), the server conformance suite runs again on each further
 * server profile, each on servers started for it and stopped after it:
 *
 *   postgres  two bundled HAPI nodes (tuned) on one PostgreSQL database
 *             (scripts/postgres.sh, a throw-away cluster), the production topology
 *   stock     the bundled HAPI with HAPI's own defaults (:contains off, search cache on)
 *   tuned     the bundled HAPI as npm test's main run has it (for npm run test:servers)
 *   helios    Helios FHIR Server 0.2.7 (scripts/helios.ts), for npm run test:servers
 *   medplum   Medplum 5.0.10 built from MEDPLUM_SRC (scripts/medplum.ts), OAuth client
 *             credentials; for npm run test:servers, opt-in
 *
 * TEST_SERVER_PROFILES (comma-separated) chooses them; the default is
 * DEFAULT_MATRIX_PROFILES (both).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startLocalFhirServer } from '../fhir-server/launcher/index.js';
import { packageRoot } from '../src/shared/package-root.js';
import { startHelios } from './helios.js';
import { startMedplum } from './medplum.js';

export type MatrixProfile = 'tuned' | 'postgres' | 'stock' | 'helios' | 'medplum';
/** `tuned` is npm test's main run; `helios` (another implementation, ~40 min to build) runs in `npm run test:servers`. */
export const KNOWN_PROFILES: readonly MatrixProfile[] = [
  'tuned',
  'postgres',
  'stock',
  'helios',
  'medplum',
];
export const DEFAULT_MATRIX_PROFILES: readonly MatrixProfile[] = ['postgres', 'stock'];

/** The server conformance suite: the test files run once per server profile. */
export const SERVER_SUITE = [
  'test/integration/fhir-conformance.test.ts',
  'test/integration/fhir-server.test.ts',
  'test/integration/foreign-records.test.ts',
  'test/integration/server-support.test.ts',
  'test/integration/check-plan.test.ts',
  'test/http/conformance-fhir.test.ts',
];
/**
 * They install the unique link SearchParameters on their server (HAPI only), so they run
 * last against each HAPI server: the server's answers, then the races across processes.
 */
export const LINK_GUARANTEE_TESTS = [
  'test/integration/link-guarantee.test.ts',
  'test/integration/multi-process-races.test.ts',
];
/**
 * On Medplum (OAuth on every call, FHIR_AUTH from the environment): the
 * conformance suite through the library and the facade, links raced by facade
 * processes under the claims guarantee, racing deleters.
 */
export const CLAIMS_SERVER_SUITE = ['test/integration/claims-server.test.ts'];
/** On another implementation: the suite without the bundled HAPI server's own smoke test. */
export const OTHER_SERVER_SUITE = SERVER_SUITE.filter(
  (f) => f !== 'test/integration/fhir-server.test.ts',
);

export function matrixProfiles(env: NodeJS.ProcessEnv = process.env): MatrixProfile[] {
  const raw = env.TEST_SERVER_PROFILES;
  if (raw === undefined) return [...DEFAULT_MATRIX_PROFILES];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!KNOWN_PROFILES.includes(name as MatrixProfile))
      throw new Error(
        `TEST_SERVER_PROFILES: unknown profile ${JSON.stringify(name)} (known: ${KNOWN_PROFILES.join(', ')})`,
      );
  }
  return names as MatrixProfile[];
}

/** Runs test files with the given extra environment; resolves with the exit code. */
export type RunFiles = (files: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const progress = (m: string) => process.stderr.write(`[matrix] ${m}\n`);

function postgresScript(command: string, env: NodeJS.ProcessEnv): void {
  const res = spawnSync('bash', [path.join(packageRoot(), 'scripts', 'postgres.sh'), command], {
    env,
    encoding: 'utf8',
  });
  if (res.status !== 0)
    throw new Error(`scripts/postgres.sh ${command} failed (${res.status}):\n${res.stderr}`);
}

/** One profile: start its servers, run the suite then the link guarantee test, stop everything. */
export async function runProfile(
  profile: MatrixProfile,
  run: RunFiles,
  signal: AbortSignal,
): Promise<number> {
  const started = Date.now();
  const servers: { baseUrl: string; stop(): Promise<void> }[] = [];
  const pgEnv: NodeJS.ProcessEnv = { ...process.env };
  let pgData: string | undefined;
  try {
    const serverLog = (m: string) => progress(`${profile}: ${m}`);
    let env: NodeJS.ProcessEnv;
    if (profile === 'postgres') {
      pgData = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-postgres-'));
      fs.chmodSync(pgData, 0o755);
      pgEnv.FHIR_PG_DATA = path.join(pgData, 'cluster');
      pgEnv.FHIR_PG_PORT = String(await freePort());
      postgresScript('start', pgEnv);
      const postgres = {
        url: `jdbc:postgresql://127.0.0.1:${pgEnv.FHIR_PG_PORT}/fhir`,
        user: 'fhir',
        password: 'fhir',
      };
      // one after the other: the first creates the schema
      for (let i = 0; i < 2; i++) {
        servers.push(
          await startLocalFhirServer({
            database: 'postgres',
            postgres,
            port: 0,
            output: 'ignore',
            signal,
            onProgress: serverLog,
          }),
        );
      }
      env = { FHIR_BASE_URL: servers[0]!.baseUrl, FHIR_BASE_URL_2: servers[1]!.baseUrl };
    } else if (profile === 'medplum') {
      const medplum = await startMedplum(process.env, serverLog);
      servers.push({ baseUrl: medplum.env.FHIR_BASE_URL!, stop: () => medplum.stop() });
      // Medplum meters every client (about 50,000 interaction points a minute; the suite spends
      // more): a retry budget past its 60 s window lets each request wait the quota out
      env = {
        ...medplum.env,
        FHIR_SERVER_PROFILE: 'medplum',
        RACE_ROUNDS: '10',
        FHIR_RETRY_MAX_ATTEMPTS: '10',
        FHIR_RETRY_MAX_ELAPSED_MS: '90000',
      };
      const code = await run(CLAIMS_SERVER_SUITE, env);
      progress(
        `${profile}: ${code === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`,
      );
      return code;
    } else if (profile === 'helios') {
      const helios = await startHelios(process.env, serverLog);
      servers.push(helios);
      env = { FHIR_BASE_URL: helios.baseUrl, FHIR_SERVER_PROFILE: 'helios' };
    } else {
      servers.push(
        await startLocalFhirServer({
          database: 'h2-memory',
          profile,
          port: 0,
          output: 'ignore',
          signal,
          onProgress: serverLog,
        }),
      );
      // the link guarantee does not depend on HAPI's settings: the races run 50 rounds on
      // npm test's main server and on PostgreSQL, 10 on a further H2 profile (keeps npm test short)
      env = { FHIR_BASE_URL: servers[0]!.baseUrl, FHIR_SERVER_PROFILE: profile, RACE_ROUNDS: '10' };
    }
    const hapi = profile !== 'helios';
    const suite = await run(hapi ? SERVER_SUITE : OTHER_SERVER_SUITE, env);
    const links = hapi ? await run(LINK_GUARANTEE_TESTS, env) : 0;
    progress(
      `${profile}: ${suite === 0 && links === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    return suite || links;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (pgData) {
      postgresScript('stop', pgEnv);
      fs.rmSync(pgData, { recursive: true, force: true });
    }
  }
}
