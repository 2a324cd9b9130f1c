/**
 * W3C Trace Context (`traceparent`, `tracestate`) without a tracing library:
 * reading a caller's header, starting a trace when there is none, and carrying
 * the current one through a call (AsyncLocalStorage), so that every outgoing
 * request the call makes sends the same trace id with a span id of its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** This process's span for the call: 16 lowercase hex digits. */
  readonly spanId: string;
  /** The caller's span (the `parent-id` it sent), when it sent one. */
  readonly parentSpanId?: string;
  /** Trace flags, 2 hex digits (`01`: sampled). */
  readonly flags: string;
  /** The caller's `tracestate`, passed on unchanged. */
  readonly tracestate?: string;
}

const storage = new AsyncLocalStorage<TraceContext>();

const HEX_ID = (digits: number) => new RegExp(`^[0-9a-f]{${digits}}$`);
const TRACE_ID = HEX_ID(32);
const SPAN_ID = HEX_ID(16);
const VERSION = HEX_ID(2);

/** A random id of `bytes` bytes as hex, never all zeros (invalid in W3C). */
function randomId(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (/[^0]/.test(id)) return id;
  }
}

/**
 * A `traceparent` header, checked as W3C Trace Context level 1 says:
 * `version-traceid-parentid-flags`, version `ff` and all-zero ids invalid;
 * a later version may add fields after the flags. Undefined when invalid.
 */
export function parseTraceparent(
  value: string | undefined,
): { traceId: string; parentSpanId: string; flags: string } | undefined {
  const text = value?.trim();
  if (!text || text.length < 55) return undefined;
  const [version, traceId, parentSpanId, rawFlags] = text.slice(0, 55).split('-');
  if (!version || !VERSION.test(version) || version === 'ff') return undefined;
  if (version === '00' ? text.length !== 55 : text.length > 55 && text[55] !== '-')
    return undefined;
  if (!traceId || !TRACE_ID.test(traceId) || /^0+$/.test(traceId)) return undefined;
  if (!parentSpanId || !SPAN_ID.test(parentSpanId) || /^0+$/.test(parentSpanId)) return undefined;
  if (!rawFlags || !VERSION.test(rawFlags)) return undefined;
  // only the flags of version 00 are known: of a later version's, keep `sampled`
  const flags = version === '00' ? rawFlags : parseInt(rawFlags, 16) & 1 ? '01' : '00';
  return { traceId, parentSpanId, flags };
}

/** A `tracestate` worth passing on: printable ASCII, at most 512 characters. */
function saneTracestate(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text && text.length <= 512 && /^[\x20-\x7e]+$/.test(text) ? text : undefined;
}

/**
 * The trace of one incoming call: the caller's trace (a new span of ours under
 * its span) when `traceparent` is valid, else a new sampled trace.
 */
export function traceFromHeaders(traceparent?: string, tracestate?: string): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (!parent) return { traceId: randomId(16), spanId: randomId(8), flags: '01' };
  const state = saneTracestate(tracestate);
  return {
    traceId: parent.traceId,
    spanId: randomId(8),
    parentSpanId: parent.parentSpanId,
    flags: parent.flags,
    ...(state ? { tracestate: state } : {}),
  };
}

/** Runs `fn` with `trace` as the current trace: requests it sends carry it. */
export function runWithTrace<T>(trace: TraceContext, fn: () => T): T {
  return storage.run(trace, fn);
}

/**
 * Runs `fn` inside the caller's trace (a `traceparent` header value; a new
 * trace when it is missing or invalid): every FHIR request `fn` makes sends
 * the same trace id with a span id of its own.
 */
export function withTraceContext<T>(
  traceparent: string | undefined,
  fn: () => T,
  tracestate?: string,
): T {
  return runWithTrace(traceFromHeaders(traceparent, tracestate), fn);
}

/** The current trace, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/** Headers for one outgoing request of the current trace (a new span id each), or none. */
export function outgoingTraceHeaders(): Record<string, string> {
  const trace = storage.getStore();
  if (!trace) return {};
  return {
    traceparent: `00-${trace.traceId}-${randomId(8)}-${trace.flags}`,
    ...(trace.tracestate ? { tracestate: trace.tracestate } : {}),
  };
}
