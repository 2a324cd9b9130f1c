/**
 * SMART on FHIR scopes (contract §6): parsing `system/Patient.rs`-style
 * scopes (version 2 `cruds`, version 1 `read`/`write`/`*`), which FHIR
 * resource type a model's routes are checked against, and whether a set of
 * granted scopes allows one permission on one resource type.
 */
import type { ModelSpec } from '../api/models.js';
import { methodSuffix } from '../api/record-store.js';

/** One SMART v2 permission letter: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

export interface ParsedScope {
  context: 'system' | 'user';
  /** A FHIR resource type, or `*`. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
}

/** v1 actions as the v2 letters they stand for (SMART App Launch 2.0, "scopes for requesting clinical data"). */
const v1Actions: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };

const scopePattern = /^(system|user)\/([A-Z][A-Za-z]*|\*)\.(c?r?u?d?s?|read|write|\*)$/;

/**
 * The scope's meaning, or `undefined` when it is not a `system/` or `user/`
 * resource scope (`openid`, `patient/…` which needs a patient context we do
 * not have, v2 scopes with `?` constraints, which this facade cannot enforce).
 */
export function parseScope(scope: string): ParsedScope | undefined {
  const match = scopePattern.exec(scope);
  if (!match || match[3] === '') return undefined;
  const letters = v1Actions[match[3]!] ?? match[3]!;
  return {
    context: match[1] as 'system' | 'user',
    resourceType: match[2]!,
    permissions: new Set([...letters] as Permission[]),
  };
}

/** Whether any of `granted` allows `permission` on `resourceType`; unknown scopes grant nothing. */
export function allows(
  granted: readonly string[],
  resourceType: string,
  permission: Permission,
): boolean {
  return granted.some((scope) => {
    const parsed = parseScope(scope);
    return (
      parsed !== undefined &&
      (parsed.resourceType === '*' || parsed.resourceType === resourceType) &&
      parsed.permissions.has(permission)
    );
  });
}

/** The narrowest scope that allows it, as a 403 names it: `system/Patient.r`. */
export function scopeNeeded(resourceType: string, permission: Permission): string {
  return `system/${resourceType}.${permission}`;
}

/**
 * The resource type a model's routes are checked against when the storage
 * does not say (FhirStorage does: its mapping's type): the contract's models
 * as the contract says; another model by its own name (`location` → `Location`).
 */
export function scopeResourceType(model: ModelSpec): string {
  return model.fhirType ?? methodSuffix(model.name);
}

/** Checks scopes configured for a static client; the message names the first bad one. */
export function invalidScopes(scopes: readonly string[]): string[] {
  return scopes.filter((s) => parseScope(s) === undefined);
}
