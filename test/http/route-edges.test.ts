/**
 * Edges of the one route table (issue 11's "Also"): every declared path, the
 * operational ones included, answers an undeclared method (TRACE) with 405;
 * a request refused while its body is read is logged with its route pattern.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { captureLogger, sendRaw, startApp, type RunningApp } from './helpers.js';

describe('route table edges', () => {
  let app: RunningApp;
  const log = captureLogger();
  before(async () => {
    app = await startApp({ storage: new MemoryStorage(), logger: log.logger, bodyLimit: 1024 });
  });
  after(() => app.close());

  /** The request log lines with this request id. */
  const logged = (requestId: string): Record<string, unknown>[] =>
    log
      .lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request' && l.requestId === requestId);

  it('TRACE on /healthz, /readyz, /openapi.json and a record route → 405 problem with Allow', async () => {
    for (const [path, allow] of [
      ['/healthz', 'GET, HEAD, OPTIONS'],
      ['/readyz', 'GET, HEAD, OPTIONS'],
      ['/openapi.json', 'GET, HEAD, OPTIONS'],
      ['/patients', 'GET, POST, HEAD, OPTIONS'],
    ] as const) {
      // fetch refuses TRACE; the raw sender does not
      const answer = await sendRaw(app.baseUrl, { method: 'TRACE', path });
      assert.equal(answer.status, 405, `TRACE ${path}`);
      assert.equal(answer.headers.allow, allow, `Allow of ${path}`);
      assert.match(answer.contentType, /^application\/problem\+json/);
    }
  });

  it('bodies refused while read (bad JSON, too large, not gzip data, an unknown encoding) are logged with the route pattern, not (unmatched)', async () => {
    const refusals: [
      label: string,
      path: string,
      pattern: string,
      status: number,
      body: Buffer,
      headers: Record<string, string>,
    ][] = [
      ['bad JSON', '/patients', '/patients', 400, Buffer.from('{"name":'), {}],
      [
        'too large',
        '/patients/_search',
        '/patients/_search',
        413,
        Buffer.from(JSON.stringify({ lookups: [['name', '%', 'x'.repeat(2000)]] })),
        {},
      ],
      [
        'not gzip data',
        '/patients/p1',
        '/patients/:id',
        400,
        Buffer.from('{"name":"x"}'),
        { 'content-encoding': 'gzip' },
      ],
      [
        'unknown encoding',
        '/patients/p1/links',
        '/patients/:id/links',
        415,
        gzipSync('{}'),
        { 'content-encoding': 'compress' },
      ],
    ];
    for (const [label, path, pattern, status, body, headers] of refusals) {
      const requestId = `refused-${label.replace(/\W/g, '-')}`;
      const method = pattern === '/patients/:id' ? 'PATCH' : 'POST';
      const answer = await sendRaw(app.baseUrl, {
        method,
        path,
        body,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
      });
      assert.equal(answer.status, status, `${label}: ${answer.text}`);
      const lines = logged(requestId);
      assert.equal(lines.length, 1, `${label}: one log line`);
      assert.equal(lines[0]!.route, pattern, label);
      assert.equal(lines[0]!.status, status, label);
    }
  });
});
