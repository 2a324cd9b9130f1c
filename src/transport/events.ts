/**
 * What the transport and the facade report about themselves, as
 * `node:diagnostics_channel` messages: each FHIR request sent, each retry,
 * breaker state changes, token renewals, facade requests, audit events. The
 * metrics (src/http/metrics.ts) and the facade's log subscribe; with no
 * subscriber a report costs one boolean check. Messages carry labels only:
 * never a URL, an id, a query value or a body.
 */
import diagnostics_channel from 'node:diagnostics_channel';

/** What a request to the FHIR server (or its token endpoint) does. */
export type Interaction =
  | 'read'
  | 'search'
  | 'create'
  | 'update'
  | 'delete'
  | 'transaction'
  | 'batch'
  | 'capabilities'
  | 'token'
  | 'other';

/** An HTTP status, or how the exchange failed without one. */
export type ExchangeStatus = number | 'unreachable' | 'timeout';

export interface UpstreamRequestEvent {
  interaction: Interaction;
  status: ExchangeStatus;
  durationS: number;
}

export interface RetryEvent {
  interaction: Interaction;
  /** What the failed attempt got. */
  status: ExchangeStatus;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerEvent {
  /** The FHIR server's origin (scheme, host, port): never a path. */
  origin: string;
  state: BreakerState;
  /** Consecutive failures counted when it opened. */
  failures: number;
  /** How long it stays open before a probe, when it opened. */
  openMs?: number;
}

/** A request answered at once because the breaker is open. */
export interface BreakerRejectionEvent {
  origin: string;
  interaction: Interaction;
}

export interface TokenRenewalEvent {
  method: string;
}

export interface FacadeRequestEvent {
  method: string;
  /** The route pattern (`/patients/:id`), never the path. */
  route: string;
  status: number;
  durationS: number;
}

export interface AuditEventWritten {
  action: string;
  /** The audited request's HTTP status. */
  status: number;
}

const channel = <T>(name: string) => {
  const ch = diagnostics_channel.channel(`healthcare-fhir:${name}`);
  return {
    name: ch.name as string,
    publish(message: T): void {
      if (ch.hasSubscribers) ch.publish(message);
    },
    subscribe(listener: (message: T) => void): () => void {
      const wrapped = (message: unknown) => listener(message as T);
      ch.subscribe(wrapped);
      return () => void ch.unsubscribe(wrapped);
    },
  };
};

/** The channels, by what they report (channel names: `healthcare-fhir:<key in kebab case>`). */
export const events = {
  upstreamRequest: channel<UpstreamRequestEvent>('upstream-request'),
  retry: channel<RetryEvent>('retry'),
  breaker: channel<BreakerEvent>('breaker'),
  breakerRejection: channel<BreakerRejectionEvent>('breaker-rejection'),
  tokenRenewal: channel<TokenRenewalEvent>('token-renewal'),
  facadeRequest: channel<FacadeRequestEvent>('facade-request'),
  auditEvent: channel<AuditEventWritten>('audit-event'),
};

/** For the audit trail: one audit event was written (counted in the metrics). */
export function noteAuditEventWritten(action: string, status: number): void {
  events.auditEvent.publish({ action, status });
}
