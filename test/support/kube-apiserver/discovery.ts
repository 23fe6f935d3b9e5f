import { apiVersionOf, groupVersions, OBJECT_VERBS, type ResourceType } from './resource-catalog.ts';

/** The media type of aggregated discovery (KEP-3352) kubectl 1.30+ asks for first; v2beta1 for older clients. */
export const AGGREGATED_DISCOVERY = {
  v2: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  v2beta1: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
} as const;

/** The aggregated discovery version an Accept header asks for, or null for the legacy documents. */
export function aggregatedVersionWanted(accept: string | undefined): 'v2' | 'v2beta1' | null {
  const offers = (accept ?? '').split(',').map((part) => part.replace(/\s+/g, ''));
  for (const offer of offers) {
    if (!offer.includes('as=APIGroupDiscoveryList') || !offer.includes('g=apidiscovery.k8s.io')) continue;
    if (offer.includes('v=v2beta1')) return 'v2beta1';
    if (offer.includes('v=v2')) return 'v2';
  }
  return null;
}

/** `/version`: the server's reported version, which kubectl's dispatcher and skew warnings read. */
export function versionInfo(minor: number): Record<string, string> {
  return {
    major: '1',
    minor: String(minor),
    gitVersion: `v1.${minor}.0`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `/api` (legacy): the core group's versions. */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function namedGroups(): { name: string; version: string }[] {
  const names: { name: string; version: string }[] = [];
  for (const gv of groupVersions()) if (gv.group) names.push({ name: gv.group, version: gv.version });
  return names;
}

/** `/apis/<group>` (legacy). */
export function apiGroup(name: string): Record<string, unknown> | null {
  const found = namedGroups().find((g) => g.name === name);
  if (!found) return null;
  const version = { groupVersion: `${name}/${found.version}`, version: found.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: [version], preferredVersion: version };
}

/** `/apis` (legacy). */
export function apiGroupList(): Record<string, unknown> {
  const groups = namedGroups().map((g) => {
    const { kind: _kind, apiVersion: _apiVersion, ...group } = apiGroup(g.name)!;
    return group;
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `/api/v1`, `/apis/apps/v1` (legacy): the resources of one group version, subresources as `pods/log`. */
export function apiResourceList(group: string, version: string): Record<string, unknown> | null {
  const gv = groupVersions().find((g) => g.group === group && g.version === version);
  if (!gv) return null;
  const resources: Record<string, unknown>[] = [];
  for (const type of gv.types) {
    resources.push({
      name: type.resource,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: [...OBJECT_VERBS],
      ...(type.shortNames.length ? { shortNames: [...type.shortNames] } : {}),
      ...(type.categories.length ? { categories: [...type.categories] } : {}),
    });
    for (const sub of type.subresources) {
      resources.push({
        name: `${type.resource}/${sub.name}`,
        singularName: '',
        namespaced: type.namespaced,
        ...(sub.group !== undefined ? { group: sub.group, version: sub.version } : {}),
        kind: sub.kind || type.kind,
        verbs: [...sub.verbs],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv), resources };
}

function discoveryResource(type: ResourceType): Record<string, unknown> {
  return {
    resource: type.resource,
    responseKind: { group: type.group, version: type.version, kind: type.kind },
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: [...OBJECT_VERBS],
    ...(type.shortNames.length ? { shortNames: [...type.shortNames] } : {}),
    ...(type.categories.length ? { categories: [...type.categories] } : {}),
    ...(type.subresources.length
      ? {
          subresources: type.subresources.map((sub) => ({
            subresource: sub.name,
            responseKind: {
              group: sub.group ?? type.group,
              version: sub.version ?? type.version,
              kind: sub.kind || type.kind,
            },
            verbs: [...sub.verbs],
          })),
        }
      : {}),
  };
}

/**
 * The aggregated discovery document: `/api` lists the core group (its name empty), `/apis` every
 * named group, each with its resources and subresources in one response.
 */
export function aggregatedDiscovery(core: boolean, version: 'v2' | 'v2beta1'): Record<string, unknown> {
  const items = groupVersions()
    .filter((gv) => (core ? gv.group === '' : gv.group !== ''))
    .map((gv) => ({
      metadata: gv.group ? { name: gv.group, creationTimestamp: null } : { creationTimestamp: null },
      versions: [{ version: gv.version, resources: gv.types.map(discoveryResource), freshness: 'Current' }],
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}
