/**
 * `npm start`: the HTTP facade (contract §3), configured by the environment:
 *
 * - `PORT` (default 3000; `HOST` default 127.0.0.1, so patient data is not on the network until asked; the image sets 0.0.0.0)
 * - `HEALTHCARE_STORAGE_BACKEND`: `fhir` (default) or `memory`
 * - `FHIR_BASE_URL`: the FHIR server; when unset with the fhir backend, the
 *   bundled local HAPI FHIR server is built/started first (data under ./data)
 * - `API_TOKENS`: comma-separated bearer tokens; when set, every route but /healthz needs one
 * - `BODY_LIMIT` (default 1mb), `LOG_LEVEL` (default info)
 *
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the
 * storage, stop the local HAPI server if this process started it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { HealthcareStorage } from './api/types.js';
import { FhirStorage } from './backends/fhir/index.js';
import { MemoryStorage } from './backends/memory/index.js';
import type { LocalFhirServer } from './fhir-server/launcher.js';
import { parseApiTokens } from './http/auth.js';
import { createApp } from './http/app.js';
import { answerClientErrors } from './http/problem.js';

export interface ServerConfig {
  port: number;
  host: string;
  backend: 'fhir' | 'memory';
  fhirBaseUrl: string | undefined;
  apiTokens: string[];
  bodyLimit: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new Error(`PORT must be a port number, not ${JSON.stringify(portText)}`);
  const backend = (env.HEALTHCARE_STORAGE_BACKEND?.trim() || 'fhir').toLowerCase();
  if (backend !== 'fhir' && backend !== 'memory') {
    throw new Error(
      `HEALTHCARE_STORAGE_BACKEND must be "fhir" or "memory", not ${JSON.stringify(backend)}`,
    );
  }
  return {
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    backend,
    fhirBaseUrl: env.FHIR_BASE_URL?.trim() || undefined,
    apiTokens: parseApiTokens(env.API_TOKENS),
    bodyLimit: env.BODY_LIMIT?.trim() || '1mb',
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), closes the storage and the local HAPI. */
  shutdown(): Promise<void>;
}

export interface StartServerOptions {
  logger?: Logger;
  /** How long shutdown waits for in-flight requests before closing their connections (default 10 s). */
  graceMs?: number;
  /** Use this storage instead of the configured backend (tests, embedding). */
  storage?: HealthcareStorage;
}

/** The pino logger `npm start` writes with (level from `LOG_LEVEL`). */
function defaultLogger(): Logger {
  return pino({ name: 'healthcare-fhir', level: process.env.LOG_LEVEL ?? 'info' });
}

export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? defaultLogger();
  const graceMs = options.graceMs ?? 10_000;
  let localFhir: LocalFhirServer | undefined;
  let storage: HealthcareStorage;
  if (options.storage) {
    storage = options.storage;
  } else if (config.backend === 'memory') {
    storage = new MemoryStorage();
    logger.info({ backend: 'memory' }, 'storage: in-process memory (data is lost on exit)');
  } else {
    let baseUrl = config.fhirBaseUrl;
    if (!baseUrl) {
      logger.info(
        'FHIR_BASE_URL is not set: starting the bundled local HAPI FHIR server (data under ./data)',
      );
      const { startLocalFhirServer } = await import('./fhir-server/launcher.js');
      localFhir = await startLocalFhirServer({
        storage: 'disk',
        onProgress: (message) => logger.info({ component: 'fhir-server' }, message),
      });
      baseUrl = localFhir.baseUrl;
      logger.info(
        { component: 'fhir-server', fhirBaseUrl: baseUrl },
        'local HAPI FHIR server is up',
      );
    }
    try {
      storage = new FhirStorage({ baseUrl });
    } catch (error) {
      await localFhir?.stop();
      throw error;
    }
    logger.info({ backend: 'fhir', fhirBaseUrl: baseUrl }, 'storage: FHIR server');
  }

  const app = createApp({
    storage,
    apiTokens: config.apiTokens,
    bodyLimit: config.bodyLimit,
    logger,
  });
  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      const s = app.listen(config.port, config.host, (error?: Error) =>
        error ? reject(error) : resolve(s),
      );
    });
  } catch (error) {
    // Nothing is served: do not leave the local HAPI server (or the storage) behind.
    await storage.close?.();
    await localFhir?.stop();
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new Error(`port ${config.port} is already in use (set PORT to another one)`, {
          cause: error,
        })
      : error;
  }
  answerClientErrors(server);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${address.port}`;
  logger.info(
    { port: address.port, auth: config.apiTokens.length > 0 },
    `listening on ${url} (docs: ${url}/docs, OpenAPI: ${url}/openapi.json)`,
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new connections, finishing in-flight requests');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      const force = setTimeout(() => {
        logger.warn('in-flight requests did not finish in time: closing their connections');
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearInterval(idle);
      clearTimeout(force);
      await storage
        .close?.()
        .catch((error: unknown) =>
          logger.warn({ errorClass: (error as Error)?.name }, 'storage close failed'),
        );
      if (localFhir) {
        logger.info({ component: 'fhir-server' }, 'stopping the local HAPI FHIR server');
        await localFhir.stop();
      }
      logger.info('stopped');
    })());
  return { server, url, shutdown };
}

async function main(): Promise<void> {
  const logger = defaultLogger();
  let config: ServerConfig;
  try {
    config = readConfig();
  } catch (error) {
    logger.fatal((error as Error).message);
    process.exitCode = 2;
    return;
  }
  let running: RunningServer | undefined;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'signal received');
    if (!running) return; // still starting: startServer's result is shut down below
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ errorClass: (error as Error)?.name }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    running = await startServer(config, { logger });
  } catch (error) {
    logger.fatal(
      { errorClass: (error as Error)?.name },
      `could not start: ${(error as Error)?.message}`,
    );
    process.exit(1);
  }
  if (signalled) {
    await running.shutdown();
    process.exit(0);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main();
}
