/**
 * Owns the audit trail as the facade uses it: each event written as one JSON
 * line to `AUDIT_LOG` (which gates the answer), then, with `AUDIT_FHIR`,
 * queued for the FHIR server (fhir-queue.ts); its health for `/readyz`; its
 * shutdown. `onWritten` is told of every event written (the metrics' counter).
 */
import type { RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { problemTypes, sendProblem } from '../problem.js';
import type { AuditEvent } from './event.js';
import { FhirAuditQueue, type FhirAuditOptions } from './fhir-queue.js';
import type { AuditRecorder } from './gate.js';
import { checkWritable, lineSink, type LineSink } from './line-sink.js';

export interface AuditTrailOptions {
  /** `AUDIT_LOG`: a file path (JSON lines, appended), or `-` for standard output. */
  log: string;
  /** `AUDIT_FHIR=true`: also write each event to the FHIR server as an AuditEvent. */
  fhir?: Omit<FhirAuditOptions, 'logger'>;
  /** Where the trail's own failures are logged. */
  logger?: Logger;
  /** Called once per event written to `log` (e.g. a metrics counter). */
  onWritten?: (event: AuditEvent) => void;
}

export class AuditTrail implements AuditRecorder {
  private readonly sink: LineSink;
  private readonly fhir?: FhirAuditQueue;
  private readonly onWritten?: (event: AuditEvent) => void;

  private constructor(options: AuditTrailOptions) {
    this.sink = lineSink(options.log);
    const logger = options.logger ?? pino({ name: 'healthcare-fhir' });
    if (options.fhir) this.fhir = new FhirAuditQueue({ ...options.fhir, logger });
    this.onWritten = options.onWritten;
  }

  /** The trail, once `log` was opened for appending; an unwritable `log` is an error naming it and why. */
  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    try {
      await checkWritable(options.log);
    } catch (error) {
      throw new Error(`AUDIT_LOG: cannot append to ${options.log}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new AuditTrail(options);
  }

  /** Where the lines go, for the start-up log. */
  get where(): string {
    return this.sink.where;
  }

  /** Resolves once the event is in `log` (and queued for the FHIR server); rejects when it cannot be. */
  async record(event: AuditEvent): Promise<void> {
    if (this.fhir?.full) {
      throw new Error(
        `the FHIR audit queue is full (${this.fhir.waiting} events wait for the FHIR server)`,
      );
    }
    await this.sink.write(JSON.stringify(event));
    this.fhir?.push(event);
    this.onWritten?.(event);
  }

  /** Why the trail is failing (its FHIR copy), or `undefined`. */
  problem(): string | undefined {
    return this.fhir?.problem();
  }

  /** Sends what waits for the FHIR server, for at most `deadlineMs`. */
  async close(deadlineMs = 10_000): Promise<void> {
    await this.fhir?.close(deadlineMs);
  }
}

/** `/readyz`: 503 while the trail is failing, else on to the storage check. */
export function auditReadiness(trail: AuditTrail): RequestHandler {
  return (_req, res, next) => {
    const problem = trail.problem();
    if (problem === undefined) return next();
    sendProblem(res, {
      type: problemTypes.notReady,
      title: 'Not ready',
      status: 503,
      detail: `The audit trail is failing: ${problem}.`,
    });
  };
}
