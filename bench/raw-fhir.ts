/**
 * The benches' baseline: raw FHIR requests as a hand-written client sends
 * them on node:http (keep-alive, gzip accepted), the same bytes on the wire as
 * our transport, with none of our mapping or checking.
 */
import http from 'node:http';
import zlib from 'node:zlib';

export interface RawAnswer {
  body: ReturnType<typeof JSON.parse>;
  etag: string | undefined;
}

export type RawRequest = (
  method: string,
  url: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<RawAnswer>;

/** A raw client; `close()` drops its keep-alive sockets so the process can exit. */
export type RawClient = RawRequest & { close(): void };

/** A raw client of `baseUrl` (a relative `url` is resolved against it) sending `fixedHeaders` on every request. */
export function rawFhirClient(baseUrl: string, fixedHeaders: Record<string, string>): RawClient {
  const agent = new http.Agent({ keepAlive: true, timeout: 4_000 });
  const request: RawRequest = (method, url, body, headers = {}) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const sent: Record<string, string> = {
        accept: 'application/fhir+json',
        'accept-encoding': 'gzip',
        ...fixedHeaders,
        ...headers,
      };
      if (payload !== undefined) {
        sent['content-type'] = 'application/fhir+json';
        sent['content-length'] = String(Buffer.byteLength(payload));
      }
      const target = url.startsWith('http') ? url : `${baseUrl}/${url}`;
      const req = http.request(target, { method, agent, headers: sent });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          const text = (
            res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(data) : data
          ).toString('utf8');
          if (res.statusCode! >= 300) reject(new Error(`${method} ${url}: ${res.statusCode}`));
          else
            resolve({
              body: text ? (JSON.parse(text) as unknown) : undefined,
              etag: res.headers.etag,
            });
        });
      });
      req.end(payload);
    });
  return Object.assign(request, { close: () => agent.destroy() });
}
