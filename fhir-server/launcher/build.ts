/**
 * Owns building the bundled HAPI server: `mvn package` for fhir-server/ when
 * the jar is missing or older than its sources, with progress while it runs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { lastLines, TailBuffer } from './output.js';
import { fhirServerDir, fhirServerJar } from './paths.js';

function newestMtimeMs(p: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(p)) {
    newest = Math.max(newest, newestMtimeMs(path.join(p, entry)));
  }
  return newest;
}

/** True when the jar is missing or older than fhir-server/pom.xml or anything under fhir-server/src. */
export function fhirServerNeedsBuild(): boolean {
  const jar = fhirServerJar();
  if (!fs.existsSync(jar)) return true;
  const dir = fhirServerDir();
  const sources = Math.max(
    newestMtimeMs(path.join(dir, 'pom.xml')),
    newestMtimeMs(path.join(dir, 'src')),
  );
  return sources > fs.statSync(jar).mtimeMs;
}

let buildInFlight: Promise<string> | undefined;

/** Builds the jar if needed and returns its path; concurrent calls in one process share one build. */
export function buildFhirServer(onProgress?: (message: string) => void): Promise<string> {
  buildInFlight ??= runMaven(onProgress).finally(() => {
    buildInFlight = undefined;
  });
  return buildInFlight;
}

async function runMaven(onProgress?: (message: string) => void): Promise<string> {
  const jar = fhirServerJar();
  if (!fhirServerNeedsBuild()) return jar;
  const dir = fhirServerDir();
  const pom = path.join(dir, 'pom.xml');
  if (!fs.existsSync(pom)) throw new Error(`HAPI FHIR server sources not found: ${pom} is missing`);
  onProgress?.(
    fs.existsSync(jar)
      ? 'rebuilding HAPI FHIR server (fhir-server/ changed)…'
      : 'building HAPI FHIR server (first run, several minutes)…',
  );
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
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
    const heartbeat = setInterval(
      () => onProgress?.(`still building HAPI FHIR server (${seconds()} s)…`),
      30_000,
    );
    heartbeat.unref();
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearInterval(heartbeat);
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `maven not found ('${mvn}'): install Maven 3.8+ and Java 17 to build the local HAPI FHIR server, or set FHIR_BASE_URL to use an existing FHIR server`,
            )
          : error,
      );
    });
    child.on('close', (exitCode, signal) => {
      clearInterval(heartbeat);
      resolve(exitCode ?? (signal ? 128 : 1));
    });
  });
  if (code !== 0)
    throw new Error(`maven build failed (exit ${code}):\n${lastLines(output.toString())}`);
  if (!fs.existsSync(jar)) {
    throw new Error(
      `maven build succeeded but ${jar} was not produced:\n${lastLines(output.toString())}`,
    );
  }
  onProgress?.(`built HAPI FHIR server in ${seconds()} s`);
  return jar;
}
