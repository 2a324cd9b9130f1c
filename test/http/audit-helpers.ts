/** Reading the audit trail a test wrote. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AuditEvent } from '../../src/http/audit/event.js';

/** The trail's events; each `time` checked to be an ISO instant (UTC), then dropped. */
export function readTrail(file: string): Omit<AuditEvent, 'time'>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const { time, ...rest } = JSON.parse(line) as AuditEvent;
      assert.ok(!Number.isNaN(Date.parse(time)) && time.endsWith('Z'), time);
      return rest;
    });
}
