/**
 * A fault-injecting proxy in front of the real HAPI server: each request takes
 * the next planned fault (or the standing one), else it is forwarded as is.
 * Faults: a connection reset before forwarding, a reset after forwarding (the
 * server did the work, the answer is lost), a delay, a status of our own
 * (with `Retry-After` and/or a `RateLimit` header), and a truncated body (full Content-Length, half sent,
 * connection cut).
 */
import type http from 'node:http';
import { forward, readBody, relay, startLoopbackProxy } from '../support/forward.js';

export type Fault =
  | { kind: 'reset' }
  | { kind: 'reset-after-forward' }
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; status: number; retryAfter?: string; rateLimit?: string }
  | { kind: 'truncate' };

export interface FaultProxy {
  baseUrl: string;
  /** Faults for the next requests, one each, in order. */
  plan(...faults: Fault[]): void;
  /** A fault for every request (after the planned ones) until set to undefined. */
  standing: Fault | undefined;
  /** `METHOD path?query` of every request received. */
  readonly requests: string[];
  /** Clears the plan, the standing fault and the request log. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstreamBase: string): Promise<FaultProxy> {
  const planned: Fault[] = [];
  const proxy: FaultProxy = {
    baseUrl: '',
    standing: undefined,
    requests: [],
    plan: (...faults) => void planned.push(...faults),
    reset() {
      planned.length = 0;
      proxy.standing = undefined;
      proxy.requests.length = 0;
    },
    stop: async () => undefined,
  };

  async function pass(
    req: http.IncomingMessage,
    body: Buffer,
    host: string,
  ): Promise<{ upstream: http.IncomingMessage; answer: Buffer }> {
    const upstream = await forward(upstreamBase, req, body, host);
    return { upstream, answer: await readBody(upstream) };
  }

  const loop = await startLoopbackProxy(upstreamBase, async (req, body, res, host) => {
    proxy.requests.push(`${req.method} ${req.url}`);
    const fault = planned.shift() ?? proxy.standing;
    switch (fault?.kind) {
      case 'reset':
        res.socket?.destroy();
        return;
      case 'reset-after-forward':
        await pass(req, body, host);
        res.socket?.destroy();
        return;
      case 'status':
        res.writeHead(fault.status, {
          'content-type': 'text/html',
          ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
          ...(fault.rateLimit ? { ratelimit: fault.rateLimit } : {}),
        });
        res.end('<html>busy</html>');
        return;
      case 'truncate': {
        const { upstream, answer } = await pass(req, body, host);
        res.writeHead(upstream.statusCode ?? 200, {
          'content-type': upstream.headers['content-type'] ?? 'application/fhir+json',
          'content-length': String(answer.length),
        });
        res.write(answer.subarray(0, Math.floor(answer.length / 2)), () => res.destroy());
        return;
      }
      case 'delay':
        await new Promise((r) => setTimeout(r, fault.ms));
        break;
      case undefined:
        break;
    }
    const { upstream, answer } = await pass(req, body, host);
    relay(upstream, answer, res);
  });
  proxy.baseUrl = loop.baseUrl;
  proxy.stop = () => loop.stop();
  return proxy;
}
