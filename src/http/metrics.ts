/**
 * Prometheus metrics (`METRICS_PORT`): a listener of its own serving
 * `GET /metrics` from a prom-client registry fed by the transport's and the
 * facade's events (src/transport/events.ts) and Node's process metrics.
 * Loaded only when metrics are asked for (server.ts imports it lazily), so
 * nobody else loads prom-client. Labels are methods, route patterns,
 * interactions, statuses and states: never a URL, an id or a query value.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { events, type ExchangeStatus } from '../transport/events.js';

export interface MetricsServer {
  /** `http://host:port/metrics` */
  url: string;
  registry: client.Registry;
  close(): Promise<void>;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/** A method label from a bounded set: anything a client invents is `other`. */
const methodLabel = (method: string): string => (METHODS.has(method) ? method : 'other');
const statusLabel = (status: ExchangeStatus): string => String(status);

type Unsubscribe = () => void;
type Registered = { registers: client.Registry[] };

/** Facade requests: count and duration by method, route pattern and status. */
function facadeMetrics(metric: Registered): Unsubscribe[] {
  const facadeRequests = new client.Counter({
    name: 'healthcare_fhir_http_requests_total',
    help: 'Facade requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    ...metric,
  });
  const facadeDuration = new client.Histogram({
    name: 'healthcare_fhir_http_request_duration_seconds',
    help: 'Facade request duration until the answer was sent, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: SECONDS,
    ...metric,
  });
  return [
    events.facadeRequest.subscribe(({ method, route, status, durationS }) => {
      const labels = { method: methodLabel(method), route, status: String(status) };
      facadeRequests.inc(labels);
      facadeDuration.observe(labels, durationS);
    }),
  ];
}

/** Requests to the FHIR server: each try's count and duration, and the retries. */
function upstreamMetrics(metric: Registered): Unsubscribe[] {
  const upstreamRequests = new client.Counter({
    name: 'healthcare_fhir_upstream_requests_total',
    help: 'Requests sent to the FHIR server (and its token endpoint), each try counted, by interaction and status (an HTTP status, or unreachable/timeout).',
    labelNames: ['interaction', 'status'],
    ...metric,
  });
  const upstreamDuration = new client.Histogram({
    name: 'healthcare_fhir_upstream_request_duration_seconds',
    help: 'Duration of each request to the FHIR server, by interaction and status.',
    labelNames: ['interaction', 'status'],
    buckets: SECONDS,
    ...metric,
  });
  const retries = new client.Counter({
    name: 'healthcare_fhir_upstream_retries_total',
    help: 'Requests to the FHIR server sent again after a transient failure, by interaction and the failed try’s status.',
    labelNames: ['interaction', 'status'],
    ...metric,
  });
  return [
    events.upstreamRequest.subscribe(({ interaction, status, durationS }) => {
      const labels = { interaction, status: statusLabel(status) };
      upstreamRequests.inc(labels);
      upstreamDuration.observe(labels, durationS);
    }),
    events.retry.subscribe(({ interaction, status }) =>
      retries.inc({ interaction, status: statusLabel(status) }),
    ),
  ];
}

/** The circuit breaker: its state, its transitions and the requests it answered unsent. */
function breakerMetrics(metric: Registered): Unsubscribe[] {
  const breakerState = new client.Gauge({
    name: 'healthcare_fhir_circuit_breaker_state',
    help: 'The FHIR server’s circuit breaker: 1 for the current state (closed, open, half-open), 0 for the others.',
    labelNames: ['state'],
    ...metric,
  });
  const breakerTransitions = new client.Counter({
    name: 'healthcare_fhir_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes, by the state entered.',
    labelNames: ['state'],
    ...metric,
  });
  const breakerRejections = new client.Counter({
    name: 'healthcare_fhir_circuit_breaker_rejections_total',
    help: 'Requests answered at once, unsent, because the circuit breaker was open, by interaction.',
    labelNames: ['interaction'],
    ...metric,
  });
  for (const state of BREAKER_STATES) breakerState.set({ state }, state === 'closed' ? 1 : 0);
  return [
    events.breaker.subscribe(({ state }) => {
      for (const s of BREAKER_STATES) breakerState.set({ state: s }, s === state ? 1 : 0);
      breakerTransitions.inc({ state });
    }),
    events.breakerRejection.subscribe(({ interaction }) => breakerRejections.inc({ interaction })),
  ];
}

/** Token renewals by auth method, and audit events written by action and status. */
function tokenAndAuditMetrics(metric: Registered): Unsubscribe[] {
  const tokenRenewals = new client.Counter({
    name: 'healthcare_fhir_token_renewals_total',
    help: 'Access tokens requested from the FHIR server’s token endpoint, by auth method.',
    labelNames: ['method'],
    ...metric,
  });
  const auditEvents = new client.Counter({
    name: 'healthcare_fhir_audit_events_written_total',
    help: 'Audit events written, by action and the audited request’s status.',
    labelNames: ['action', 'status'],
    ...metric,
  });
  return [
    events.tokenRenewal.subscribe(({ method }) => tokenRenewals.inc({ method })),
    events.auditEvent.subscribe(({ action, status }) =>
      auditEvents.inc({ action, status: String(status) }),
    ),
  ];
}

/** The registry and its metrics, subscribed to the events; `stop` unsubscribes. */
export function createMetrics(): { registry: client.Registry; stop: () => void } {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const metric = { registers: [registry] };
  const unsubscribe = [
    ...facadeMetrics(metric),
    ...upstreamMetrics(metric),
    ...breakerMetrics(metric),
    ...tokenAndAuditMetrics(metric),
  ];
  return { registry, stop: () => unsubscribe.forEach((off) => off()) };
}

/** Serves `GET /metrics` on `host:port` (0: a free port) until `close`. */
export async function startMetricsServer(port: number, host: string): Promise<MetricsServer> {
  const { registry, stop } = createMetrics();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: use GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    stop();
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new Error(`METRICS_PORT ${port} is already in use`, { cause: error })
      : error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const hostName = shown === '0.0.0.0' || shown === '[::]' ? 'localhost' : shown;
  return {
    url: `http://${hostName}:${address.port}/metrics`,
    registry,
    close: async () => {
      stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
