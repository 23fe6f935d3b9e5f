import type { BodyFacts } from './body-facts.ts';
import type { PodSpecFacts } from './pod-spec-facts.ts';
import type { KubeRequestInfo } from './request-info.ts';
import { queryValue, queryValues, type KubePath } from './request-path.ts';

/**
 * Requests that can do more than their verb says (run a command in a container, reach a pod's
 * network, mint a token, act as someone else, grant permissions): an allow or review rule matches
 * one only when it names the marker itself, so a broad `verbs: [create]` never lets them through.
 */
export const K8S_MARKERS = [
  'exec',
  'attach',
  'portforward',
  'proxy',
  'ephemeralcontainers',
  'serviceaccounts/token',
  'impersonate',
  'escalate',
  'bind',
  'non-resource',
] as const;
export type K8sMarker = (typeof K8S_MARKERS)[number];

/** The facts of one `k8s.request` action that `when.k8s` tests. */
export interface K8sFacts {
  info: KubeRequestInfo;
  /** The body's pod-spec settings; null when there is no body. */
  pod: PodSpecFacts | null;
  /** argv of an exec (its `command=` parameters, in order); null for other requests. */
  command: readonly string[] | null;
  markers: readonly K8sMarker[];
}

/** The impersonation a client asked for (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-*`). */
export interface Impersonation {
  user?: string;
  groups: string[];
  uid?: string;
  extras: string[];
}

/** Reads the Impersonate-* headers (lower-case names); null when there are none. */
export function impersonationOf(headers: Record<string, string | string[] | undefined>): Impersonation | null {
  const list = (value: string | string[] | undefined): string[] =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  const found: Impersonation = { groups: [], extras: [] };
  let any = false;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('impersonate-')) continue;
    any = true;
    if (lower === 'impersonate-user') found.user = list(value)[0];
    else if (lower === 'impersonate-group') found.groups.push(...list(value));
    else if (lower === 'impersonate-uid') found.uid = list(value)[0];
    else found.extras.push(lower.slice('impersonate-extra-'.length));
  }
  return any ? found : null;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const WRITES = new Set(['create', 'update', 'patch']);
const SUBRESOURCE_MARKERS = new Set<string>(['exec', 'attach', 'portforward', 'proxy', 'ephemeralcontainers']);

/** The markers of a request (see {@link K8S_MARKERS}). */
export function markersOf(info: KubeRequestInfo, impersonation: Impersonation | null): K8sMarker[] {
  const markers = new Set<K8sMarker>();
  if (!info.isResourceRequest) markers.add('non-resource');
  if (SUBRESOURCE_MARKERS.has(info.subresource)) markers.add(info.subresource as K8sMarker);
  if (info.verb === 'proxy') markers.add('proxy');
  if (info.resource === 'serviceaccounts' && info.subresource === 'token') markers.add('serviceaccounts/token');
  if (impersonation) markers.add('impersonate');
  if (info.apiGroup === RBAC_GROUP && WRITES.has(info.verb)) {
    if (info.resource === 'roles' || info.resource === 'clusterroles') markers.add('escalate');
    if (info.resource === 'rolebindings' || info.resource === 'clusterrolebindings') markers.add('bind');
  }
  return K8S_MARKERS.filter((marker) => markers.has(marker));
}

/** The exec options from the query (`command=` repeated, `container`, `stdin`, `tty`). */
export interface ExecRequest {
  command: string[];
  container?: string;
  stdin: boolean;
  tty: boolean;
}

export function execRequestOf(info: KubeRequestInfo, target: KubePath): ExecRequest | null {
  if (info.subresource !== 'exec' && info.subresource !== 'attach') return null;
  const container = queryValue(target, 'container');
  const flag = (key: string): boolean => ['true', '1'].includes((queryValue(target, key) ?? '').toLowerCase());
  return {
    command: queryValues(target, 'command'),
    ...(container !== undefined ? { container } : {}),
    stdin: flag('stdin'),
    tty: flag('tty'),
  };
}

/** Everything the policy sees of one request, from its parts. */
export function k8sFacts(
  info: KubeRequestInfo,
  target: KubePath,
  body: BodyFacts | null,
  impersonation: Impersonation | null,
): K8sFacts {
  const exec = execRequestOf(info, target);
  return {
    info,
    pod: body?.pod ?? null,
    command: exec && info.subresource === 'exec' ? exec.command : null,
    markers: markersOf(info, impersonation),
  };
}
