/**
 * The API resources the stand-in serves, as one table: discovery (aggregated and legacy), the
 * router, Table conversion and the OpenAPI documents are all derived from it, so kubectl sees one
 * consistent cluster whatever endpoint it asks.
 */
export interface ResourceType {
  /** API group; '' for the core group (served under /api). */
  group: string;
  version: string;
  /** Plural resource name as in the URL, e.g. `deployments`. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  /** Subresources with the kind and verbs they answer. */
  subresources: readonly Subresource[];
}

export interface Subresource {
  name: string;
  kind: string;
  group?: string;
  version?: string;
  verbs: readonly string[];
}

export const OBJECT_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

const STATUS: Subresource = { name: 'status', kind: '', verbs: ['get', 'patch', 'update'] };
const SCALE: Subresource = {
  name: 'scale',
  kind: 'Scale',
  group: 'autoscaling',
  version: 'v1',
  verbs: ['get', 'patch', 'update'],
};

function core(resource: string, kind: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group: '',
    version: 'v1',
    resource,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames: [],
    categories: [],
    subresources: [],
    ...extra,
  };
}

function group(group: string, resource: string, kind: string, extra: Partial<ResourceType> = {}): ResourceType {
  return { ...core(resource, kind, true, extra), group, ...extra };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  core('namespaces', 'Namespace', false, {
    shortNames: ['ns'],
    subresources: [STATUS, { name: 'finalize', kind: 'Namespace', verbs: ['update'] }],
  }),
  core('pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      STATUS,
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    ],
  }),
  core('secrets', 'Secret', true),
  core('configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  core('services', 'Service', true, { shortNames: ['svc'], categories: ['all'], subresources: [STATUS] }),
  core('serviceaccounts', 'ServiceAccount', true, {
    shortNames: ['sa'],
    subresources: [
      { name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] },
    ],
  }),
  core('events', 'Event', true, { shortNames: ['ev'] }),
  group('apps', 'deployments', 'Deployment', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [STATUS, SCALE],
  }),
  group('apps', 'replicasets', 'ReplicaSet', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: [STATUS, SCALE],
  }),
  group('apps', 'statefulsets', 'StatefulSet', {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: [STATUS, SCALE],
  }),
  group('apps', 'daemonsets', 'DaemonSet', { shortNames: ['ds'], categories: ['all'], subresources: [STATUS] }),
  group('batch', 'jobs', 'Job', { categories: ['all'], subresources: [STATUS] }),
  group('batch', 'cronjobs', 'CronJob', { shortNames: ['cj'], categories: ['all'], subresources: [STATUS] }),
];

/** `v1` or `apps/v1`: the apiVersion objects of this type carry. */
export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The served group versions in discovery order (core first). */
export function groupVersions(): { group: string; version: string; types: ResourceType[] }[] {
  const out: { group: string; version: string; types: ResourceType[] }[] = [];
  for (const type of RESOURCE_TYPES) {
    let entry = out.find((e) => e.group === type.group && e.version === type.version);
    if (!entry) out.push((entry = { group: type.group, version: type.version, types: [] }));
    entry.types.push(type);
  }
  return out;
}

export function findResourceType(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function findKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}
