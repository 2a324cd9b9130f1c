/**
 * The route table grouped as Express mounts it: by path, in declaration
 * order, each path in Express syntax (`/patients/:id`). `app.ts` mounts these
 * groups and the audit trail matches requests against the same ones.
 */
import type { RouteSpec } from './routes.js';

export function routesByPath(routes: readonly RouteSpec[]): Map<string, RouteSpec[]> {
  const byPath = new Map<string, RouteSpec[]>();
  for (const route of routes) {
    const path = route.path.replace(/\{(\w+)\}/g, ':$1');
    byPath.set(path, [...(byPath.get(path) ?? []), route]);
  }
  return byPath;
}
