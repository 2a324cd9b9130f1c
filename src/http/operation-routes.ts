/**
 * Owns the facade's operational routes: liveness (`/healthz`), readiness of
 * the storage (`/readyz`, with the reason and `Retry-After` when not ready)
 * and the OpenAPI document (`/openapi.json`).
 */
import { TimeoutError, withTimeout } from '../shared/timeout.js';
import { CircuitOpenError } from '../transport/breaker.js';
import { noteError } from './logging.js';
import { problemTypes, retryAfterSeconds, sendProblem } from './problem.js';
import { json, type RouteSpec } from './route-types.js';
import type { Schema } from './schemas.js';

const statusSchema = (status: string): Schema =>
  json({ type: 'object', properties: { status: { const: status } }, required: ['status'] });

export const operationRoutes: RouteSpec[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    tag: 'Operations',
    summary: 'Liveness: 200 while the process is up.',
    public: true,
    usesStorage: false,
    responses: { '200': { description: 'Up.', content: statusSchema('ok') } },
    errors: [],
    handle({ res }) {
      res.json({ status: 'ok' });
    },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    tag: 'Operations',
    summary: 'Readiness: 200 when the storage (the FHIR server) answers.',
    usesStorage: false,
    responses: { '200': { description: 'Ready.', content: statusSchema('ready') } },
    errors: ['503'],
    async handle({ res }, { storage, readyTimeoutMs }) {
      try {
        if (storage.checkReady) await withTimeout(storage.checkReady(), readyTimeoutMs);
      } catch (error) {
        noteError(res, error);
        const retryAfter = retryAfterSeconds(error);
        if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
        sendProblem(res, {
          type: problemTypes.notReady,
          title: 'Not ready',
          status: 503,
          detail:
            error instanceof TimeoutError
              ? `The storage (the FHIR server) did not answer the readiness check within ${readyTimeoutMs} ms.`
              : error instanceof CircuitOpenError
                ? `The storage (the FHIR server) is not ready: the circuit breaker is ${error.state} after consecutive failures; requests are answered 503 without being sent.`
                : 'The storage (the FHIR server) is not ready.',
        });
        return;
      }
      res.json({ status: 'ready' });
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'Operations',
    summary: 'This document.',
    usesStorage: false,
    responses: {
      '200': { description: 'The OpenAPI 3.1 document.', content: json({ type: 'object' }) },
    },
    errors: [],
    handle({ res }, { openApiJson }) {
      res.type('application/json').send(openApiJson);
    },
  },
];
