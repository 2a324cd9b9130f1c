/**
 * `npm start`: the HTTP facade (contract §3), configured by the environment:
 *
 * - `PORT` (default 3000; `HOST` default 127.0.0.1, so patient data is not on the network until asked; the image sets 0.0.0.0)
 * - `HEALTHCARE_STORAGE_BACKEND`: `fhir` (default) or `memory`
 * - `FHIR_BASE_URL`: the FHIR server; required with the fhir backend here.
 *   `npm start` (scripts/start.ts) runs `main` with a starter for the bundled
 *   local HAPI FHIR server, used when it is unset.
 * - access (config/access-env.ts, contract §6): `API_TOKENS`, `API_CLIENTS_FILE`, `OIDC_ISSUER`,
 *   `OIDC_AUDIENCE`, `OIDC_JWKS_URI`, `RATE_LIMIT`, `CLIENT_MAX_IN_FLIGHT`; on a non-loopback HOST
 *   one of the first three, or `ALLOW_ANONYMOUS=true`, is required
 * - `BODY_LIMIT` (default 1mb), `LOG_LEVEL` (default info)
 * - `AUDIT_LOG` (file or `-`), `AUDIT_FHIR`: the audit trail (config/audit-env.ts, http/audit/)
 * - with the fhir backend: `MAPPINGS_DIR`, `FHIR_TIMEOUT_MS`, `FHIR_PAGE_SIZE`,
 *   `FHIR_SCOPE_TAG`, `FHIR_IDENTIFIER_SYSTEMS` (config/fhir-storage-env.ts)
 * - `FHIR_AUTH` and its credentials, `FHIR_RETRY_MAX_ATTEMPTS`, `FHIR_RETRY_MAX_ELAPSED_MS`:
 *   see config/fhir-connection-env.ts and the README's configuration table
 * - `METRICS_PORT` (Prometheus `GET /metrics` on a listener of its own, on `HOST`),
 *   `FHIR_BREAKER` (on by default), `FHIR_BREAKER_FAILURES`, `FHIR_BREAKER_OPEN_MS`:
 *   config/operations-env.ts
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
import {
  fhirStorageOptionsFromEnv,
  type FhirStorageEnvOptions,
} from './config/fhir-storage-env.js';
import { MemoryStorage } from './backends/memory/index.js';
import { isLoopback, readAccessConfig, type AccessConfig } from './config/access-env.js';
import { readAuditEnv, type AuditConfig } from './config/audit-env.js';
import { openAuditTrail } from './http/audit/open-trail.js';
import type { AuditTrail } from './http/audit/trail.js';
import { createApp } from './http/app.js';
import { authConfigured } from './http/auth.js';
import { answerClientErrors } from './http/problem.js';
import { onShutdownSignal } from './shared/shutdown-signals.js';
import { readFhirConnectionEnv, type FhirConnectionConfig } from './config/fhir-connection-env.js';
import { readOperationsEnv } from './config/operations-env.js';
import { logBreakerChanges } from './http/breaker-log.js';
import type { BreakerOptions } from './transport/breaker.js';
import { noteAuditEventWritten } from './transport/events.js';
import { gracefulShutdown, listen, OpenedParts, serverUrl } from './server-lifecycle.js';

export interface ServerConfig {
  port: number;
  host: string;
  backend: 'fhir' | 'memory';
  fhirBaseUrl: string | undefined;
  /** FhirStorage options from the environment (mappings, timeout, page size, scope tag, identifier systems). */
  fhirStorage: FhirStorageEnvOptions;
  /** Who may call (static clients, OIDC), per-client limits. */
  access: AccessConfig;
  bodyLimit: string;
  /** FHIR server credentials and retry budget (FHIR_AUTH…, FHIR_RETRY_…). */
  fhirConnection?: FhirConnectionConfig;
  /** The audit trail (AUDIT_LOG, AUDIT_FHIR); none when AUDIT_LOG is unset. */
  audit?: AuditConfig;
  /** Where Prometheus metrics are served (0: a free port); undefined: none. */
  metricsPort?: number;
  /** The FHIR circuit breaker (FHIR_BREAKER…); undefined or false: none. */
  breaker?: BreakerOptions | false;
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
  const host = env.HOST?.trim() || '127.0.0.1';
  const operations = readOperationsEnv(env);
  if (operations.metricsPort !== undefined && operations.metricsPort === port && port !== 0)
    throw new Error(`METRICS_PORT must differ from PORT (both are ${port})`);
  return {
    ...operations,
    port,
    host,
    backend,
    fhirBaseUrl: env.FHIR_BASE_URL?.trim() || undefined,
    fhirStorage: backend === 'fhir' ? fhirStorageOptionsFromEnv(env) : {},
    access: readAccessConfig(env, host),
    bodyLimit: env.BODY_LIMIT?.trim() || '1mb',
    fhirConnection: readFhirConnectionEnv(env),
    audit: readAuditEnv(env, backend),
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), closes the storage, then runs `onClose`. */
  shutdown(): Promise<void>;
}

