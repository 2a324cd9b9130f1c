/**
 * Builds, starts and stops the bundled local HAPI FHIR server (fhir-server/, a Spring Boot jar).
 *
 * Only node: built-ins and the global fetch are used, so this works from `src/` (tsx) and from
 * `dist/` (tsc output) alike.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocalFhirServerOptions {
  /** Default: env FHIR_PORT or 8080; 0 = pick a free port. */
  port?: number;
  /** Default 'disk'. */
  storage?: 'memory' | 'disk';
  /** Default: <package root>/data/fhir. Only used with storage 'disk'. */
  dataDir?: string;
  /** Human-readable progress lines. */
  onProgress?: (message: string) => void;
  /** Default 300000. */
  startupTimeoutMs?: number;
  /** Where the java output goes; default 'pipe-to-file' (<package root>/data/logs/fhir-server.log). */
  stdio?: 'inherit' | 'ignore' | 'pipe-to-file';
}

export interface LocalFhirServer {
  baseUrl: string;
  port: number;
  /** SIGTERM, then SIGKILL after ~15 s; idempotent. */
  stop(): Promise<void>;
  /** Resolves with the java exit code (or the signal name) once the server process has ended. */
  exited?: Promise<number | string | null>;
}

const PACKAGE_NAME = 'healthcare-fhir';
const DEFAULT_PORT = 8080;
const DEFAULT_STARTUP_TIMEOUT_MS = 300_000;
const STOP_GRACE_MS = 15_000;
/** JVM flags: small heap, C1 only and serial GC start fastest on a small machine. FHIR_JAVA_OPTS overrides. */
const DEFAULT_JAVA_OPTS = [
  '-Xms256m',
  '-Xmx1g',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xss1m',
];

let cachedRoot: string | undefined;

/** The directory holding the package.json named `healthcare-fhir`, found by walking up from this file. */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        const parsed = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === PACKAGE_NAME) {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // not a usable package.json: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(
        `cannot find the ${PACKAGE_NAME} package root (a package.json named "${PACKAGE_NAME}") above ${fileURLToPath(import.meta.url)}`,
      );
    }
    dir = parent;
  }
}

function fhirServerDir(): string {
  return path.join(packageRoot(), 'fhir-server');
}

function fhirServerJarPath(): string {
  return path.join(fhirServerDir(), 'target', 'fhir-server.jar');
}

function newestMtimeMs(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of fs.readdirSync(p)) {
    newest = Math.max(newest, newestMtimeMs(path.join(p, entry)));
  }
  return newest;
}

/** True when the jar is missing or older than fhir-server/pom.xml or anything under fhir-server/src. */
function fhirServerNeedsBuild(): boolean {
  const jar = fhirServerJarPath();
  if (!fs.existsSync(jar)) return true;
  const jarMtime = fs.statSync(jar).mtimeMs;
  const dir = fhirServerDir();
  const sources = Math.max(
    newestMtimeMs(path.join(dir, 'pom.xml')),
    newestMtimeMs(path.join(dir, 'src')),
  );
  return sources > jarMtime;
}

function tail(text: string, maxLines = 40): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-maxLines).join('\n');
}

