/**
 * `npm run bench:delay-proxy -- <upstream origin> <port> <ms>`: an HTTP proxy
 * that holds each request `ms` milliseconds before passing it to the FHIR
 * server, so that a bench on this machine sees a server that far away (a
 * round trip `ms` longer). Request and answer bodies pass unchanged.
 *
 *   npm run bench:delay-proxy -- http://127.0.0.1:8096 8097 50 &
 *   FHIR_BASE_URL=http://127.0.0.1:8097/fhir …
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [upstream, port, delayMs] = [
  new URL(process.argv[2] ?? ''),
  Number(process.argv[3]),
  Number(process.argv[4]),
];
if (!(port > 0) || !(delayMs >= 0))
  throw new Error('usage: delay-proxy <upstream origin> <port> <ms>');
const agent = new http.Agent({ keepAlive: true });

http
  .createServer((req, res) => {
    void sleep(delayMs).then(() => {
      const forwarded = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          // the Host the client sent: the server's links then lead back through here
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    });
  })
  .listen(port, '127.0.0.1', () =>
    console.error(`delay proxy :${port} → ${upstream.origin}, +${delayMs} ms a request`),
  );
