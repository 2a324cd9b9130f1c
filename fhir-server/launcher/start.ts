/**
 * Owns `startLocalFhirServer`: build if needed, pick the port, spawn java with
 * the database settings, wait until it answers. The caller owns the returned
 * server (and any signal handling): nothing here touches process-wide state.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FhirRestClient } from '../../src/backends/fhir/fhir-rest.js';
import { installLinkSearchParameters } from '../../src/backends/fhir/link-guarantee.js';
import { packageRoot } from '../../src/shared/package-root.js';
import { buildFhirServer } from './build.js';
import { findJava, javaOptions } from './java.js';
import { chooseEndpoint } from './ports.js';
import { defaultDataDir } from './paths.js';
import { spawnJava, waitUntilReady, type OutputMode } from './supervise.js';

export interface LocalFhirServerOptions {
  /** Default: env FHIR_PORT or 8080; 0 = pick a free port. */
  port?: number;
  /**
   * Where HAPI keeps its data: `h2-file` (default, under `dataDir`), `h2-memory` (lost on stop)
   * or `postgres` (the database `postgres` names; scripts/postgres.sh runs one).
   */
  database?: 'h2-memory' | 'h2-file' | 'postgres';
  /** Default: <package root>/data/fhir. Only used with `h2-file`. */
  dataDir?: string;
  /** With `postgres`: JDBC URL (`jdbc:postgresql://host:port/db`), role and password. */
  postgres?: PostgresConnection;
  /** HAPI settings: `tuned` (default) or `stock` (HAPI's own defaults); see fhir-server/README.md. */
  profile?: FhirServerProfile;
  /** PUT the unique link SearchParameters once the server answers (default false). */
  installLinkGuarantee?: boolean;
  /** Human-readable progress lines. */
  onProgress?: (message: string) => void;
  /** Default 300000. */
  startupTimeoutMs?: number;
  /** Where java's output goes; default 'pipe-to-file' (<package root>/data/logs/fhir-server.log). */
  output?: OutputMode;
  /** Aborting stops a server that is still starting (the start rejects). */
  signal?: AbortSignal;
}

export type FhirServerProfile = 'tuned' | 'stock';

export interface PostgresConnection {
  url: string;
  user: string;
  password: string;
}

export interface LocalFhirServer {
  baseUrl: string;
  port: number;
  /** SIGTERM, then SIGKILL after ~15 s; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would; resolves once java has ended. */
  kill(): Promise<void>;
  /** Resolves with the java exit code (or the signal name) once the server process has ended. */
  exited: Promise<number | string | null>;
  /** The java process id (tests freeze it with SIGSTOP). */
  pid: number | undefined;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 300_000;

export async function startLocalFhirServer(
  options: LocalFhirServerOptions = {},
): Promise<LocalFhirServer> {
  const { onProgress } = options;
  const database = options.database ?? 'h2-file';
  const java = findJava();
  const jar = await buildFhirServer(onProgress);
  const endpoint = await chooseEndpoint(options.port);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FHIR_PORT: String(endpoint.port),
    FHIR_HOST: endpoint.bindHost,
    FHIR_DB: { 'h2-memory': 'memory', 'h2-file': 'disk', postgres: 'postgres' }[database],
    FHIR_PROFILE: options.profile ?? 'tuned',
    FHIR_EXIT_ON_STDIN_EOF: '1',
  };
  if (database === 'postgres') {
    if (!options.postgres) throw new Error("database 'postgres' needs the postgres connection");
    env.FHIR_DB_URL = options.postgres.url;
    env.FHIR_DB_USER = options.postgres.user;
    env.FHIR_DB_PASSWORD = options.postgres.password;
  }
  if (database === 'h2-file') {
    env.FHIR_DATA_DIR = path.resolve(options.dataDir ?? defaultDataDir());
    fs.mkdirSync(env.FHIR_DATA_DIR, { recursive: true });
  }

  onProgress?.(
    `starting HAPI FHIR (${env.FHIR_PROFILE}) on :${endpoint.port} (${describeDatabase(database, env)})…`,
  );
  const started = Date.now();
  const server = spawnJava(java, [...javaOptions(), '-jar', jar], {
    cwd: packageRoot(),
    env,
    output: options.output ?? 'pipe-to-file',
  });
  await waitUntilReady(
    server,
    endpoint.baseUrl,
    options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
    options.signal,
  );
  if (options.installLinkGuarantee) {
    const installed = await installLinkSearchParameters(
      new FhirRestClient({ baseUrl: endpoint.baseUrl }),
    );
    if (installed.length > 0) onProgress?.(`installed SearchParameter ${installed.join(', ')}`);
  }
  onProgress?.(
    `HAPI FHIR ready in ${Math.round((Date.now() - started) / 1000)} s at ${endpoint.baseUrl}`,
  );
  return {
    baseUrl: endpoint.baseUrl,
    port: endpoint.port,
    stop: () => server.stop(),
    kill: () => server.kill(),
    exited: server.exited,
    pid: server.pid,
  };
}

function describeDatabase(database: string, env: NodeJS.ProcessEnv): string {
  if (database === 'h2-memory') return 'in-memory H2';
  if (database === 'h2-file') return `H2 in ${env.FHIR_DATA_DIR}`;
  return `PostgreSQL ${env.FHIR_DB_URL}`;
}