function readFileTail(file: string, maxBytes = 16_384): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Keeps the last `max` characters written to it. */
class TailBuffer {
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

let buildInFlight: Promise<string> | undefined;

/**
 * Runs `mvn package` for fhir-server/ if the jar is missing or stale; returns the jar path.
 * Concurrent calls in one process share one build.
 */
async function buildFhirServer(onProgress?: (m: string) => void): Promise<string> {
  if (buildInFlight) return buildInFlight;
  buildInFlight = doBuild(onProgress).finally(() => {
    buildInFlight = undefined;
  });
  return buildInFlight;
}

async function doBuild(onProgress?: (m: string) => void): Promise<string> {
  const jar = fhirServerJarPath();
  if (!fhirServerNeedsBuild()) return jar;
  const dir = fhirServerDir();
  const pom = path.join(dir, 'pom.xml');
  if (!fs.existsSync(pom)) {
    throw new Error(`HAPI FHIR server sources not found: ${pom} is missing`);
  }
  const firstRun = !fs.existsSync(jar);
  onProgress?.(
    firstRun
      ? 'building HAPI FHIR server (first run, several minutes)…'
      : 'rebuilding HAPI FHIR server (fhir-server/ changed)…',
  );
  const started = Date.now();
  const mvn = process.env.MVN ?? 'mvn';
  const output = new TailBuffer();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(mvn, ['-B', '-q', '-f', pom, 'package', '-DskipTests'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    child.stdout.on('data', (d: Buffer) => output.push(d));
    child.stderr.on('data', (d: Buffer) => output.push(d));
    const heartbeat = setInterval(() => {
      onProgress?.(
        `still building HAPI FHIR server (${Math.round((Date.now() - started) / 1000)} s)…`,
      );
    }, 30_000);
    heartbeat.unref();
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearInterval(heartbeat);
      if (err.code === 'ENOENT') {
        reject(
          new Error(
            `maven not found ('${mvn}'): install Maven 3.8+ and Java 17 to build the local HAPI FHIR server, or set FHIR_BASE_URL to use an existing FHIR server`,
          ),
        );
      } else {
        reject(err);
      }
    });
    child.on('close', (exitCode, signal) => {
      clearInterval(heartbeat);
      resolve(exitCode ?? (signal ? 128 : 1));
    });
  });
  if (code !== 0) {
    throw new Error(`maven build failed (exit ${code}):\n${tail(output.toString())}`);
  }
  if (!fs.existsSync(jar)) {
    throw new Error(
      `maven build succeeded but ${jar} was not produced:\n${tail(output.toString())}`,
    );
  }
  onProgress?.(`built HAPI FHIR server in ${Math.round((Date.now() - started) / 1000)} s`);
  return jar;
}

function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  if (home) {
    const candidate = path.join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java');
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'java';
}

