/**
 * Owns "no record leaves the facade before its audit event is written". A
 * record route's response is held at its first byte: the event is built from
 * the status and the JSON answer as they are then (so refusals by any
 * middleware — authentication, scopes, rate limits — are audited without
 * calling this module), written, and only then is the answer sent. When the
 * trail cannot be written, the answer is replaced by a 503 problem with no
 * record. A streamed search audits each page itself (`auditRecords`) before
 * writing it; a response with an event written passes through.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { noteError, requestState } from '../logging.js';
import { HttpProblem, problemContentType, problemTypes, type Problem } from '../problem.js';
import { asId, auditEvent, type AuditedRequest, type AuditEvent } from './event.js';

/** Where events go: resolves once the event is written, rejects when it cannot be. */
export interface AuditRecorder {
  record(event: AuditEvent): Promise<void>;
}

export const auditUnavailable: Problem = {
  type: problemTypes.auditUnavailable,
  title: 'Audit trail unavailable',
  status: 503,
  detail:
    'The audit trail could not be written, so no record is returned. ' +
    'A change asked for may have been made: read before retrying it.',
};

type Call = (...args: unknown[]) => unknown;

interface Gate {
  req: Request;
  audited: AuditedRequest;
  recorder: AuditRecorder;
  logger: Logger;
  /** idle: nothing sent; auditing: the answer is held; open: an event is written; refused: answered 503. */
  state: 'idle' | 'auditing' | 'open' | 'refused';
  /** The JSON answer given to `res.json`. */
  body?: unknown;
  end: Call;
}

const gates = new WeakMap<Response, Gate>();

function logFailure(gate: Gate, res: Response, error: unknown, what: string): void {
  noteError(res, error);
  gate.logger.error(
    {
      requestId: requestState(res).requestId,
      errorClass: (error as Error)?.name,
      code: (error as NodeJS.ErrnoException)?.code,
    },
    `audit event not written: ${what}`,
  );
}

/** Sends the 503 problem instead of whatever was about to be sent. */
function refuse(gate: Gate, res: Response, error: unknown): void {
  gate.state = 'refused';
  logFailure(gate, res, error, 'answered 503 without the record');
  for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
  const body = JSON.stringify(auditUnavailable);
  res.statusCode = 503;
  res.setHeader('content-type', `${problemContentType}; charset=utf-8`);
  res.setHeader('content-length', Buffer.byteLength(body));
  gate.end.call(res, body);
}

/** Holds every write and end of `res` until its event is written (or refused). */
function holdUntilAudited(res: Response, gate: Gate): void {
  const write = res.write.bind(res) as Call;
  const held: (() => void)[] = [];
  const passOrHold = (send: () => unknown): void => {
    if (gate.state === 'refused') return;
    held.push(send);
    if (gate.state !== 'idle') return;
    gate.state = 'auditing';
    gate.recorder.record(auditEvent(gate.req, res, gate.audited, { body: gate.body })).then(
      () => {
        gate.state = 'open';
        for (const next of held.splice(0)) next();
      },
      (error: unknown) => {
        held.length = 0;
        refuse(gate, res, error);
      },
    );
  };
  res.write = ((...args: unknown[]) => {
    if (gate.state === 'open') return write(...args);
    passOrHold(() => write(...args));
    return true;
  }) as Response['write'];
  res.end = ((...args: unknown[]) => {
    if (gate.state === 'open') return gate.end(...args);
    passOrHold(() => gate.end(...args));
    return res;
  }) as Response['end'];
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    gate.body = body;
    return json(body);
  };
}

/** Audits every answer to this request (called when a record route matched, before anything else runs). */
export function gateResponse(
  req: Request,
  res: Response,
  audited: AuditedRequest,
  recorder: AuditRecorder,
  logger: Logger,
): void {
  const gate: Gate = {
    req,
    audited,
    recorder,
    logger,
    state: 'idle',
    end: res.end.bind(res) as Call,
  };
  gates.set(res, gate);
  holdUntilAudited(res, gate);
}

/**
 * Writes the event of one page of a streamed answer; call before sending the
 * page. Nothing sent yet and the trail down: throws the 503 problem. A page
 * after the first: throws, and the stream is cut (its status is already sent).
 */
export async function auditRecords(
  res: Response,
  records: readonly { id?: unknown }[],
): Promise<void> {
  const gate = gates.get(res);
  if (!gate || gate.state === 'refused') return;
  const ids = records.flatMap((r) => asId(r.id));
  try {
    await gate.recorder.record(auditEvent(gate.req, res, gate.audited, { ids }));
  } catch (error) {
    if (gate.state === 'idle') throw new HttpProblem(auditUnavailable);
    logFailure(gate, res, error, 'the stream is cut before this page');
    throw error;
  }
  gate.state = 'open';
}
