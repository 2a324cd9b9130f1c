/**
 * Owns finding a Java 17+ runtime (JAVA_HOME first, then PATH) and the JVM
 * flags the server runs with: FHIR_JAVA_OPTS, else the flags of
 * FHIR_JAVA_PROFILE (`start`, the default: quick to start, small; `bulk`: the
 * full JIT and a parallel collector for imports; fhir-server/README.md).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The flag sets of FHIR_JAVA_PROFILE, measured in BENCHMARKS.md. */
const JAVA_PROFILES: Readonly<Record<string, readonly string[]>> = {
  // small heap and C1 only start fastest; the parallel collector started and took a fresh
  // server's first transactions faster than the serial one in each of four runs (BENCHMARKS.md)
  start: ['-Xms256m', '-Xmx1g', '-XX:TieredStopAtLevel=1', '-XX:+UseParallelGC', '-Xss1m'],
  // the full tiered JIT (C2) and the parallel collector: a higher transaction rate once warm
  bulk: ['-Xms512m', '-Xmx2g', '-XX:+UseParallelGC', '-Xss1m'],
};

/** The JVM flags: FHIR_JAVA_OPTS, else those of FHIR_JAVA_PROFILE (default `start`); a bad profile throws. */
export function javaOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.FHIR_JAVA_OPTS?.trim();
  if (fromEnv) return fromEnv.split(/\s+/);
  const profile = env.FHIR_JAVA_PROFILE?.trim() || 'start';
  const flags = JAVA_PROFILES[profile];
  if (!flags)
    throw new Error(`FHIR_JAVA_PROFILE must be start or bulk, not ${JSON.stringify(profile)}`);
  return [...flags];
}

/** The java command to run, checked to be Java 17 or newer. */
export function findJava(): string {
  const home = process.env.JAVA_HOME;
  const fromHome = home
    ? path.join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java')
    : undefined;
  const java = fromHome && fs.existsSync(fromHome) ? fromHome : 'java';
  checkJavaVersion(java);
  return java;
}

function checkJavaVersion(java: string): void {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (result.error) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`java not found ('${java}'): install Java 17 or newer`);
    }
    throw new Error(`cannot run '${java} -version': ${result.error.message}`);
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr ?? ''}${result.stdout ?? ''}`);
  if (!match) return;
  let major = Number(match[1]);
  if (major === 1 && match[2]) major = Number(match[2]); // "1.8.0_x"
  if (major < 17) throw new Error(`java ${major} found ('${java}'): install Java 17 or newer`);
}
