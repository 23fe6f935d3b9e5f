import { maskedQuery } from '../http-adapter/http-action.ts';
import type { TextMasker } from '../http-adapter/json-masker.ts';
import type { ProxiedRequest } from '../http-adapter/proxy-types.ts';
import type { ClassifiedKubeRequest } from './kube-request.ts';

/**
 * The data of a request's `k8s.request` audit event: the HTTP line (query masked) and what the
 * API server will make of it (verb, resource, namespace, name, subresource, exec argv, markers),
 * so the log reads like the cluster's own audit log. Exec arguments pass the content detectors.
 */
export function kubeRequestEvent(
  connection: string,
  request: ProxiedRequest,
  classified: ClassifiedKubeRequest,
  detectors: TextMasker,
): Record<string, unknown> {
  const { info, facts, exec, impersonation } = classified;
  const query = maskedQuery(request.target.query, detectors);
  const optional = (key: string, value: string | undefined) => (value ? { [key]: value } : {});
  return {
    connection,
    method: request.method,
    path: request.target.path,
    ...optional('query', query),
    verb: info.verb,
    ...optional('api_group', info.apiGroup),
    ...optional('resource', info.resource),
    ...optional('subresource', info.subresource),
    ...optional('namespace', info.namespace),
    ...optional('name', info.name),
    shown: classified.shown,
    ...(facts.markers.length ? { markers: facts.markers } : {}),
    ...(exec ? { command: exec.command.map((word) => detectors.maskText(word).text) } : {}),
    ...(impersonation ? { impersonate: impersonation.user ?? impersonation.groups.join(',') } : {}),
    ...(classified.body?.kind ? { kind: classified.body.kind } : {}),
    ...(request.media ? { content_type: request.media.essence } : {}),
    ...(request.head.contentLength !== undefined ? { content_length: request.head.contentLength } : {}),
    ...(request.upgrade ? { upgrade: request.upgrade } : {}),
  };
}