export interface StartServerOptions {
  logger?: Logger;
  /** How long shutdown waits for in-flight requests before closing their connections (default 10 s). */
  graceMs?: number;
  /** Use this storage instead of the configured backend (tests, embedding). */
  storage?: HealthcareStorage;
  /** Runs last on shutdown, and when start-up fails (e.g. stops a FHIR server started for this facade). */
  onClose?: () => Promise<void>;
}

/** The pino logger `npm start` writes with (level from `LOG_LEVEL`). */
function defaultLogger(): Logger {
  return pino({ name: 'healthcare-fhir', level: process.env.LOG_LEVEL ?? 'info' });
}

/** The storage the configuration names (or the one given); the fhir backend needs FHIR_BASE_URL. */
function openStorage(
  config: ServerConfig,
  options: StartServerOptions,
  logger: Logger,
): HealthcareStorage {
  if (options.storage) return options.storage;
  if (config.backend === 'memory') {
    logger.info({ backend: 'memory' }, 'storage: in-process memory (data is lost on exit)');
    return new MemoryStorage();
  }
  if (!config.fhirBaseUrl) {
    throw new Error(
      'FHIR_BASE_URL is not set: set it to your FHIR server, or use `npm start`, which starts the bundled local HAPI FHIR server',
    );
  }
  const storage = new FhirStorage({
    ...config.fhirStorage,
    ...config.fhirConnection,
    breaker: config.breaker ?? false,
    baseUrl: config.fhirBaseUrl,
  });
  logger.info(
    {
      backend: 'fhir',
      fhirBaseUrl: config.fhirBaseUrl,
      fhirAuth: config.fhirConnection?.auth?.type ?? 'none',
    },
    'storage: FHIR server',
  );
  return storage;
}

/** The audit trail the configuration asks for (AUDIT_LOG, AUDIT_FHIR), if any. */
async function openAudit(
  config: ServerConfig,
  storage: HealthcareStorage,
  logger: Logger,
): Promise<AuditTrail | undefined> {
  const audit =
    config.audit &&
    (await openAuditTrail(config.audit, {
      storage,
      logger,
      onWritten: (event) => noteAuditEventWritten(event.action, event.status),
      fhirConnection: config.fhirBaseUrl
        ? {
            ...config.fhirConnection,
            timeoutMs: config.fhirStorage.timeoutMs,
            baseUrl: config.fhirBaseUrl,
          }
        : undefined,
    }));
  logger.info(
    { audit: audit?.where ?? 'off', auditFhir: config.audit?.fhir ?? false },
    'audit trail',
  );
  return audit;
}

