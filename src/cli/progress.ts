/**
 * Owns reporting progress of long work on stderr: a bar redrawn in place
 * (rows/s, ETA) on a terminal, a plain line every few seconds otherwise.
 * Counts only: never any record data.
 */
/** Where text goes: stderr/stdout, or a test's collector. */
export interface TextOut {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** How many rows the work has: counted, or estimated while it is still being read. */
export interface Total {
  rows: number;
  estimated: boolean;
}

export class Progress {
  private lastPrinted = 0;

  /** `started`: when the work began (ms since the epoch), if before this bar. */
  constructor(
    private readonly out: TextOut = process.stderr,
    private readonly started = Date.now(),
  ) {}

  private line(done: number, total: Total): string {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = total.rows - done;
    const eta = left <= 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : undefined;
    const percent = total.rows ? Math.floor((done / total.rows) * 100) : 100;
    const of = `${total.estimated ? '~' : ''}${total.rows}`;
    return `${done}/${of} rows (${percent}%), ${rate.toFixed(0)} rows/s, ETA ${eta === undefined ? '?' : `${eta} s`}`;
  }

  update(done: number, total: Total): void {
    const now = Date.now();
    if (now - this.lastPrinted < (this.out.isTTY ? 100 : 2000)) return;
    this.print(done, total);
  }

  /** The last line: all `done` rows of the work done. */
  finish(done: number): void {
    this.print(done, { rows: done, estimated: false });
    if (this.out.isTTY) this.out.write('\n');
  }

  private print(done: number, estimate: Total): void {
    // an estimate below what is done already is not shown
    const total = { ...estimate, rows: Math.max(done, estimate.rows) };
    const line = this.line(done, total);
    this.lastPrinted = Date.now();
    if (this.out.isTTY) {
      const width = 30;
      const filled = total.rows ? Math.round((done / total.rows) * width) : width;
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}`);
    } else {
      this.out.write(`progress: ${line}\n`);
    }
  }
}
