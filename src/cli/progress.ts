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

export class Progress {
  private lastPrinted = 0;

  /** `started`: when the work began (ms since the epoch), if before this bar. */
  constructor(
    private readonly total: number,
    private readonly out: TextOut = process.stderr,
    private readonly started = Date.now(),
  ) {}

  private line(done: number): string {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? Math.ceil((this.total - done) / rate) : undefined;
    const percent = this.total ? Math.floor((done / this.total) * 100) : 100;
    return `${done}/${this.total} rows (${percent}%), ${rate.toFixed(0)} rows/s, ETA ${eta === undefined ? '?' : `${eta} s`}`;
  }

  update(done: number): void {
    const now = Date.now();
    if (this.out.isTTY) {
      if (now - this.lastPrinted < 100 && done < this.total) return;
      const width = 30;
      const filled = this.total ? Math.round((done / this.total) * width) : width;
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line(done)}`);
    } else {
      if (now - this.lastPrinted < 2000 && done < this.total) return;
      this.out.write(`progress: ${this.line(done)}\n`);
    }
    this.lastPrinted = now;
  }

  finish(done: number): void {
    this.lastPrinted = 0;
    this.update(done);
    if (this.out.isTTY) this.out.write('\n');
  }
}
