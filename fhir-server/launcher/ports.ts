/** Owns choosing the server's host and port: FHIR_HOST/FHIR_PORT, a free port, or a clear "in use" error. */
import net from 'node:net';

const DEFAULT_PORT = 8080;

export interface Endpoint {
  /** What java binds to (FHIR_HOST, default 127.0.0.1). */
  bindHost: string;
  /** What we connect to (a wildcard bind is reached on 127.0.0.1). */
  connectHost: string;
  port: number;
  baseUrl: string;
}

/** `port`: an explicit port, 0 for a free one, undefined for FHIR_PORT or 8080. */
export async function chooseEndpoint(port: number | undefined): Promise<Endpoint> {
  const bindHost = process.env.FHIR_HOST?.trim() || '127.0.0.1';
  const connectHost = ['0.0.0.0', '::', '*'].includes(bindHost) ? '127.0.0.1' : bindHost;
  let chosen = port ?? portFromEnvironment();
  if (chosen === 0) {
    chosen = await freePort(connectHost);
  } else if (!(await canListen(chosen, connectHost))) {
    throw new Error(
      `port ${chosen} is already in use (another FHIR server running?): set FHIR_PORT to another port, or FHIR_BASE_URL to use the running server`,
    );
  }
  const urlHost = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
  return { bindHost, connectHost, port: chosen, baseUrl: `http://${urlHost}:${chosen}/fhir` };
}

function portFromEnvironment(): number {
  const text = process.env.FHIR_PORT;
  if (!text || text.trim() === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid FHIR_PORT: ${text}`);
  return port;
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** A port free on `host` now (default 127.0.0.1). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ port: 0, host, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}
