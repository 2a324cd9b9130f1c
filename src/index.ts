export { comparisons, comparisonOperators, type ComparisonOperator } from './api/comparisons.js';
export {
  APIError,
  PatientDoesNotExist,
  ProviderDoesNotExist,
  ValidationError,
  ConflictError,
  StorageUnavailableError,
  type ValidationIssue,
  type StorageFailureKind,
} from './api/errors.js';
export {
  patientModel,
  providerModel,
  defaultModels,
  extendModel,
  type FieldKind,
  type FieldSpec,
  type ModelName,
  type ModelSpec,
  type Models,
} from './api/models.js';
export type * from './api/types.js';
export {
  validateRecordInput,
  validateLookups,
  isCalendarDate,
  isIsoDateTime,
  type NormalizedLookup,
  type Operand,
} from './api/validation.js';
export { matchesLookup, matchesAll, compareCodePoints } from './api/matching.js';
export {
  keywordsToLookups,
  parseKeyword,
  keywordSuffixes,
  type FilterKeywords,
} from './api/filters.js';
export { HealthcareAPI, PatientClient, ProviderClient } from './api/client.js';
export { MemoryStorage, type MemoryStorageOptions } from './backends/memory/index.js';
export { HttpStorage, type HttpStorageOptions } from './client/http-storage.js';
export { FhirStorage, FhirMappingError, type FhirStorageOptions } from './backends/fhir/index.js';
export {
  type FhirAuthOptions,
  type FhirAuthType,
  type SmartJwtAlgorithm,
  type AuthCheck,
} from './transport/auth.js';
export { type RetryOptions } from './transport/retry.js';
