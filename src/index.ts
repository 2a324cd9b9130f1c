/**
 * The package root (`healthcare-fhir`): contract §2 and what library users
 * need: types, errors, models, the storages, HealthcareAPI. No Express here:
 * the facade is `healthcare-fhir/http`.
 */
export { comparisons, comparisonOperators, type ComparisonOperator } from './api/comparisons.js';
export {
  APIError,
  PatientDoesNotExist,
  ProviderDoesNotExist,
  ValidationError,
  ConflictError,
  StorageUnavailableError,
  BadStorageResponseError,
  type ValidationIssue,
  type StorageFailureKind,
} from './api/errors.js';
export {
  patientModel,
  providerModel,
  defaultModels,
  extendModel,
  generatedModelFields,
  type FieldKind,
  type FieldSpec,
  type ModelName,
  type ModelSpec,
  type Models,
} from './api/models.js';
export type * from './api/types.js';
export { type FilterKeywords } from './api/filters.js';
export {
  HealthcareAPI,
  ModelApi,
  LinkableModelApi,
  type PatientClient,
  type ProviderClient,
} from './api/client.js';
export type { RecordStore, LinkStore, StoredRecord } from './api/record-store.js';
export { MemoryStorage, type MemoryStorageOptions } from './backends/memory/index.js';
export { HttpStorage, type HttpStorageOptions } from './client/http-storage.js';
export {
  FhirStorage,
  FhirMappingError,
  type FhirStorageOptions,
  type FhirExplanation,
  type LookupExplanation,
  type LinkUniquenessOption,
} from './backends/fhir/index.js';
export {
  type FhirAuthOptions,
  type FhirAuthType,
  type SmartJwtAlgorithm,
  type AuthCheck,
} from './transport/auth.js';
export { type RetryOptions } from './transport/retry.js';
export { CircuitOpenError, type BreakerOptions } from './transport/breaker.js';
export { withTraceContext } from './shared/trace-context.js';
