/**
 * Owns writing audit lines where `AUDIT_LOG` says: appended to a file, or to
 * standard output for `-`. A line's promise resolves only once the write
 * that carries it has completed (the kernel has the bytes: they survive a
 * crash of this process, not a power loss), and rejects when it failed.
 * Lines that arrive while a write is under way go together in the next one
 * (group commit), in order. The file is opened for each write (`O_APPEND`):
 * a rotated, deleted or re-permissioned file takes effect at once, and
 * several processes may append to one file (each write is one `write(2)`).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export interface LineSink {
  /** Resolves when `line` (and a newline) is written. */
  write(line: string): Promise<void>;
  /** Where the lines go, for messages: the path, or `standard output`. */
  readonly where: string;
}

type Waiter = { resolve: () => void; reject: (error: unknown) => void };

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

/** Appends `text` to the file at `path` (created with mode 0600) with one write. */
async function appendOnce(path: string, text: string): Promise<void> {
  const file = await open(path, APPEND, 0o600);
  try {
    const bytes = Buffer.from(text, 'utf8');
    let done = 0;
    while (done < bytes.length) done += (await file.write(bytes, done)).bytesWritten;
  } finally {
    await file.close();
  }
}

function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, (error) => (error ? reject(error) : resolve())),
  );
}

/** Batches lines into single writes of `append`, one write at a time. */
function groupCommit(append: (text: string) => Promise<void>, where: string): LineSink {
  let lines: string[] = [];
  let waiters: Waiter[] = [];
  let writing = false;
  const drain = async (): Promise<void> => {
    writing = true;
    while (lines.length) {
      const text = lines.join('');
      const batch = waiters;
      lines = [];
      waiters = [];
      try {
        await append(text);
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    writing = false;
  };
  return {
    where,
    write(line) {
      return new Promise<void>((resolve, reject) => {
        lines.push(`${line}\n`);
        waiters.push({ resolve, reject });
        if (!writing) void drain();
      });
    },
  };
}

/** `-`: standard output; anything else: a file path. */
export function lineSink(target: string): LineSink {
  return target === '-'
    ? groupCommit(writeStdout, 'standard output')
    : groupCommit((text) => appendOnce(target, text), target);
}

/** Opens the file once for appending, to refuse an unwritable `AUDIT_LOG` at start-up with the system's reason. */
export async function checkWritable(target: string): Promise<void> {
  if (target === '-') return;
  const file = await open(target, APPEND, 0o600);
  await file.close();
}
