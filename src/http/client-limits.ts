/**
 * Limits per client (contract §6, `RATE_LIMIT`): a token bucket per client
 * name (`50/s` refills 50 tokens a second and holds at most 50), and a bound
 * on each client's requests in flight, so one client cannot take every
 * connection to the FHIR server. Both are per process: N replicas allow N×.
 * Over either: 429 problem+json with `Retry-After`.
 */
import type { RequestHandler, Response } from 'express';
import { problemTypes, sendProblem } from './problem.js';
import { requestClient } from './request-client.js';

export interface RateLimit {
  /** Requests per `perMs`; also the burst a full bucket allows. */
  count: number;
  perMs: number;
}

export interface ClientLimits {
  rate?: RateLimit;
  /** At most this many requests of one client are handled at a time. */
  maxInFlight?: number;
}

const units: Readonly<Record<string, number>> = { s: 1000, sec: 1000, min: 60_000, h: 3_600_000 };

/** `50/s`, `600/min`, `10000/h` → a RateLimit; anything else throws naming `RATE_LIMIT`. */
export function parseRateLimit(text: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(s|sec|min|h)\s*$/.exec(text);
  const count = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(
      `RATE_LIMIT must be requests per second, minute or hour, e.g. "50/s" or "600/min", not ${JSON.stringify(text)}`,
    );
  }
  return { count, perMs: units[match[2]!]! };
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Largest number of client buckets kept; full (idle) buckets are dropped first. */
const MAX_BUCKETS = 10_000;

function tooMany(res: Response, retryAfterSec: number, detail: string): void {
  res.set('Retry-After', String(retryAfterSec));
  sendProblem(res, {
    type: problemTypes.tooManyRequests,
    title: 'Too Many Requests',
    status: 429,
    detail,
  });
}

/** A token bucket per client name; `take` answers 0 when allowed, else the seconds to wait. */
function tokenBuckets(rate: RateLimit, now: () => number) {
  const buckets = new Map<string, Bucket>();
  const perMs = rate.count / rate.perMs;
  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(rate.count, bucket.tokens + (at - bucket.at) * perMs);
    bucket.at = at;
  };
  return (name: string): number => {
    const at = now();
    let bucket = buckets.get(name);
    if (!bucket) {
      if (buckets.size >= MAX_BUCKETS) {
        for (const [key, b] of buckets) {
          refill(b, at);
          if (b.tokens >= rate.count) buckets.delete(key);
        }
      }
      bucket = { tokens: rate.count, at };
      buckets.set(name, bucket);
    }
    refill(bucket, at);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  };
}

/** The middleware enforcing `limits` per `requestClient(res).name` (mount it after authentication). */
export function clientLimits(limits: ClientLimits, now: () => number = Date.now): RequestHandler {
  const take = limits.rate ? tokenBuckets(limits.rate, now) : () => 0;
  const inFlight = new Map<string, number>();
  return (_req, res, next) => {
    const { name } = requestClient(res);
    const wait = take(name);
    if (wait > 0) {
      tooMany(res, wait, `This client is over its rate limit; retry in ${wait} s.`);
      return;
    }
    if (limits.maxInFlight !== undefined) {
      const running = inFlight.get(name) ?? 0;
      if (running >= limits.maxInFlight) {
        tooMany(
          res,
          1,
          `This client already has ${limits.maxInFlight} requests in flight; retry when one has finished.`,
        );
        return;
      }
      inFlight.set(name, running + 1);
      res.once('close', () => {
        const left = (inFlight.get(name) ?? 1) - 1;
        if (left > 0) inFlight.set(name, left);
        else inFlight.delete(name);
      });
    }
    next();
  };
}
