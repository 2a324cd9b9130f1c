/**
 * `npm run bench:facade`: what the facade itself adds to a call, apart from
 * the FHIR server and from our TypeScript client. A child process serves the
 * facade over MemoryStorage and, beside it, a bare Node HTTP server answering
 * the same record; this process calls both with a keep-alive `node:http`
 * client, interleaved, and prints median and p95 per route and the
 * difference (the facade's routing, validation, logging and JSON).
 *
 *   npm run bench:facade            # BENCH_FACADE_CALLS=4000 per route by default
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { MemoryStorage } from '../src/index.js';
import { createApp } from '../src/http/app.js';

const listen = (server: http.Server): Promise<number> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

/** The child: the facade and the bare server, ports printed as one JSON line. */
async function serve(): Promise<void> {
  const storage = new MemoryStorage();
  const record = await storage.createPatient({ name: 'Bench Joe', sex: 'M' });
  const facade = http.createServer(createApp({ storage, logger: pino({ level: 'silent' }) }));
  const bare = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(record));
    });
  });
  const ports = { facade: await listen(facade), bare: await listen(bare), id: record.id };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(port: number, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode! < 300
            ? resolve(performance.now() - start)
            : reject(new Error(`${method} ${path}: ${res.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

async function measure(): Promise<void> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'serve'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ports = await new Promise<{ facade: number; bare: number; id: string }>((resolve) =>
    child.stdout.once('data', (line: Buffer) =>
      resolve(JSON.parse(line.toString()) as { facade: number; bare: number; id: string }),
    ),
  );
  const calls = Number(process.env.BENCH_FACADE_CALLS ?? 4000);
  const body = JSON.stringify({ name: 'Bench Ann', sex: 'F', birth_date: '1990-01-01' });
  const routes: [string, string, string, string?][] = [
    ['get', 'GET', `/patients/${ports.id}`],
    ['create', 'POST', '/patients', body],
    ['update', 'PATCH', `/patients/${ports.id}`, JSON.stringify({ location: 'Gulu' })],
  ];
  const rows = [
    '| call | facade median / p95 (ms) | bare Node median / p95 (ms) | facade − bare (median) |',
    '|---|---:|---:|---:|',
  ];
  for (const [name, method, path, payload] of routes) {
    const times = { facade: [] as number[], bare: [] as number[] };
    for (let i = 0; i < calls + 500; i++) {
      const facade = await call(ports.facade, method, path, payload);
      const bare = await call(ports.bare, method, '/', payload);
      if (i >= 500) {
        times.facade.push(facade);
        times.bare.push(bare);
      }
    }
    const f = times.facade.sort((a, b) => a - b);
    const b = times.bare.sort((a, c) => a - c);
    rows.push(
      `| ${name} | ${quantile(f, 0.5).toFixed(3)} / ${quantile(f, 0.95).toFixed(3)} | ${quantile(b, 0.5).toFixed(3)} / ${quantile(b, 0.95).toFixed(3)} | ${(quantile(f, 0.5) - quantile(b, 0.5)).toFixed(3)} |`,
    );
  }
  child.kill();
  agent.destroy();
  process.stdout.write(`${rows.join('\n')}\n`);
}

await (process.argv[2] === 'serve' ? serve() : measure());
