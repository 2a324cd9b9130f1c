/**
 * The one retry loop (src/transport/retry-loop.ts): the backoff's bounds, the
 * budget (tries, elapsed time, waits in all), a failure marked final, the
 * caller's give-up answer, and the retry events it reports. The loops built on
 * it are tested where they are used: requests in throttling.test.ts and
 * test/faults, lost races in test/integration.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { events, type RetryEvent } from '../../src/transport/events.js';
import { backoffMs, retrying, type RetryBudget } from '../../src/transport/retry-loop.js';

const quick: RetryBudget = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

/** A try that fails `failures` times with its try number, then is done with 'ok'. */
const failingFirst = (failures: number, extra: { waitMs?: number; final?: boolean } = {}) => {
  const tries: number[] = [];
  const tryOnce = async (attempt: number) => {
    tries.push(attempt);
    return attempt <= failures ? { failed: attempt, ...extra } : { done: 'ok' };
  };
  return { tries, tryOnce };
};

describe('the retry loop', () => {
  it('backoff doubles from the base up to the ceiling, each between half of it and all of it', () => {
    const budget: RetryBudget = { maxAttempts: 9, baseDelayMs: 100, maxDelayMs: 400 };
    const ceilings = [100, 200, 400, 400, 400];
    ceilings.forEach((ceiling, i) => {
      for (let sample = 0; sample < 50; sample++) {
        const ms = backoffMs(budget, i + 1);
        assert.ok(ms >= ceiling / 2 && ms <= ceiling, `try ${i + 1}: ${ms} ms`);
      }
    });
  });

  it('tries again until done, handing each try the failure of the one before', async () => {
    const earlier: (number | undefined)[] = [];
    const result = await retrying<string, number>(
      async (attempt, before) => {
        earlier.push(before);
        return attempt < 3 ? { failed: attempt } : { done: 'ok' };
      },
      { budget: quick, giveUp: () => 'gave up' },
    );
    assert.equal(result, 'ok');
    assert.deepEqual(earlier, [undefined, 1, 2]);
  });

  it('gives up after maxAttempts tries with the last failure and the count of tries', async () => {
    const { tries, tryOnce } = failingFirst(10);
    const result = await retrying<string, number>(tryOnce, {
      budget: quick,
      giveUp: (failure, attempts) => `gave up on ${failure} after ${attempts}`,
    });
    assert.equal(result, 'gave up on 4 after 4');
    assert.deepEqual(tries, [1, 2, 3, 4]);
  });

  it('a final failure is not tried again, whatever the budget', async () => {
    const { tries, tryOnce } = failingFirst(10, { final: true });
    const result = await retrying<string, number>(tryOnce, {
      budget: quick,
      giveUp: (failure) => `final ${failure}`,
    });
    assert.equal(result, 'final 1');
    assert.deepEqual(tries, [1]);
  });

  it('no try starts when its wait would pass maxElapsedMs', async () => {
    const { tries, tryOnce } = failingFirst(10, { waitMs: 30 });
    await retrying<string, number>(tryOnce, {
      budget: { ...quick, maxAttempts: 100, maxElapsedMs: 50 },
      giveUp: () => 'gave up',
    });
    // 0 ms + 30 < 50: a second try; ~30 ms + 30 ≥ 50: none after it
    assert.deepEqual(tries, [1, 2]);
  });

  it('the waits in all never pass maxWaitedMs: the server asked wait counts, not the backoff', async () => {
    const { tries, tryOnce } = failingFirst(10, { waitMs: 10 });
    const started = performance.now();
    await retrying<string, number>(tryOnce, {
      budget: { maxAttempts: Infinity, maxWaitedMs: 25, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      giveUp: () => 'gave up',
    });
    assert.deepEqual(tries, [1, 2, 3], 'two waits of 10 ms fit in 25, a third does not');
    assert.ok(performance.now() - started < 5_000, 'the 10 s backoff was never used');
  });

  it('a throw from a try ends the loop with that error, untried again', async () => {
    let tries = 0;
    await assert.rejects(
      retrying<string, number>(
        async () => {
          tries++;
          throw new Error('not transient');
        },
        { budget: quick, giveUp: () => 'gave up' },
      ),
      /not transient/,
    );
    assert.equal(tries, 1);
  });

  it('reports each failure tried again on events.retry, and not the one it gives up on', async () => {
    const seen: RetryEvent[] = [];
    const unsubscribe = events.retry.subscribe((event) => seen.push(event));
    try {
      const { tryOnce } = failingFirst(10);
      await retrying<string, number>(tryOnce, {
        budget: { ...quick, maxAttempts: 3 },
        giveUp: () => 'gave up',
        report: (failure) => ({ interaction: 'update', status: 410 + failure }),
      });
    } finally {
      unsubscribe();
    }
    assert.deepEqual(seen, [
      { interaction: 'update', status: 411 },
      { interaction: 'update', status: 412 },
    ]);
  });
});