/** Says where the facade listens, and warns when anyone who reaches it may call it. */
function logListening(config: ServerConfig, server: Server, url: string, logger: Logger): void {
  const secured = authConfigured(config.access.auth);
  if (!secured && !isLoopback(config.host))
    logger.warn(
      { host: config.host },
      'ALLOW_ANONYMOUS=true: anyone who can reach this port can read and change every record',
    );
  logger.info(
    { port: (server.address() as AddressInfo).port, auth: secured },
    `listening on ${url} (docs: ${url}/docs, OpenAPI: ${url}/openapi.json)`,
  );
}

export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? defaultLogger();
  const graceMs = options.graceMs ?? 10_000;
  // Closed newest first on shutdown, and when start-up fails: nothing is left behind
  // (the storage, the audit trail, the metrics listener, the local HAPI server).
  const parts = new OpenedParts(options.onClose ?? (async () => {}));
  try {
    const storage = openStorage(config, options, logger);
    parts.add(() =>
      storage
        .close?.()
        .catch((error: unknown) =>
          logger.warn({ errorClass: (error as Error)?.name }, 'storage close failed'),
        ),
    );
    const audit = await openAudit(config, storage, logger);
    if (audit) parts.add(() => audit.close(graceMs));
    const metrics = await startMetrics(config);
    if (metrics) {
      parts.add(() => metrics.close());
      logger.info({ metrics: metrics.url }, `metrics on ${metrics.url}`);
    }
    parts.add(logBreakerChanges(logger));
    const app = createApp({
      storage,
      ...config.access.auth,
      limits: config.access.limits,
      audit,
      bodyLimit: config.bodyLimit,
      logger,
    });
    const server = await listen(app, config.port, config.host);
    answerClientErrors(server);
    const url = serverUrl(server);
    logListening(config, server, url, logger);
    return { server, url, shutdown: gracefulShutdown(server, parts, logger, graceMs) };
  } catch (error) {
    await parts.closeAll();
    throw error;
  }
}

/** The metrics listener when `METRICS_PORT` is set; prom-client is loaded only then. */
async function startMetrics(config: ServerConfig) {
  if (config.metricsPort === undefined) return undefined;
  const { startMetricsServer } = await import('./http/metrics.js');
  return startMetricsServer(config.metricsPort, config.host);
}

/** A FHIR server started for this facade (the bundled HAPI one, by `npm start`). */
export interface StartedFhirServer {
  baseUrl: string;
  stop(): Promise<void>;
}

export interface MainOptions {
  /** Starts a FHIR server when the fhir backend has no FHIR_BASE_URL; aborted by a signal during start-up. */
  startFhirServer?: (logger: Logger, signal: AbortSignal) => Promise<StartedFhirServer>;
}

/** Reads the environment, serves until SIGTERM/SIGINT, then shuts down gracefully and exits. */
export async function main(options: MainOptions = {}): Promise<void> {
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
  const starting = new AbortController();
  onShutdownSignal((signal) => {
    if (starting.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    starting.abort();
    logger.info({ signal }, 'signal received');
    if (!running) return; // still starting: the start-up is aborted or shut down below
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ errorClass: (error as Error)?.name }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
  try {
    let fhirServer: StartedFhirServer | undefined;
    if (config.backend === 'fhir' && !config.fhirBaseUrl && options.startFhirServer) {
      logger.info('FHIR_BASE_URL is not set: starting the bundled local HAPI FHIR server');
      fhirServer = await options.startFhirServer(logger, starting.signal);
      config = { ...config, fhirBaseUrl: fhirServer.baseUrl };
    }
    running = await startServer(config, {
      logger,
      onClose: async () => {
        if (!fhirServer) return;
        logger.info({ component: 'fhir-server' }, 'stopping the local HAPI FHIR server');
        await fhirServer.stop();
      },
    });
  } catch (error) {
    logger.fatal(
      { errorClass: (error as Error)?.name },
      `could not start: ${(error as Error)?.message}`,
    );
    process.exit(starting.signal.aborted ? 0 : 1);
  }
  if (starting.signal.aborted) {
    await running.shutdown();
    process.exit(0);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main();
}
