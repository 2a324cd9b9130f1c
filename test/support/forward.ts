/**
 * The one request forwarder of the test proxies (the token-checking proxy and
 * the fault-injecting proxy): a loopback HTTP server whose `/fhir...` requests
 * go to the real FHIR server under test. The `Host` header is the proxy's, so
 * HAPI writes paging links that point back at the proxy, as a server behind a
 * real gateway would be configured to.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackProxy {
  /** The proxy's FHIR base URL (same path as the upstream's). */
  baseUrl: string;
  host: string;
  stop(): Promise<void>;
}

/**
 * Sends `req` (its body already read into `body`) upstream; the caller gets
 * the upstream response. The client's `Authorization` is dropped (a proxy in
 * front of a FHIR server adds its own) unless `keepAuthorization`.
 */
export function forward(
  upstreamBase: string,
  req: http.IncomingMessage,
  body: Buffer,
  publicHost: string,
  { keepAuthorization = false } = {},
): Promise<http.IncomingMessage> {
  const upstream = new URL(upstreamBase);
  const headers = { ...req.headers, host: publicHost };
  if (!keepAuthorization) delete headers.authorization;
  delete headers['accept-encoding']; // plain bodies, so a fault can cut one anywhere
  return new Promise((resolve, reject) => {
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      resolve,
    );
    out.on('error', reject);
    out.end(body);
  });
}

/** Reads a whole response or request body. */
export async function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes an upstream response back unchanged. */
export function relay(from: http.IncomingMessage, body: Buffer, to: http.ServerResponse): void {
  const headers = { ...from.headers };
  delete headers['transfer-encoding'];
  to.writeHead(from.statusCode ?? 502, { ...headers, 'content-length': String(body.length) });
  to.end(body);
}

/**
 * Starts a loopback server on a free port for `upstreamBase`'s path; `handle`
 * answers each request (its body read first).
 */
export async function startLoopbackProxy(
  upstreamBase: string,
  handle: (
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
    host: string,
  ) => Promise<void>,
): Promise<LoopbackProxy> {
  let host = '';
  const server = http.createServer((req, res) => {
    readBody(req)
      .then((body) => handle(req, body, res, host))
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: `http://${host}${new URL(upstreamBase).pathname.replace(/\/+$/, '')}`,
    host,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
