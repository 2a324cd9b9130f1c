/**
 * The circuit breaker of one FHIR server: after `failureThreshold`
 * consecutive exchanges that found it unreachable or timing out (or a gateway
 * answering 502/503/504 for it), requests fail at once with `CircuitOpenError`
 * for `openMs`; then one request is let through as a probe, and its answer
 * closes the breaker again (or opens it for another `openMs`). A request
 * refused here was never sent, so refusing is safe for every write; what a
 * sent request did is the retry layer's and the caller's to report, as before.
 */
import { StorageUnavailableError } from '../api/errors.js';
import { events, type BreakerState, type ExchangeStatus, type Interaction } from './events.js';

/** The `breaker` option: `false` (the library default) sends every request whatever happened before. */
export interface BreakerOptions {
  /** Consecutive failed exchanges that open the breaker; default 5. */
  failureThreshold?: number;
  /** How long it stays open before one probe request is let through; default 5000 ms. */
  openMs?: number;
}

export const DEFAULT_BREAKER: Required<BreakerOptions> = { failureThreshold: 5, openMs: 5_000 };

/** The `breaker` option checked: a breaker, or undefined for `false`/not given. `owner` names the class in errors. */
export function parseBreakerOptions(
  owner: string,
  value: unknown,
  origin: string,
): CircuitBreaker | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${owner}: breaker must be { failureThreshold, openMs } or false`);
  }
  const { failureThreshold, openMs, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new TypeError(`${owner}: breaker has unknown option(s) ${unknown.join(', ')}`);
  }
  if (
    failureThreshold !== undefined &&
    (typeof failureThreshold !== 'number' ||
      !Number.isInteger(failureThreshold) ||
      failureThreshold < 1)
  ) {
    throw new TypeError(`${owner}: breaker.failureThreshold must be an integer of at least 1`);
  }
  if (
    openMs !== undefined &&
    (typeof openMs !== 'number' || !Number.isFinite(openMs) || openMs <= 0)
  ) {
    throw new TypeError(`${owner}: breaker.openMs must be a positive number of ms`);
  }
  return new CircuitBreaker(origin, {
    failureThreshold: failureThreshold ?? DEFAULT_BREAKER.failureThreshold,
    openMs: openMs ?? DEFAULT_BREAKER.openMs,
  });
}

/**
 * Answered without sending anything: the server was found down and the
 * breaker is open. `kind` is `unreachable` (the facade's 503);
 * `retryAfterMs` says when a probe will be let through.
 */
export class CircuitOpenError extends StorageUnavailableError {
  declare retryAfterMs: number;

  constructor(
    origin: string,
    retryAfterMs: number,
    readonly state: BreakerState,
  ) {
    super(
      'unreachable',
      `${origin} is unreachable: its circuit breaker is ${state}, the request was not sent`,
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** Statuses by which a gateway says the server behind it is down or not answering. */
const GATEWAY_DOWN: ReadonlySet<number> = new Set([502, 503, 504]);

/** Whether an exchange's outcome counts against the server (4xx, 500 and the like never do). */
export function isOutage(status: ExchangeStatus): boolean {
  return typeof status !== 'number' || GATEWAY_DOWN.has(status);
}

/** A request let through: report its outcome with `settle` exactly once. */
export interface Admission {
  settle(status: ExchangeStatus): void;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  /** Counts openings: an answer to a request admitted before the last one is stale. */
  private generation = 0;

  constructor(
    readonly origin: string,
    readonly options: Required<BreakerOptions>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Lets a request through (closed; or as the one probe once `openMs` has passed), else throws `CircuitOpenError`. */
  admit(interaction: Interaction): Admission {
    if (this.current === 'closed') {
      const generation = this.generation;
      return { settle: (status) => this.closedOutcome(status, generation) };
    }
    const remaining = this.openedAt + this.options.openMs - this.now();
    if (this.current === 'open' && remaining <= 0) {
      this.moveTo('half-open');
      let settled = false;
      return {
        settle: (status) => {
          if (settled) return;
          settled = true;
          if (isOutage(status)) this.open();
          else this.close();
        },
      };
    }
    events.breakerRejection.publish({ origin: this.origin, interaction });
    // while the probe is out, ask the caller back after the probe's own time at most
    throw new CircuitOpenError(
      this.origin,
      Math.max(remaining, this.current === 'half-open' ? 1000 : 0),
      this.current,
    );
  }

  private closedOutcome(status: ExchangeStatus, generation: number): void {
    // a late answer to a request sent before it last opened says nothing about now
    if (this.current !== 'closed' || generation !== this.generation) return;
    if (!isOutage(status)) {
      this.failures = 0;
      return;
    }
    this.failures++;
    if (this.failures >= this.options.failureThreshold) this.open();
  }

  private open(): void {
    this.generation++;
    this.openedAt = this.now();
    this.moveTo('open');
  }

  private close(): void {
    this.failures = 0;
    this.moveTo('closed');
  }

  private moveTo(state: BreakerState): void {
    this.current = state;
    events.breaker.publish({
      origin: this.origin,
      state,
      failures: this.failures,
      ...(state === 'open' ? { openMs: this.options.openMs } : {}),
    });
  }
}
