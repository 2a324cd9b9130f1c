/**
 * A real TLS terminator in front of the FHIR server under test: Debian's
 * nginx (/usr/sbin/nginx), run by the test as one foreground process with its
 * own prefix and config in a temporary directory. It serves https with the
 * test PKI's server certificate, requires a client certificate issued by the
 * test CA (`ssl_verify_client on`) and proxies to the FHIR server. That server
 * names itself by the address it is asked on (Host) but does not know it is
 * behind TLS, so nginx rewrites the `http://` of its links and Location
 * headers to `https://`, as a gateway in front of such a server must.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestPki } from './test-pki.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxTls {
  /** The FHIR base URL through nginx: https://127.0.0.1:<port>/<upstream path>. */
  baseUrl: string;
  /** nginx's error log so far (client certificate refusals are logged at info). */
  errorLog(): string;
  stop(): Promise<void>;
}

/** A port the OS says is free now (nginx cannot report a port 0 it was given). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number, upstream: URL, pki: TestPki): string {
  const host = '127.0.0.1:' + port;
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 20m;
  server {
    listen ${host} ssl;
    ssl_certificate ${pki.files.serverCert};
    ssl_certificate_key ${pki.files.serverKey};
    ssl_client_certificate ${pki.files.ca};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass ${upstream.origin};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host ${host};
      proxy_set_header Accept-Encoding "";
      proxy_redirect http://${host}/ https://${host}/;
      sub_filter_types application/fhir+json application/json;
      sub_filter_once off;
      sub_filter "http://${host}/" "https://${host}/";
    }
  }
}
`;
}

/** Waits until nginx accepts connections on `port`, or fails with its error log when it exits first. */
async function ready(child: ChildProcess, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.destroy() && true));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen within 10 s: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts nginx in front of `upstreamBase` (an http:// FHIR base URL). */
export async function startNginxTls(upstreamBase: string, pki: TestPki): Promise<NginxTls> {
  if (!fs.existsSync(NGINX)) {
    throw new Error(
      `nginx is not installed at ${NGINX}: apt-get install nginx (Debian's package; .ci/run installs it)`,
    );
  }
  const upstream = new URL(upstreamBase);
  const dir = fs.mkdtempSync(path.join(pki.dir, 'nginx-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'nginx.conf'), config(dir, port, upstream, pki));
  const child = spawn(
    NGINX,
    ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const errorLog = () => {
    const file = path.join(dir, 'error.log');
    return stderr + (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await ready(child, port, errorLog);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  return {
    baseUrl: `https://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, '')}`,
    errorLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