function checkJava(java: string): void {
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`java not found ('${java}'): install Java 17 or newer`);
    throw new Error(`cannot run '${java} -version': ${res.error.message}`);
  }
  const out = `${res.stderr ?? ''}${res.stdout ?? ''}`;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out);
  if (m) {
    let major = Number(m[1]);
    if (major === 1 && m[2]) major = Number(m[2]); // "1.8.0_x"
    if (major < 17) throw new Error(`java ${major} found ('${java}'): install Java 17 or newer`);
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function resolvePort(port: number | undefined): number {
  if (port !== undefined) return port;
  const env = process.env.FHIR_PORT;
  if (env && env.trim() !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid FHIR_PORT: ${env}`);
    return n;
  }
  return DEFAULT_PORT;
}

/**
 * Builds the server if needed, spawns java and waits until GET {baseUrl}/metadata answers 200.
 */
export async function startLocalFhirServer(
  options: LocalFhirServerOptions = {},
): Promise<LocalFhirServer> {
  const onProgress = options.onProgress;
  const storage = options.storage ?? 'disk';
  const root = packageRoot();
  const timeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  const stdioMode = options.stdio ?? 'pipe-to-file';

  const bindHost = process.env.FHIR_HOST?.trim() || '127.0.0.1';
  const connectHost =
    bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '*' ? '127.0.0.1' : bindHost;

  const java = javaCommand();
  checkJava(java);
  const jar = await buildFhirServer(onProgress);

  let port = resolvePort(options.port);
  if (port === 0) {
    port = await freePort(connectHost);
  } else if (!(await canListen(port, connectHost))) {
    throw new Error(
      `port ${port} is already in use (another FHIR server running?): set FHIR_PORT to another port, or FHIR_BASE_URL to use the running server`,
    );
  }
  const urlHost = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
  const baseUrl = `http://${urlHost}:${port}/fhir`;

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FHIR_PORT: String(port),
    FHIR_HOST: bindHost,
    FHIR_DB: storage === 'memory' ? 'memory' : 'disk',
    // the server exits when its stdin closes, i.e. when this node process dies (even by SIGKILL)
    FHIR_EXIT_ON_STDIN_EOF: '1',
  };
  if (storage === 'disk') {
    const dataDir = path.resolve(options.dataDir ?? path.join(root, 'data', 'fhir'));
    fs.mkdirSync(dataDir, { recursive: true });
    env.FHIR_DATA_DIR = dataDir;
  }

  const javaOpts = process.env.FHIR_JAVA_OPTS?.trim()
    ? process.env.FHIR_JAVA_OPTS.trim().split(/\s+/)
    : DEFAULT_JAVA_OPTS;

  let logFile: string | undefined;
  let logFd: number | undefined;
  const memoryLog = new TailBuffer();
  let stdio: ('pipe' | 'inherit' | 'ignore' | number)[];
  if (stdioMode === 'pipe-to-file') {
    const logDir = path.join(root, 'data', 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    logFile = path.join(logDir, 'fhir-server.log');
    logFd = fs.openSync(logFile, 'w');
    stdio = ['pipe', logFd, logFd];
  } else if (stdioMode === 'inherit') {
    stdio = ['pipe', 'inherit', 'inherit'];
  } else {
    // 'ignore': keep only an in-memory tail for error messages
    stdio = ['pipe', 'pipe', 'pipe'];
  }

  onProgress?.(
    `starting HAPI FHIR on :${port} (${storage === 'memory' ? 'in-memory H2' : `H2 in ${env.FHIR_DATA_DIR}`})…`,
  );
  const started = Date.now();
  const child: ChildProcess = spawn(java, [...javaOpts, '-jar', jar], {
    cwd: root,
    env,
    stdio,
  });
  if (logFd !== undefined) fs.closeSync(logFd); // the child holds its own copy
  child.stdout?.on('data', (d: Buffer) => memoryLog.push(d));
  child.stderr?.on('data', (d: Buffer) => memoryLog.push(d));
  // stdin stays open (never written) as the parent-liveness signal; don't let it keep node alive
  child.stdin?.on('error', () => {});
  unrefStreams(child);

  let exited = child.exitCode !== null;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = true;
      resolve();
    });
  });

  const logTail = (): string => {
    if (logFile) return tail(readFileTail(logFile));
    if (stdioMode === 'inherit') return '(java output was printed above)';
    return tail(memoryLog.toString());
  };

  let ready = false;
  // make sure the java child does not outlive this process (a server still starting up is
  // killed outright: Spring would only act on SIGTERM once start-up has finished)
  const onExit = () => {
    if (!exited) child.kill(ready ? 'SIGTERM' : 'SIGKILL');
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (sig: NodeJS.Signals) => {
    onExit();
    // if nobody else handles the signal, restore the default behaviour (terminate)
    if (process.listenerCount(sig) === 1) {
      removeHooks();
      process.kill(process.pid, sig);
    }
  };
  const removeHooks = () => {
    process.removeListener('exit', onExit);
    for (const s of signals) process.removeListener(s, onSignal);
  };
  process.on('exit', onExit);
  for (const s of signals) process.on(s, onSignal);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    if (!stopping) {
      stopping = (async () => {
        if (!exited) {
          child.kill(ready ? 'SIGTERM' : 'SIGKILL');
          let timer: NodeJS.Timeout | undefined;
          const graceful = await Promise.race([
            exitPromise.then(() => true),
            new Promise<boolean>((r) => {
              timer = setTimeout(() => r(false), STOP_GRACE_MS);
            }),
          ]);
          clearTimeout(timer);
          if (!graceful && !exited) {
            child.kill('SIGKILL');
            await exitPromise;
          }
        }
        child.stdin?.destroy();
        removeHooks();
      })();
    }
    return stopping;
  };

  // poll /metadata until it answers 200, failing fast if java exits
  const deadline = started + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      if (spawnError) throw new Error(`cannot start java ('${java}'): ${spawnError.message}`);
      throw new Error(
        `HAPI FHIR server exited during start-up (exit code ${child.exitCode ?? child.signalCode})${logFile ? `; log: ${logFile}` : ''}\n${logTail()}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/metadata`, {
        headers: { accept: 'application/fhir+json' },
        // Tomcat accepts connections before the app is ready, so keep attempts short
        signal: AbortSignal.timeout(Math.min(5_000, Math.max(500, deadline - Date.now()))),
      });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `HAPI FHIR server did not answer ${baseUrl}/metadata within ${Math.round(timeoutMs / 1000)} s${logFile ? `; log: ${logFile}` : ''}\n${logTail()}`,
      );
    }
    await Promise.race([sleep(500), exitPromise]); // sleep(500) is short enough to leave pending
  }
  ready = true;
  onProgress?.(`HAPI FHIR ready in ${Math.round((Date.now() - started) / 1000)} s at ${baseUrl}`);

  return {
    baseUrl,
    port,
    stop,
    exited: exitPromise.then(() => child.exitCode ?? child.signalCode ?? null),
  };
}

function unrefStreams(child: ChildProcess): void {
  // The child itself stays ref'd while running (so an awaited stop() works), but its pipes
  // must not keep the event loop alive on their own.
  for (const s of [child.stdin, child.stdout, child.stderr]) {
    const handle = s as unknown as { unref?: () => void } | null;
    handle?.unref?.();
  }
}
