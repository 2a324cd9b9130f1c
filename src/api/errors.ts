/** Base class of every error this package throws on purpose. */
export class APIError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class PatientDoesNotExist extends APIError {
  constructor(readonly id: string) {
    super(`Patient ${JSON.stringify(id)} does not exist`);
  }
}

export class ProviderDoesNotExist extends APIError {
  constructor(readonly id: string) {
    super(`Provider ${JSON.stringify(id)} does not exist`);
  }
}

export interface ValidationIssue {
  /** The offending field (or lookup position such as `lookups[1]`), when there is one. */
  field?: string;
  message: string;
}

/** Input that breaks the contract: nothing was written. */
export class ValidationError extends APIError {
  readonly issues: readonly ValidationIssue[];
  constructor(issues: ValidationIssue[] | string) {
    const list = typeof issues === 'string' ? [{ message: issues }] : issues;
    super(list.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; '));
    this.issues = list;
  }
}

/**
 * A write lost a race it could not resolve by retrying (for example a record
 * updated concurrently more often than the retry budget allows).
 */
export class ConflictError extends APIError {}

export type StorageFailureKind = 'unreachable' | 'timeout' | 'bad-response';

/**
 * The storage behind the backend (the FHIR server, or a remote facade) failed:
 * `unreachable` (connection refused, DNS, …), `timeout`, or `bad-response`
 * (an unexpected status or a body that is not the FHIR it should be).
 */
export class StorageUnavailableError extends APIError {
  /** When the server said how long to wait (a 429's `Retry-After` or rate-limit reset, a 503's `Retry-After`), in ms from when it answered. */
  retryAfterMs?: number;

  constructor(
    readonly kind: StorageFailureKind,
    message: string,
    readonly upstreamStatus?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The storage answered, but not as it should (an unexpected status, a body
 * that is not the FHIR asked for): `kind` is `bad-response`. A subclass of
 * `StorageUnavailableError` so that code catching that class (and the
 * facade's 502) still sees every storage failure.
 */
export class BadStorageResponseError extends StorageUnavailableError {
  constructor(message: string, upstreamStatus?: number, options?: ErrorOptions) {
    super('bad-response', message, upstreamStatus, options);
  }
}
