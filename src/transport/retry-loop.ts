/**
 * The package's one retry loop and its one backoff: every piece of work that
 * is tried again (a request on a transient failure, a versioned write that
 * lost a race, an import batch whose answer was lost, work refused by a
 * throttling server) runs through `retrying`, and every wait between tries
 * happens here; the FHIR audit queue, which never gives up and waits on a
 * timer, takes its waits from `backoffMs`. Callers say what they need: how
 * one try went (`done`, or `failed` with the server's wait when it gave
 * one), the budget, how to give up, and what to report on the retry channel
 * (`events.retry`).
 */
import { events, type RetryEvent } from './events.js';

/** How often, and for how long, work may be tried, and the backoff between tries. */
export interface RetryBudget {
  /** Tries in all, the first included. */
  readonly maxAttempts: number;
  /** No try starts after this many ms since the first one (default: no limit). */
  readonly maxElapsedMs?: number;
  /** The waits together never pass this many ms (default: no limit). */
  readonly maxWaitedMs?: number;
  /** The first backoff; each one after doubles, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** How one try went: its result, or a failure worth another try. */
export type Attempted<T, F> =
  | { readonly done: T }
  | {
      readonly failed: F;
      /** The server's wait (`Retry-After`, a rate limit's reset); else the backoff decides. */
      readonly waitMs?: number;
      /** Not to be tried again, whatever the budget (a request that is not safe to send twice). */
      readonly final?: boolean;
    };

/** What the work needs from the loop, besides its tries. */
export interface RetryNeeds<T, F> {
  readonly budget: RetryBudget;
  /** The answer when the budget is spent (or the failure was `final`): a result, or a throw. */
  giveUp(failure: F, attempts: number, elapsedMs: number): T;
  /** What a failure that is tried again reports on `events.retry`; nothing when absent. */
  report?(failure: F): RetryEvent;
}

/** Backoff before try `attempt + 1` (`attempt` counts from 1): half fixed, half random ("equal jitter"). */
export function backoffMs(budget: RetryBudget, attempt: number): number {
  const ceiling = Math.min(budget.maxDelayMs, budget.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `tryOnce` until it is `done`, or its failure is final or outlasts the
 * budget (then `needs.giveUp` answers). `tryOnce` gets the try's number (from
 * 1) and the failure of the try before, if any; a throw from it ends the loop.
 */
export async function retrying<T, F>(
  tryOnce: (attempt: number, earlier: F | undefined) => Promise<Attempted<T, F>>,
  needs: RetryNeeds<T, F>,
): Promise<T> {
  const { budget } = needs;
  const started = performance.now();
  let earlier: F | undefined;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    const outcome = await tryOnce(attempt, earlier);
    if ('done' in outcome) return outcome.done;
    const waitMs = outcome.waitMs ?? backoffMs(budget, attempt);
    const spent = performance.now() - started;
    if (
      outcome.final ||
      attempt >= budget.maxAttempts ||
      spent + waitMs >= (budget.maxElapsedMs ?? Infinity) ||
      waited + waitMs > (budget.maxWaitedMs ?? Infinity)
    ) {
      return needs.giveUp(outcome.failed, attempt, spent);
    }
    earlier = outcome.failed;
    if (needs.report) events.retry.publish(needs.report(outcome.failed));
    waited += waitMs;
    await sleep(waitMs);
  }
}
