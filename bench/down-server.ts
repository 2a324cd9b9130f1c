/**
 * `npm run bench:down`: how fast the facade answers while its FHIR server is
 * down (port closed). Starts the facade of this checkout (src/server.ts) on a
 * FHIR base URL whose port nothing listens on, then sends get, filter, patch,
 * delete and link one request after another, `ROUNDS` times, and prints each
 * answer's status and latency. Environment: ROUNDS (default 3); anything the
 * facade reads (FHIR_BREAKER=off to compare without the breaker).
 */
import { spawn } from 'node:child_process';
import { freePort } from '../fhir-server/launcher/index.js';
import { packageRoot } from '../src/shared/package-root.js';

const rounds = Number(process.env.ROUNDS ?? 3);

async function startFacade(fhirBaseUrl: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: packageRoot(),
    env: { ...process.env, FHIR_BASE_URL: fhirBaseUrl, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`facade exited (${code}):\n${output}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

const operations: Record<string, { method: string; path: string; body?: unknown }> = {
  get: { method: 'GET', path: '/patients/123' },
  filter: { method: 'GET', path: '/patients?name=Doe' },
  patch: { method: 'PATCH', path: '/patients/123', body: { status: 'I' } },
  delete: { method: 'DELETE', path: '/patients/123' },
  link: {
    method: 'POST',
    path: '/patients/123/links',
    body: { source_id: 'A1', source_name: 'emr' },
  },
};

async function main(): Promise<void> {
  const facade = await startFacade(`http://127.0.0.1:${await freePort()}/fhir`);
  try {
    process.stdout.write(`facade ${facade.url}, FHIR server down; ${rounds} rounds\n`);
    for (let round = 1; round <= rounds; round++) {
      const cells: string[] = [];
      for (const [name, op] of Object.entries(operations)) {
        const started = performance.now();
        const res = await fetch(facade.url + op.path, {
          method: op.method,
          headers: op.body ? { 'content-type': 'application/json' } : {},
          body: op.body ? JSON.stringify(op.body) : undefined,
        });
        await res.arrayBuffer();
        const ms = performance.now() - started;
        const after = res.headers.get('retry-after');
        cells.push(
          `${name} ${res.status}${after ? ` (Retry-After ${after})` : ''} ${ms.toFixed(1)} ms`,
        );
      }
      process.stdout.write(`round ${round}: ${cells.join(' | ')}\n`);
    }
  } finally {
    facade.stop();
  }
}

await main();
