/**
 * One JSON log line per request: request id, trace and span ids, method,
 * route pattern, status, latency; the same (without the ids) reported as a
 * `facadeRequest` event for the metrics. Never the raw URL (ids and query
 * strings carry identifiers and names), never a body, never an error message
 * (it may quote data). The call's W3C trace starts here (`traceparent`).
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { traceFromHeaders, type TraceContext } from '../shared/trace-context.js';
import { events } from '../transport/events.js';
import { summarizeError, type ErrorSummary } from './problem.js';

const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

interface RequestState {
  requestId: string;
  /** The caller's trace (a span of ours under it), or one started here. */
  trace: TraceContext;
  /** The route pattern that handled the request, e.g. `/patients/:id`. */
  route?: string;
  error?: ErrorSummary;
}

export function requestState(res: Response): RequestState {
  return res.locals as RequestState;
}

/** Records the pattern of the route that matched (called by every route handler). */
export function setRoute(req: Request, res: Response): void {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') requestState(res).route = path;
}

export function noteError(res: Response, error: unknown): void {
  requestState(res).error = summarizeError(error);
}

export function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.get('x-request-id');
    const requestId = given && saneRequestId.test(given) ? given : randomUUID();
    const state = requestState(res);
    state.requestId = requestId;
    state.trace = traceFromHeaders(req.get('traceparent'), req.get('tracestate'));
    res.set('X-Request-Id', requestId);
    let logged = false;
    const log = (aborted: boolean): void => {
      if (logged) return;
      logged = true;
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      const route = state.route ?? '(unmatched)';
      events.facadeRequest.publish({
        method: req.method,
        route,
        status: res.statusCode,
        durationS: latencyMs / 1000,
      });
      const line = {
        requestId,
        traceId: state.trace.traceId,
        spanId: state.trace.spanId,
        ...(state.trace.parentSpanId ? { parentSpanId: state.trace.parentSpanId } : {}),
        method: req.method,
        route,
        status: res.statusCode,
        latencyMs: Math.round(latencyMs * 1000) / 1000,
        ...(aborted ? { aborted: true } : {}),
        ...(state.error ?? {}),
      };
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
      logger[level](line, 'request');
    };
    res.on('finish', () => log(false));
    res.on('close', () => log(!res.writableFinished));
    next();
  };
}
