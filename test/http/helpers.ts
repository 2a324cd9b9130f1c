/** Shared helpers of the facade tests: an app on an ephemeral port, captured logs, fetch shortcuts. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { HealthcareStorage } from '../../src/api/types.js';
import type { RecordStore } from '../../src/api/record-store.js';
import type { ModelName } from '../../src/api/models.js';
import type { MemoryStorage } from '../../src/backends/memory/index.js';
import { answerClientErrors, createApp, type CreateAppOptions } from '../../src/http/index.js';

export interface RunningApp {
  baseUrl: string;
  close(): Promise<void>;
}

/** A pino logger writing into memory, for asserting what the logs (do not) contain. */
export function captureLogger(): { logger: Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

/** A silent logger, so test output stays readable. */
export const silentLogger = (): Logger => pino({ level: 'silent' });

export async function startApp(options: CreateAppOptions): Promise<RunningApp> {
  const app = createApp({ logger: silentLogger(), ...options });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  answerClientErrors(server);
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    body?: unknown;
    raw?: string;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= options.contentType ?? 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/**
 * The storage with some methods of one model's store replaced, the rest (and
 * `more`, e.g. `close`) as given: the facade and the named methods use the stores.
 */
export function withStore(
  storage: MemoryStorage,
  model: ModelName,
  overrides: Partial<RecordStore>,
  more: Partial<HealthcareStorage> = {},
): MemoryStorage {
  const store = Object.assign(Object.create(storage.stores[model]) as RecordStore, overrides);
  return Object.assign(Object.create(storage) as MemoryStorage, more, {
    stores: { ...storage.stores, [model]: store },
  });
}

/** A storage whose every method rejects with `error()`; `checkReady` only when given. */
export function failingStorage(
  error: () => Error,
  checkReady?: () => Promise<void>,
): HealthcareStorage {
  const fail = async (): Promise<never> => {
    throw error();
  };
  return {
    getPatient: fail,
    createPatient: fail,
    updatePatient: fail,
    deletePatient: fail,
    filterPatients: fail,
    linkPatient: fail,
    unlinkPatient: fail,
    getPatientLinks: fail,
    getProvider: fail,
    createProvider: fail,
    updateProvider: fail,
    deleteProvider: fail,
    filterProviders: fail,
    ...(checkReady ? { checkReady } : {}),
  };
}

/** A request sent byte for byte: path as written, body as given. */
export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface RawAnswer {
  status: number;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Sends the request exactly as written: node:http does not normalise dot segments as fetch does. */
export function sendRaw(baseUrl: string, req: RawRequest, agent?: http.Agent): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        agent,
        headers: {
          ...req.headers,
          ...(req.body ? { 'content-length': String(req.body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}
