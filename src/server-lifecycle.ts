/**
 * The facade process's lifecycle parts: listening on the configured port, the URL it serves,
 * the graceful shutdown, and closing what start-up opened, newest first.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** What start-up opened, closed newest first (on shutdown, or when a later step fails). */
export class OpenedParts {
  private readonly closers: (() => Promise<void> | void)[] = [];

  /** `last` runs after everything else (e.g. stopping a FHIR server started for this facade). */
  constructor(private readonly last: () => Promise<void>) {}

  add(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
    await this.last();
  }
}

/** Listens on `port`/`host`; a port in use is a message that says what to change. */
export async function listen(
  app: { listen(port: number, host: string, done: (error?: Error) => void): Server },
  port: number,
  host: string,
): Promise<Server> {
  try {
    return await new Promise<Server>((resolve, reject) => {
      const s = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(s)));
    });
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new Error(`port ${port} is already in use (set PORT to another one)`, { cause: error })
      : error;
  }
}

/** The URL a listening server answers on (`localhost` for the wildcard addresses). */
export function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${address.port}`;
}

/**
 * The server's shutdown (idempotent): stop accepting, let in-flight requests finish (their
 * connections are closed after `graceMs`), then close what start-up opened.
 */
export function gracefulShutdown(
  server: Server,
  parts: OpenedParts,
  logger: Logger,
  graceMs: number,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new connections, finishing in-flight requests');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      const force = setTimeout(() => {
        logger.warn('in-flight requests did not finish in time: closing their connections');
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearInterval(idle);
      clearTimeout(force);
      await parts.closeAll();
      logger.info('stopped');
    })());
}
