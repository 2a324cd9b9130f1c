/**
 * Owns the running java process: spawning it with its output sent to a log
 * file, the terminal or a memory tail; waiting until /metadata answers; and
 * stopping it (SIGTERM, SIGKILL after a grace period). No process-wide hooks:
 * java itself exits when our end of its stdin closes, i.e. when this process dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TimeoutError, withTimeout } from '../../src/shared/timeout.js';
import { lastLines, readFileTail, TailBuffer } from './output.js';
import { logDir } from './paths.js';

const STOP_GRACE_MS = 15_000;
const POLL_INTERVAL_MS = 500;

export type OutputMode = 'inherit' | 'ignore' | 'pipe-to-file';

export interface JavaProcess {
  /** The java process id (tests freeze it with SIGSTOP). */
  pid: number | undefined;
  /** Resolves with the exit code (or signal name) once java has ended. */
  exited: Promise<number | string | null>;
  hasExited(): boolean;
  /** Why java could not be started at all, once it has exited. */
  startError(): Error | undefined;
  /** The end of java's output, or where to find it. */
  outputTail(): string;
  /** SIGTERM once ready (SIGKILL while starting: Spring only acts on SIGTERM after start-up), SIGKILL after the grace period; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now (a crash, for tests); resolves once java has ended. */
  kill(): Promise<void>;
  markReady(): void;
}

export function spawnJava(
  java: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; output: OutputMode },
): JavaProcess {
  let logFile: string | undefined;
  let logFd: number | undefined;
  const memoryTail = new TailBuffer();
  let stdio: ('pipe' | 'inherit' | number)[];
  if (options.output === 'pipe-to-file') {
    fs.mkdirSync(logDir(), { recursive: true });
    logFile = path.join(logDir(), 'fhir-server.log');
    logFd = fs.openSync(logFile, 'w');
    stdio = ['pipe', logFd, logFd];
  } else if (options.output === 'inherit') {
    stdio = ['pipe', 'inherit', 'inherit'];
  } else {
    stdio = ['pipe', 'pipe', 'pipe'];
  }
  // stdin stays open (never written): its EOF tells java (FHIR_EXIT_ON_STDIN_EOF) that we are gone
  const child: ChildProcess = spawn(java, args, { cwd: options.cwd, env: options.env, stdio });
  if (logFd !== undefined) fs.closeSync(logFd); // the child holds its own copy
  child.stdout?.on('data', (d: Buffer) => memoryTail.push(d));
  child.stderr?.on('data', (d: Buffer) => memoryTail.push(d));
  child.stdin?.on('error', () => {});
  unrefStreams(child);

  let exited = false;
  let spawnError: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  }).then(() => {
    exited = true;
  });

  let ready = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!exited) {
        child.kill(ready ? 'SIGTERM' : 'SIGKILL');
        const graceful = await withTimeout(ended, STOP_GRACE_MS).then(
          () => true,
          (error: unknown) => {
            if (error instanceof TimeoutError) return false;
            throw error;
          },
        );
        if (!graceful && !exited) {
          child.kill('SIGKILL');
          await ended;
        }
      }
      child.stdin?.destroy();
    })());

  return {
    exited: ended.then(() => child.exitCode ?? child.signalCode ?? null),
    hasExited: () => exited,
    startError: () =>
      spawnError && new Error(`cannot start java ('${java}'): ${spawnError.message}`),
    outputTail: () => {
      if (logFile) return `log: ${logFile}\n${lastLines(readFileTail(logFile))}`;
      if (options.output === 'inherit') return '(java output was printed above)';
      return lastLines(memoryTail.toString());
    },
    pid: child.pid,
    stop,
    kill: async () => {
      if (!exited) child.kill('SIGKILL');
      await ended;
      child.stdin?.destroy();
    },
    markReady: () => {
      ready = true;
    },
  };
}

/**
 * Polls GET {baseUrl}/metadata until it answers 200. Rejects (after stopping java) when java
 * exits, `timeoutMs` passes, or `signal` aborts.
 */
export async function waitUntilReady(
  java: JavaProcess,
  baseUrl: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  for (;;) {
    if (signal?.aborted) {
      await java.stop();
      throw new Error('HAPI FHIR server start-up interrupted');
    }
    if (java.hasExited()) {
      const code = await java.exited;
      const startError = java.startError();
      if (startError) throw startError;
      throw new Error(
        `HAPI FHIR server exited during start-up (exit code ${code})\n${java.outputTail()}`,
      );
    }
    if (await answersMetadata(baseUrl, deadline)) break;
    if (Date.now() > deadline) {
      await java.stop();
      throw new Error(
        `HAPI FHIR server did not answer ${baseUrl}/metadata within ${Math.round(timeoutMs / 1000)} s\n${java.outputTail()}`,
      );
    }
    await Promise.race([sleep(POLL_INTERVAL_MS), java.exited, aborted]);
  }
  java.markReady();
}

async function answersMetadata(baseUrl: string, deadline: number): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/metadata`, {
      headers: { accept: 'application/fhir+json' },
      // Tomcat accepts connections before the app is ready, so keep attempts short
      signal: AbortSignal.timeout(Math.min(5_000, Math.max(500, deadline - Date.now()))),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The child stays ref'd while running (so an awaited stop() works), but its pipes must not keep node alive. */
function unrefStreams(child: ChildProcess): void {
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
}
