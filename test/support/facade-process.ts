/**
 * A facade (`src/server.ts`) running as a process of its own on a free port,
 * as a user runs several behind a load balancer: started with FHIR_BASE_URL,
 * ready once it logs its URL, stopped with SIGTERM or killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { packageRoot } from '../../src/shared/package-root.js';

export interface FacadeProcess {
  url: string;
  /** `GET /metrics` of its metrics listener, when METRICS_PORT was given in `env`. */
  metricsUrl?: string;
  /** Its log so far (JSON lines). */
  log(): string;
  /** SIGKILL, as a crash; resolves once the process has ended. */
  kill(): Promise<void>;
  /** SIGTERM (graceful); resolves once the process has ended. */
  stop(): Promise<void>;
}

const ended = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

export function startFacadeProcess(
  fhirBaseUrl: string,
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = {},
): Promise<FacadeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: packageRoot(),
    env: {
      ...process.env,
      FHIR_BASE_URL: fhirBaseUrl,
      PORT: '0',
      LOG_LEVEL: 'info',
      API_TOKENS: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const signal = (name: NodeJS.Signals) => async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await ended(child);
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`facade did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.on('data', (more: Buffer) => (output += more.toString())); // keep the request log
      const metrics = /metrics on (http:\/\/[^\s"]+)/.exec(output);
      resolve({
        url: match[1]!,
        ...(metrics ? { metricsUrl: metrics[1]! } : {}),
        log: () => output,
        kill: signal('SIGKILL'),
        stop: signal('SIGTERM'),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`facade exited (${code ?? sig}) before listening:\n${output.slice(-2000)}`));
    });
  });
}
