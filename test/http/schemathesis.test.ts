/**
 * Schemathesis (PyPI) fuzzes the facade from its own /openapi.json on both
 * backends (MemoryStorage, FhirStorage on the real HAPI): any server error, or
 * a status, content type or body the document does not allow, fails the run.
 * The tool is installed into `.venv-tools/` (gitignored) on first use.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import type { HealthcareStorage } from '../../src/api/types.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { startApp } from './helpers.js';

const SCHEMATHESIS = 'schemathesis==4.32.5';
const venv = path.resolve('.venv-tools');
const st = path.join(venv, 'bin', 'schemathesis');
/** Examples per operation: bounded so each backend's run takes a minute or two. */
const MAX_EXAMPLES = 20;
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
].join(',');

function installSchemathesis(): void {
  if (fs.existsSync(st)) return;
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'ignore' });
  execFileSync(path.join(venv, 'bin', 'pip'), ['install', '-q', SCHEMATHESIS], {
    stdio: 'ignore',
  });
}

/** Runs Schemathesis against a facade; its exit code and the summary lines of its output. */
function fuzz(baseUrl: string): Promise<{ code: number; summary: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      st,
      [
        'run',
        `${baseUrl}/openapi.json`,
        '--url',
        baseUrl,
        '--checks',
        CHECKS,
        '--max-examples',
        String(MAX_EXAMPLES),
        '--seed',
        '11',
        '--no-color',
        '--request-timeout',
        '30',
        // a FHIR server slowed by the fuzzing makes /readyz a (documented) 503 within its 2 s
        // budget, which not_a_server_error counts; readiness has its own tests
        '--exclude-path',
        '/readyz',
      ],
      { env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false' } },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      // the failures section and the totals, not every operation's progress line
      const failures = out.indexOf('FAILURES');
      const summary = (failures >= 0 ? out.slice(failures) : out.slice(-1500)).slice(0, 6000);
      resolve({ code: code ?? 1, summary });
    });
  });
}

describe('Schemathesis fuzzes the facade from /openapi.json', () => {
  const backends: [string, () => HealthcareStorage][] = [
    ['MemoryStorage', () => new MemoryStorage()],
    [
      'FhirStorage on the real HAPI server',
      () =>
        new FhirStorage({
          baseUrl: requireFhirBaseUrl(),
          scopeTag: {
            system: 'urn:healthcare-fhir:test',
            code: `fuzz-${randomBytes(4).toString('hex')}`,
          },
          timeoutMs: 30_000,
        }),
    ],
  ];
  for (const [label, makeStorage] of backends) {
    it(`on ${label}: no server error, every status, content type and body as documented`, async () => {
      installSchemathesis();
      const storage = makeStorage();
      const app = await startApp({ storage });
      try {
        const { code, summary } = await fuzz(app.baseUrl);
        assert.equal(code, 0, summary);
        process.stdout.write(
          `# schemathesis on ${label}: ${summary.trim().split('\n').slice(-3).join(' | ')}\n`,
        );
      } finally {
        await app.close();
        await storage.close?.();
      }
    });
  }
});
