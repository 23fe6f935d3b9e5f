import { createHash } from 'node:crypto';
import { readBody, type BodyFacts } from './body-facts.ts';
import {
  execRequestOf,
  impersonationOf,
  k8sFacts,
  type ExecRequest,
  type Impersonation,
  type K8sFacts,
} from './k8s-facts.ts';
import type { MaskText } from './object-masking.ts';
import { resolveRequestInfo, type KubeRequestInfo } from './request-info.ts';
import { checkKubePath, kubeRefuse, type KubeChecked, type KubePath } from './request-path.ts';

/** One request as the adapter hands it over, after HTTP-level checks. */
export interface KubeRequestInput {
  method: string;
  /** The request target as sent (`/api/v1/...?...`). */
  target: string;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  /** The gathered body; `complete` false when it was longer than the gateway gathers. */
  body: { bytes: Uint8Array; complete: boolean } | null;
  /** The kind served at a group/version/resource, from the target's discovery; undefined when unknown. */
  kindOf?(group: string, version: string, resource: string): string | undefined;
}

/** Everything decided about one request before policy runs. */
export interface ClassifiedKubeRequest {
  path: KubePath;
  info: KubeRequestInfo;
  body: BodyFacts | null;
  impersonation: Impersonation | null;
  exec: ExecRequest | null;
  facts: K8sFacts;
  /** Discovery, version and OpenAPI reads: allowed without a rule (kubectl cannot start without them). */
  discovery: boolean;
  /** What an approval is bound to: method, target and a hash of the body. */
  text: string;
  /** One line a reviewer and the audit log read, content detectors applied. */
  shown: string;
}

const DISCOVERY = [
  /^\/version$/,
  /^\/api$/,
  /^\/api\/v1$/,
  /^\/apis$/,
  /^\/apis\/[^/]+$/,
  /^\/apis\/[^/]+\/[^/]+$/,
  /^\/openapi\/v2$/,
  /^\/openapi\/v3(\/.+)?$/,
];
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

function isDiscovery(info: KubeRequestInfo, method: string): boolean {
  return (
    !info.isResourceRequest && (method === 'GET' || method === 'HEAD') && DISCOVERY.some((re) => re.test(info.path))
  );
}

/** `delete deployments.apps web -n prod`, `exec ci/web -- sh -c ls`, `get /version`. */
export function describeKubeRequest(info: KubeRequestInfo, exec: ExecRequest | null): string {
  if (!info.isResourceRequest) return `${info.verb} ${info.path}`;
  if (exec && info.subresource === 'exec') {
    const container = exec.container ? ` -c ${exec.container}` : '';
    return `exec ${info.namespace}/${info.name}${container} -- ${exec.command.join(' ')}`;
  }
  const resource = `${info.resource}${info.apiGroup ? `.${info.apiGroup}` : ''}${info.subresource ? `/${info.subresource}` : ''}`;
  const name = info.name ? ` ${info.name}` : '';
  const namespace = info.namespace && info.resource !== 'namespaces' ? ` -n ${info.namespace}` : '';
  return `${info.verb} ${resource}${name}${namespace}`;
}

function header(headers: KubeRequestInput['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Classifies a request: canonical path, RequestInfo, body facts checked against the URL,
 * impersonation and exec options, and the texts an approval binds to and a reviewer sees. A
 * write whose body was too long to gather is refused (413): it could not be read, so it is not
 * forwarded.
 */
export function classifyKubeRequest(input: KubeRequestInput, maskText: MaskText): KubeChecked<ClassifiedKubeRequest> {
  const path = checkKubePath(input.target);
  if (!path.ok) return path;
  const info = resolveRequestInfo(input.method, path.value);
  if (!info.ok) return info;
  const bytes = input.body?.bytes ?? new Uint8Array();
  if (input.body && !input.body.complete && WRITES.has(info.value.verb))
    return kubeRefuse(
      413,
      'k8s.body-too-large',
      'the request body is longer than gatehouse reads before deciding; send a smaller object',
    );
  const kind = input.kindOf?.(info.value.apiGroup, info.value.apiVersion, info.value.resource);
  const body = readBody(info.value, header(input.headers, 'content-type'), bytes, kind);
  if (!body.ok) return body;
  const impersonation = impersonationOf(input.headers);
  const exec = execRequestOf(info.value, path.value);
  const facts = k8sFacts(info.value, path.value, body.value, impersonation);
  const digest = createHash('sha256').update(bytes).digest('hex');
  const described = describeKubeRequest(info.value, exec);
  const as = impersonation ? ` (as ${impersonation.user ?? impersonation.groups.join(',')})` : '';
  return {
    ok: true,
    value: {
      path: path.value,
      info: info.value,
      body: body.value,
      impersonation,
      exec,
      facts,
      discovery: isDiscovery(info.value, input.method.toUpperCase()) && !impersonation,
      text: `${input.method.toUpperCase()} ${input.target}\n${digest}`,
      shown: maskText(`${described}${as}`).text,
    },
  };
}
