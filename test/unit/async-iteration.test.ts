/** shared/async-iteration.ts: `readAhead` (as the import takes its batches) and `bounded` (its writers). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { bounded, readAhead } from '../../src/shared/async-iteration.js';

/** Yields 1..count, recording each item as it is taken; throws instead of yielding `failAt`. */
async function* counted(count: number, taken: number[], failAt?: number): AsyncGenerator<number> {
  for (let i = 1; i <= count; i++) {
    if (i === failAt) throw new Error(`item ${i} failed`);
    taken.push(i);
    yield i;
  }
}

it('readAhead yields every item in order and takes at most `ahead` items beyond those asked for', async () => {
  const taken: number[] = [];
  const ahead = readAhead(counted(10, taken), 2);

  assert.deepEqual(await ahead.next(), { value: 1, done: false });
  await setImmediate();
  assert.deepEqual(taken, [1, 2, 3], 'items 2 and 3 taken while item 1 is held');

  const rest: number[] = [];
  for await (const item of ahead) rest.push(item);
  assert.deepEqual(rest, [2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

it('readAhead passes a failure on in its turn, after the items before it', async () => {
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const item of readAhead(counted(10, [], 4), 3)) seen.push(item);
  }, /item 4 failed/);
  assert.deepEqual(seen, [1, 2, 3]);
});

it('bounded runs at most `limit` at a time, and when the items fail, the work started finishes before the failure is thrown', async () => {
  let running = 0;
  let most = 0;
  const finished: number[] = [];
  await assert.rejects(
    bounded(counted(10, [], 6), 2, async (item) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      finished.push(item);
    }),
    /item 6 failed/,
  );
  assert.equal(most, 2);
  assert.deepEqual(finished.sort(), [1, 2, 3, 4, 5], 'all five started items finished');
});
