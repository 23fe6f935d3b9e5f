import { exactMatch, parseFieldSelector } from './field-selector.ts';
import { kubeRefuse, queryValue, type KubeChecked, type KubePath } from './request-path.ts';

/**
 * What a request asks the API server to do, derived from the URL exactly as the server's
 * RequestInfo resolver derives it (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), so a
 * policy decides on what the server will authorize, not on how the client spelt it.
 */
export interface KubeRequestInfo {
  isResourceRequest: boolean;
  path: string;
  /**
   * Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection, proxy);
   * for non-resource requests the lower-case HTTP method. exec, attach and portforward are
   * always `create`, whatever the HTTP method (a WebSocket exec is a GET).
   */
  verb: string;
  apiPrefix: string;
  /** '' for the core group. */
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** The field selector of a list/watch/deletecollection, as sent. */
  fieldSelector?: string;
  labelSelector?: string;
}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS = 'api';
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);
const METHOD_VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};
/** `path.IsValidPathSegmentName`: what a name from a field selector must be to count as the name. */
const VALID_NAME = (name: string): boolean => name !== '.' && name !== '..' && !/[/%]/.test(name) && name !== '';

function isWatch(value: string | undefined): boolean {
  return value !== undefined && value !== '0' && value.toLowerCase() !== 'false';
}

function listVerb(info: KubeRequestInfo, target: KubePath): KubeChecked<KubeRequestInfo> {
  info.verb = isWatch(queryValue(target, 'watch')) ? 'watch' : 'list';
  const selector = queryValue(target, 'fieldSelector');
  if (selector !== undefined) {
    const terms = parseFieldSelector(selector);
    if (!terms)
      return kubeRefuse(400, 'k8s.field-selector', `the fieldSelector '${selector.slice(0, 100)}' cannot be parsed`);
    const name = exactMatch(terms, 'metadata.name');
    if (name !== undefined && VALID_NAME(name)) info.name = name;
  }
  return { ok: true, value: info };
}

function withSelectors(info: KubeRequestInfo, target: KubePath, viaPath: boolean): KubeRequestInfo {
  if (viaPath || !['list', 'watch', 'deletecollection'].includes(info.verb)) return info;
  const fieldSelector = queryValue(target, 'fieldSelector');
  const labelSelector = queryValue(target, 'labelSelector');
  return {
    ...info,
    ...(fieldSelector !== undefined ? { fieldSelector } : {}),
    ...(labelSelector !== undefined ? { labelSelector } : {}),
  };
}

/** The parts after /api or /apis/<group>: version, then the resource parts. */
function resourceParts(segments: readonly string[], info: KubeRequestInfo): string[] | null {
  if (segments.length < 3 || !API_PREFIXES.has(segments[0]!)) return null;
  info.apiPrefix = segments[0]!;
  let parts = segments.slice(1);
  if (info.apiPrefix !== GROUPLESS) {
    if (parts.length < 3) return null;
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  return parts.slice(1);
}

/**
 * Resolves the RequestInfo of a canonical request target. An unknown HTTP method on a resource
 * gets verb '' (the server's answer too), which no rule allows.
 */
export function resolveRequestInfo(method: string, target: KubePath): KubeChecked<KubeRequestInfo> {
  const info: KubeRequestInfo = {
    isResourceRequest: false,
    path: target.path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  let parts = resourceParts(target.segments, info);
  if (!parts) return { ok: true, value: { ...info, isResourceRequest: false, apiPrefix: '', apiGroup: '' } };
  const viaPath = SPECIAL_VERBS.has(parts[0]!);
  if (viaPath) {
    if (parts.length < 2) return kubeRefuse(404, 'k8s.path', 'unable to determine kind and namespace from the URL');
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else info.verb = METHOD_VERBS[method.toUpperCase()] ?? '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1]!;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
  }
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;
  if (!info.name && info.verb === 'get') {
    const listed = listVerb(info, target);
    if (!listed.ok) return listed;
  }
  if (!info.name && info.verb === 'delete') info.verb = 'deletecollection';
  if (CONNECT_SUBRESOURCES.has(info.subresource)) info.verb = 'create';
  return { ok: true, value: withSelectors(info, target, viaPath) };
}
