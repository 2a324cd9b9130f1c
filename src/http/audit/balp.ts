/**
 * Owns one audit event as a FHIR R4 `AuditEvent` in the shape of IHE Basic
 * Audit Log Patterns (BALP): type `rest`, the RESTful interaction as subtype
 * (and the facade's own action as a second subtype), the client and the
 * facade as agents, the facade as source, the `X-Request-Id` as the
 * transaction entity, each record as an entity (a patient as BALP's patient
 * entity). A record is named by a logical reference (its resource type and
 * id as an identifier) and by `entity.name` `Patient/123` (searchable:
 * `AuditEvent?entity-name:exact=Patient/123`), not by a literal reference: a
 * server enforcing referential integrity (HAPI by default) would refuse
 * events about missing or deleted records, and refuse to delete a record
 * that has events. A successful event names its BALP
 * profile; a refused one (outcome 4, or 8 for a 5xx) follows the same pattern
 * without claiming a profile, which fixes the outcome to success. Like the
 * JSON trail it never carries a value: a search's query entity holds only
 * `field operator` pairs.
 */
import type { ResourceJson } from '../../backends/fhir/fhir-rest.js';
import type { AuditAction, AuditEvent } from './event.js';

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
/** The system of the facade's own action codes (`read-links`, `link`, …) in `subtype`. */
export const ACTION_SYSTEM = 'urn:healthcare-fhir:audit-action';
/** The system of a record's id (`Patient/123`) in `entity.what.identifier`. */
export const RECORD_SYSTEM = 'urn:healthcare-fhir:record';
/** The system of a client's name in `agent.who.identifier`. */
export const CLIENT_SYSTEM = 'urn:healthcare-fhir:client';

interface Interaction {
  code: string;
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  profile: string;
}

/** Each action as a FHIR RESTful interaction, its AuditEvent.action and its BALP profile (without `Patient`). */
const interactions: Readonly<Record<AuditAction, Interaction>> = {
  create: { code: 'create', action: 'C', profile: 'Create' },
  read: { code: 'read', action: 'R', profile: 'Read' },
  'read-links': { code: 'read', action: 'R', profile: 'Read' },
  search: { code: 'search-type', action: 'E', profile: 'Query' },
  update: { code: 'patch', action: 'U', profile: 'Update' },
  link: { code: 'update', action: 'U', profile: 'Update' },
  unlink: { code: 'update', action: 'U', profile: 'Update' },
  delete: { code: 'delete', action: 'D', profile: 'Delete' },
};

const coding = (system: string, code: string, display?: string) =>
  display ? { system, code, display } : { system, code };

/** BALP: data flows to the client on a read, so the client is the destination there and the source otherwise. */
function agents(event: AuditEvent, interaction: Interaction): unknown[] {
  const reads = interaction.action === 'R';
  const source = coding(DCM, '110153', 'Source Role ID');
  const destination = coding(DCM, '110152', 'Destination Role ID');
  return [
    {
      type: { coding: [reads ? destination : source] },
      who:
        event.client === null
          ? { display: 'unauthenticated caller' }
          : { identifier: { system: CLIENT_SYSTEM, value: event.client }, display: event.client },
      requestor: true,
    },
    {
      type: { coding: [reads ? source : destination] },
      who: { display: 'healthcare-fhir facade' },
      requestor: false,
    },
  ];
}

function entities(event: AuditEvent, resourceType: string): unknown[] {
  const patient = resourceType === 'Patient';
  const detail = event.source_name
    ? { detail: [{ type: 'source_name', valueString: event.source_name }] }
    : {};
  const records = event.ids.map((id) => ({
    what: {
      type: resourceType,
      identifier: { system: RECORD_SYSTEM, value: `${resourceType}/${id}` },
    },
    name: `${resourceType}/${id}`,
    type: patient ? coding(ENTITY_TYPE, '1', 'Person') : coding(ENTITY_TYPE, '2', 'System Object'),
    role: patient
      ? coding(OBJECT_ROLE, '1', 'Patient')
      : coding(OBJECT_ROLE, '4', 'Domain Resource'),
    ...detail,
  }));
  const transaction = {
    what: { identifier: { value: event.request_id } },
    type: coding('https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', 'XrequestId'),
  };
  if (event.action !== 'search') return [transaction, ...records];
  const lookups = `${resourceType}?${event.lookups.join('&')}`;
  const query = {
    type: coding(ENTITY_TYPE, '2', 'System Object'),
    role: coding(OBJECT_ROLE, '24', 'Query'),
    description: lookups,
    query: Buffer.from(lookups, 'utf8').toString('base64'),
  };
  return [transaction, query, ...records];
}

const outcome = (status: number): string => (status < 400 ? '0' : status < 500 ? '4' : '8');

/** The event as an AuditEvent about records of `resourceType`. */
export function balpAuditEvent(event: AuditEvent, resourceType: string): ResourceJson {
  const interaction = interactions[event.action];
  const success = event.status < 400;
  const patient = resourceType === 'Patient' && event.ids.length > 0;
  return {
    resourceType: 'AuditEvent',
    ...(success
      ? { meta: { profile: [`${BALP}.${patient ? 'Patient' : ''}${interaction.profile}`] } }
      : {}),
    type: coding(
      'http://terminology.hl7.org/CodeSystem/audit-event-type',
      'rest',
      'Restful Operation',
    ),
    subtype: [
      coding('http://hl7.org/fhir/restful-interaction', interaction.code),
      coding(ACTION_SYSTEM, event.action),
    ],
    action: interaction.action,
    recorded: event.time,
    outcome: outcome(event.status),
    outcomeDesc: `HTTP ${event.status}`,
    agent: agents(event, interaction),
    source: {
      observer: { display: 'healthcare-fhir facade' },
      type: [
        coding(
          'http://terminology.hl7.org/CodeSystem/security-source-type',
          '4',
          'Application Server',
        ),
      ],
    },
    entity: entities(event, resourceType),
  };
}
