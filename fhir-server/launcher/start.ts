/**
 * Owns `startLocalFhirServer`: build if needed, pick the port, spawn java with
 * the database settings, wait until it answers. The caller owns the returned
 * server (and any signal handling): nothing here touches process-wide state.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/shared/package-root.js';
import { buildFhirServer } from './build.js';
import { findJava, javaOptions } from './java.js';
import { chooseEndpoint } from './ports.js';
import { defaultDataDir } from './paths.js';
import { spawnJava, waitUntilReady, type OutputMode } from './supervise.js';

export interface LocalFhirServerOptions {
  /** Default: env FHIR_PORT or 8080; 0 = pick a free port. */
  port?: number;
  /** Where HAPI keeps its data: `h2-file` (default, under `dataDir`) or `h2-memory` (lost on stop). */
  database?: 'h2-memory' | 'h2-file';
  /** Default: <package root>/data/fhir. Only used with `h2-file`. */
  dataDir?: string;
  /** Human-readable progress lines. */
  onProgress?: (message: string) => void;
  /** Default 300000. */
  startupTimeoutMs?: number;
  /** Where java's output goes; default 'pipe-to-file' (<package root>/data/logs/fhir-server.log). */
  output?: OutputMode;
  /** Aborting stops a server that is still starting (the start rejects). */
  signal?: AbortSignal;
}

export interface LocalFhirServer {
  baseUrl: string;
  port: number;
  /** SIGTERM, then SIGKILL after ~15 s; idempotent. */
  stop(): Promise<void>;
  /** Resolves with the java exit code (or the signal name) once the server process has ended. */
  exited: Promise<number | string | null>;
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
    FHIR_DB: database === 'h2-memory' ? 'memory' : 'disk',
    FHIR_EXIT_ON_STDIN_EOF: '1',
  };
  if (database === 'h2-file') {
    env.FHIR_DATA_DIR = path.resolve(options.dataDir ?? defaultDataDir());
    fs.mkdirSync(env.FHIR_DATA_DIR, { recursive: true });
  }

  onProgress?.(
    `starting HAPI FHIR on :${endpoint.port} (${database === 'h2-memory' ? 'in-memory H2' : `H2 in ${env.FHIR_DATA_DIR}`})…`,
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
  onProgress?.(
    `HAPI FHIR ready in ${Math.round((Date.now() - started) / 1000)} s at ${endpoint.baseUrl}`,
  );
  return {
    baseUrl: endpoint.baseUrl,
    port: endpoint.port,
    stop: server.stop,
    exited: server.exited,
  };
}
