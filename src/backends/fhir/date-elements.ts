/**
 * Owns knowing which mapped elements are FHIR `date`s: a calendar day (or a
 * partial one, `1990`, `1990-05`) with no time and no zone, like
 * `Patient.birthDate`; not `dateTime`s (`deceasedDateTime`), which may carry a
 * time in any zone. One day on a `date` element is searched as it is
 * (`birthdate=1990-05-12`, FHIR's `eq`; planned as an unwidened same-day
 * `ge`/`le` pair that search-plan.ts sends as `eq` once merged with the other
 * bounds, as HAPI refuses `eq` beside a bound): the stored day and the searched day
 * are both zone-less, so every record holding that full date is found on any
 * server, from the date index, with nothing to widen. A partial date is not
 * found by `eq`, and none is asked for: it reads as no date
 * (field-values.ts), which no `==` lookup matches.
 */
import type { FieldMapping } from './field-values.js';

/** FHIR R4 resources whose `birthDate` is a `date`, and the element's name. */
const BIRTH_DATE_RESOURCES = new Set(['Patient', 'Person', 'RelatedPerson', 'Practitioner']);

/** Whether the field is a FHIR `date` element of `resourceType` (never a `dateTime`). */
export function isDateElement(resourceType: string, field: FieldMapping): boolean {
  return (
    field.type === 'date' &&
    field.path.length === 1 &&
    field.path[0]!.key === 'birthDate' &&
    field.path[0]!.index === undefined &&
    field.path[0]!.match === undefined &&
    BIRTH_DATE_RESOURCES.has(resourceType)
  );
}
