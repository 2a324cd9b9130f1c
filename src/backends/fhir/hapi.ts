/** Owns recognising HAPI FHIR by the software name a server gives (/metadata `software.name`, `X-Powered-By`). */

/** Whether `software` names HAPI FHIR (or a server built on it that says so). */
export function isHapi(software: string | undefined): boolean {
  return /\bHAPI\b/i.test(software ?? '');
}
