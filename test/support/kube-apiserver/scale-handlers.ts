import { invalid, notFound } from './api-status.ts';
import type { KubeObject } from './object-store.ts';
import { applyPatch } from './item-handlers.ts';
import {
  jsonBody,
  outcomeReply,
  statusReply,
  type Cluster,
  type Reply,
  type ResourceRequest,
} from './request-context.ts';
import { admit } from './admission.ts';

function selectorOf(object: KubeObject): string {
  const labels: Record<string, string> = object.spec?.selector?.matchLabels ?? {};
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The autoscaling/v1 Scale view of a workload (`kubectl scale` reads and patches this). */
export function scaleOf(object: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: object.spec?.replicas ?? 1 },
    status: { replicas: object.status?.replicas ?? 0, selector: selectorOf(object) },
  };
}

/** GET, PUT and PATCH on `.../<workload>/<name>/scale`. */
export function handleScale(cluster: Cluster, request: ResourceRequest): Reply {
  const workload = cluster.store.get(request.type, request.namespace, request.name);
  if (!workload) return statusReply(notFound(request.type.group, request.type.resource, request.name).status);
  if (request.method === 'GET') return { code: 200, body: scaleOf(workload) };
  let scale: KubeObject;
  if (request.method === 'PATCH') {
    const patched = applyPatch(request, scaleOf(workload));
    if (!patched.ok) return statusReply(patched.status);
    scale = patched.value;
  } else {
    const body = jsonBody(request);
    if (!body.ok) return statusReply(body.status);
    scale = body.value;
  }
  const replicas = scale?.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0)
    return statusReply(
      invalid('Scale', request.name, `spec.replicas: Invalid value: ${JSON.stringify(replicas)}`).status,
    );
  const expected = scale.metadata?.resourceVersion;
  const admitted = admit(
    cluster,
    { ...request, subresource: '' },
    { ...workload, spec: { ...workload.spec, replicas } },
  );
  if (!admitted.ok) return statusReply(admitted.status);
  const stored = cluster.store.update(request.type, request.namespace, admitted.value, expected);
  return stored.ok ? { code: 200, body: scaleOf(stored.value) } : outcomeReply(stored);
}
