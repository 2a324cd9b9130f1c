/**
 * Owns running work over an async iterable: at most so many at a time
 * (`bounded`), and taking items before they are asked for (`readAhead`).
 */

/**
 * Runs `work` over `items` with at most `limit` at a time; when `items`
 * fails, the work already started finishes before the failure is passed
 * on.
 */
export async function bounded<T>(
  items: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  try {
    for await (const item of items) {
      const task: Promise<void> = work(item).finally(() => running.delete(task));
      running.add(task);
      if (running.size >= limit) await Promise.race(running);
    }
    await Promise.all(running);
  } finally {
    await Promise.allSettled(running);
  }
}

/** `items` in order, up to `ahead` of them taken before they are asked for. */
export async function* readAhead<T>(items: AsyncIterable<T>, ahead: number): AsyncGenerator<T> {
  const iterator = items[Symbol.asyncIterator]();
  // an async generator answers calls of next() in turn, so several may wait at once
  const taken: Promise<IteratorResult<T>>[] = [];
  try {
    for (;;) {
      while (taken.length <= ahead) {
        const next = iterator.next();
        next.catch(() => undefined); // thrown in turn, below
        taken.push(next);
      }
      const next = await taken.shift()!;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
