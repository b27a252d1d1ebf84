import { ALL_NAMESPACES } from '@vigil/contracts';
import type { EnvVar } from '@vigil/config';

/**
 * Which checks may publish to the public page besides `spec.statusPage.publish`:
 * the operator's allow-lists of namespaces and groups, null meaning any. Any
 * tenant can set `publish: true` and free-text names on its own checks, so on
 * a shared cluster the operator decides whose checks the public sees.
 */
export interface PublishScope {
  namespaces: readonly string[] | null;
  groups: readonly string[] | null;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function scopeList(raw: string, check: (item: string) => string | undefined): readonly string[] | null {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new Error(`list at least one entry, or "${ALL_NAMESPACES}" for all`);
  if (items.includes(ALL_NAMESPACES)) {
    if (items.length > 1) throw new Error(`"${ALL_NAMESPACES}" (all) stands alone; remove the other entries or the "${ALL_NAMESPACES}"`);
    return null;
  }
  for (const item of items) {
    const problem = check(item);
    if (problem) throw new Error(problem);
  }
  return [...new Set(items)];
}

/** A comma list of namespace names, or `*` (the default: every namespace). */
export function publishNamespaces(description: string): EnvVar<readonly string[] | null> {
  return {
    description,
    fallback: { value: null },
    parse: (raw) => scopeList(raw, (ns) => (ns.length > 63 || !DNS_LABEL.test(ns) ? `${JSON.stringify(ns)} is not a namespace name (DNS label)` : undefined)),
  };
}

/** A comma list of group names as in `spec.statusPage.group`, or `*` (the default: every group, and checks without one). */
export function publishGroups(description: string): EnvVar<readonly string[] | null> {
  return { description, fallback: { value: null }, parse: (raw) => scopeList(raw, () => undefined) };
}

/**
 * The one SQL condition for "the public may see this check" over `vigil.checks c`:
 * published by its owner, and inside the operator's scope. `$n`/`$m` are the
 * scope's namespaces and groups as text[] (null: any); every public query binds
 * them through scopeParams.
 */
export function publicCheckCondition(namespacesParam: number, groupsParam: number): string {
  return `c.publish AND ($${namespacesParam}::text[] IS NULL OR c.namespace = ANY($${namespacesParam}::text[])) AND ($${groupsParam}::text[] IS NULL OR c.group_name = ANY($${groupsParam}::text[]))`;
}

/** The scope as the two parameters of publicCheckCondition. */
export function scopeParams(config: { STATUS_PAGE_NAMESPACES: PublishScope['namespaces']; STATUS_PAGE_GROUPS: PublishScope['groups'] }): [string[] | null, string[] | null] {
  const { STATUS_PAGE_NAMESPACES: namespaces, STATUS_PAGE_GROUPS: groups } = config;
  return [namespaces ? [...namespaces] : null, groups ? [...groups] : null];
}
