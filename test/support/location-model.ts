/** A throwaway third model (a facility `location`), for the tests that show a model needs only its spec. */
import { generatedModelFields, type ModelSpec } from '../../src/api/models.js';

export const locationModel: ModelSpec = {
  name: 'location',
  fields: {
    ...generatedModelFields,
    name: { kind: 'string', required: true },
    kind: { kind: 'string', enum: ['clinic', 'hospital'] },
    opened: { kind: 'date' },
  },
};
