/**
 * The import's progress on stderr (cli/progress.ts): counts only, the file's
 * rows estimated (`~`) while it is still being read, the last line printed
 * once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Progress } from '../../src/cli/progress.js';

function collector() {
  const lines: string[] = [];
  return {
    lines,
    out: { write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) },
  };
}

it('a plain progress line marks an estimated total with ~, and a finished run prints its last line once, with the exact count', () => {
  const { lines, out } = collector();
  const progress = new Progress(out, Date.now() - 1000);

  progress.update(10, { rows: 20, estimated: true });
  progress.update(20, { rows: 20, estimated: false }); // within 2 s of the line before: not printed
  progress.finish(20);

  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^progress: 10\/~20 rows \(50%\), \d+ rows\/s, ETA \d+ s$/);
  assert.match(lines[1]!, /^progress: 20\/20 rows \(100%\), \d+ rows\/s, ETA 0 s$/);
});

it('an estimate below the rows already done is shown as the rows done, never above 100%', () => {
  const { lines, out } = collector();
  new Progress(out).update(30, { rows: 25, estimated: true });

  assert.match(lines[0]!, /^progress: 30\/~30 rows \(100%\)/);
});

it('on a terminal the bar is redrawn in place and the finished bar is full', () => {
  const written: string[] = [];
  const progress = new Progress({ write: (text: string) => written.push(text), isTTY: true });

  progress.update(5, { rows: 10, estimated: true });
  progress.finish(10);

  assert.match(written[0]!, /^\r\[#{15}\.{15}\] 5\/~10 rows \(50%\)/);
  assert.match(written[1]!, /^\r\[#{30}\] 10\/10 rows \(100%\)/);
  assert.equal(written.at(-1), '\n');
});
