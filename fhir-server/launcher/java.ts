/** Owns finding a Java 17+ runtime (JAVA_HOME first, then PATH) and the JVM flags the server runs with. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Small heap, C1 only and serial GC start fastest on a small machine. FHIR_JAVA_OPTS replaces them. */
const DEFAULT_JAVA_OPTS = [
  '-Xms256m',
  '-Xmx1g',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xss1m',
];

export function javaOptions(): string[] {
  const fromEnv = process.env.FHIR_JAVA_OPTS?.trim();
  return fromEnv ? fromEnv.split(/\s+/) : DEFAULT_JAVA_OPTS;
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
