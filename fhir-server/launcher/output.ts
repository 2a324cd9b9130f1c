/** Owns keeping the end of a child's output, for error messages that show what went wrong. */
import fs from 'node:fs';

/** The last `maxLines` lines of `text`, trailing blank space removed. */
export function lastLines(text: string, maxLines = 40): string {
  return text.replace(/\s+$/, '').split('\n').slice(-maxLines).join('\n');
}

/** The last `maxBytes` of a file as text; '' when it cannot be read. */
export function readFileTail(file: string, maxBytes = 16_384): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buffer = Buffer.alloc(size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Keeps the last `max` characters written to it. */
export class TailBuffer {
  private text = '';
  constructor(private readonly max = 32_768) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max);
  }
  toString(): string {
    return this.text.slice(-this.max);
  }
}
