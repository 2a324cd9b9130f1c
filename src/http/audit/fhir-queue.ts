/**
 * Owns the FHIR copy of the audit trail (`AUDIT_FHIR=true`): events already
 * in `AUDIT_LOG` wait here and go to the FHIR server as `AuditEvent`s in
 * `batch` Bundles (up to `maxBatch` each, at most `flushMs` after the first
 * waits). Nothing is dropped silently:
 *
 * - a batch that fails (unreachable, timeout, 5xx, 429 — as a whole or per
 *   entry) keeps its events at the head of the queue and is retried with
 *   the package's backoff (transport/retry-loop.ts `backoffMs`: `retryMs`
 *   doubling up to `maxRetryMs`, jittered so that several facades do not
 *   retry in step); after `failAfter` failures in a row each failure is
 *   logged as an error and `problem()` says so (`/readyz` answers 503 with
 *   it) until a batch goes through;
 * - an entry the server refuses for its content (another 4xx) cannot succeed
 *   by retrying: it is logged as an error with its count and `problem()`
 *   reports it until a batch is fully accepted (the event stays in `AUDIT_LOG`);
 * - when `maxBacklog` events wait, `full` is true and the trail refuses new
 *   events (requests are answered 503) instead of losing any;
 * - on shutdown `close` keeps sending until the queue is empty or its
 *   deadline passes, then logs how many were not written.
 *
 * A batch whose answer is lost may have been written: a retry can then
 * write an event twice (each names its `X-Request-Id`), never zero times.
 */
import type { Logger } from 'pino';
import type { ResourceJson } from '../../backends/fhir/fhir-rest.js';
import type { AuditEvent } from './event.js';
import { backoffMs, type RetryBudget } from '../../transport/retry-loop.js';

/** One `batch` Bundle of creates; the status line of each entry's answer (`201 Created`), in order. */
export type SendBatch = (
  entries: { request: { method: string; url: string }; resource: ResourceJson }[],
) => Promise<{ status: string }[]>;

export interface FhirAuditOptions {
  send: SendBatch;
  /** The AuditEvent of an event (balp.ts with the model's resource type). */
  toResource: (event: AuditEvent) => ResourceJson;
  logger: Logger;
  maxBatch?: number;
  flushMs?: number;
  maxBacklog?: number;
  retryMs?: number;
  maxRetryMs?: number;
  failAfter?: number;
}

const statusOf = (line: string): number => Number(/^\s*(\d{3})/.exec(line)?.[1] ?? NaN);
const retryable = (status: number): boolean =>
  Number.isNaN(status) || status === 429 || status >= 500;

export class FhirAuditQueue {
  private readonly o: Required<FhirAuditOptions>;
  private backlog: AuditEvent[] = [];
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private failures = 0;
  private refused = 0;
  private readonly retryBudget: RetryBudget;

  constructor(options: FhirAuditOptions) {
    this.o = {
      maxBatch: 100,
      flushMs: 1000,
      maxBacklog: 10_000,
      retryMs: 1000,
      maxRetryMs: 30_000,
      failAfter: 3,
      ...options,
    };
    // never spent: events wait in the queue until a batch goes through (or `close` ends)
    this.retryBudget = {
      maxAttempts: Infinity,
      baseDelayMs: this.o.retryMs,
      maxDelayMs: this.o.maxRetryMs,
    };
  }

  /** No room for another event: the trail must refuse it rather than lose it. */
  get full(): boolean {
    return this.backlog.length >= this.o.maxBacklog;
  }

  get waiting(): number {
    return this.backlog.length;
  }

  push(event: AuditEvent): void {
    this.backlog.push(event);
    // a full batch goes now, unless batches are failing: then the backoff decides
    const now = this.failures === 0 && this.backlog.length >= this.o.maxBatch;
    this.schedule(now ? 0 : this.o.flushMs);
  }

  /** Why the FHIR copy is failing, or `undefined` while it keeps up. */
  problem(): string | undefined {
    if (this.failures >= this.o.failAfter)
      return `the FHIR server has refused or failed the last ${this.failures} AuditEvent batches; ${this.backlog.length} events wait`;
    if (this.refused > 0)
      return `the FHIR server refused ${this.refused} AuditEvents (they are only in AUDIT_LOG)`;
    return undefined;
  }

  private schedule(delayMs: number): void {
    if (this.sending || !this.backlog.length) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  /** Sends the head of the queue once; resolves when that attempt is over. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sending ??= this.sendHead().finally(() => {
      this.sending = undefined;
      if (this.failures === 0) this.schedule(0);
      else this.schedule(backoffMs(this.retryBudget, this.failures));
    });
    return this.sending;
  }

  private async sendHead(): Promise<void> {
    const batch = this.backlog.slice(0, this.o.maxBatch);
    if (!batch.length) return;
    let statuses: number[];
    try {
      const answers = await this.o.send(
        batch.map((event) => ({
          request: { method: 'POST', url: 'AuditEvent' },
          resource: this.o.toResource(event),
        })),
      );
      statuses = answers.map((a) => statusOf(a.status));
    } catch (error) {
      this.failed(batch.length, `the batch failed (${(error as Error)?.name})`);
      return;
    }
    const again = batch.filter((_, i) => retryable(statuses[i]!));
    const refused = batch.filter((_, i) => !retryable(statuses[i]!) && statuses[i]! >= 300);
    this.backlog = [...again, ...this.backlog.slice(batch.length)];
    if (refused.length) {
      this.refused += refused.length;
      this.o.logger.error(
        { refused: refused.length, status: statuses.find((s) => !retryable(s) && s >= 300) },
        'audit: the FHIR server refused AuditEvents; they are only in AUDIT_LOG',
      );
    }
    if (again.length) this.failed(again.length, `${again.length} entries failed`);
    else {
      this.failures = 0;
      if (!refused.length) this.refused = 0;
    }
  }

  private failed(count: number, why: string): void {
    this.failures += 1;
    const loud = this.failures >= this.o.failAfter;
    this.o.logger[loud ? 'error' : 'warn'](
      { failures: this.failures, events: count, waiting: this.backlog.length },
      `audit: AuditEvents not written to the FHIR server: ${why}; retrying`,
    );
  }

  /** Sends until the queue is empty or `deadlineMs` passed; logs what is left. */
  async close(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.backlog.length && Date.now() < until) {
      const before = this.failures;
      await this.flush();
      if (this.failures > before) await new Promise((r) => setTimeout(r, 200));
    }
    clearTimeout(this.timer);
    if (this.backlog.length)
      this.o.logger.error(
        { events: this.backlog.length },
        'audit: AuditEvents not written to the FHIR server at shutdown; they are only in AUDIT_LOG',
      );
  }
}
