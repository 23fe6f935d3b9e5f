import type { Outcome } from './api-status.ts';
import type { KubeObject } from './object-store.ts';
import type { Cluster } from './request-context.ts';
import { findResourceType, RESOURCE_TYPES, type ResourceType } from './resource-catalog.ts';

const WORKLOADS = new Set(['deployments', 'replicasets', 'statefulsets']);

function podStatus(pod: KubeObject, now: string): Record<string, unknown> {
  const containers: { name: string; image: string }[] = pod.spec?.containers ?? [];
  return {
    phase: 'Running',
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: 'True', lastTransitionTime: now },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ],
    hostIP: '10.0.0.1',
    podIP: '10.244.0.10',
    startTime: now,
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

function workloadStatus(object: KubeObject): Record<string, unknown> {
  const replicas = object.spec?.replicas ?? 1;
  return {
    observedGeneration: object.metadata.generation ?? 1,
    replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    updatedReplicas: replicas,
    ...(object.kind === 'Deployment'
      ? {
          conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ready' },
            { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'rolled out' },
          ],
        }
      : {}),
  };
}

/**
 * What the controllers of a real cluster would do at once, applied to an object before it is
 * written: pods are scheduled and running, workloads report every replica ready, namespaces are
 * Active, and the defaults kubectl's printers expect are set.
 */
export function settle(type: ResourceType, object: KubeObject, now: Date): KubeObject {
  if (type.resource === 'pods' && !object.metadata.deletionTimestamp) {
    object.spec = { nodeName: 'stand-in-node', restartPolicy: 'Always', ...object.spec };
    object.status = podStatus(object, object.status?.startTime ?? stamp(now));
  }
  if (WORKLOADS.has(type.resource)) {
    object.spec = { replicas: 1, ...object.spec };
    object.status = workloadStatus(object);
  }
  if (type.resource === 'namespaces' && !object.metadata.deletionTimestamp) {
    object.spec = { finalizers: ['kubernetes'], ...object.spec };
    object.status = { phase: 'Active' };
  }
  if (type.resource === 'secrets') settleSecret(object);
  return object;
}

/** The store's beforeWrite hook: workloads observe their latest generation at once. */
export function observeGeneration(type: ResourceType, object: KubeObject): void {
  if (WORKLOADS.has(type.resource) && !object.metadata.deletionTimestamp) object.status = workloadStatus(object);
}

/** `stringData` is write-only: the server folds it into `data` (base64) and never returns it. */
function settleSecret(secret: KubeObject): void {
  secret.type ??= 'Opaque';
  if (secret.stringData && typeof secret.stringData === 'object') {
    secret.data = { ...secret.data };
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>))
      secret.data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    delete secret.stringData;
  }
}

function stamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

function graceful(type: ResourceType): boolean {
  return type.resource === 'pods' || type.resource === 'namespaces';
}

/**
 * DELETE as the real server does it: pods and namespaces get a deletionTimestamp first (namespaces
 * turn Terminating and take their contents with them) and vanish `cluster.graceMs` later; an
 * object with finalizers waits for them; everything else is gone at once.
 */
export function deleteObject(
  cluster: Cluster,
  type: ResourceType,
  namespace: string,
  name: string,
  gracePeriodSeconds: number | undefined,
): Outcome<KubeObject> & { pending?: boolean } {
  const current = cluster.store.get(type, namespace, name);
  if (!current || (!graceful(type) && !current.metadata.finalizers?.length) || gracePeriodSeconds === 0) {
    if (type.resource === 'namespaces') removeNamespaceContents(cluster, name);
    return cluster.store.remove(type, namespace, name);
  }
  if (current.metadata.deletionTimestamp) return { ok: true, value: current, pending: true };
  const updated = cluster.store.markDeleting(type, namespace, name, gracePeriodSeconds ?? 30, (object) => {
    if (type.resource === 'namespaces') object.status = { phase: 'Terminating' };
  });
  if (graceful(type) && !current.metadata.finalizers?.some((f) => f !== 'kubernetes')) {
    setTimeout(() => {
      if (type.resource === 'namespaces') removeNamespaceContents(cluster, name);
      cluster.store.remove(type, namespace, name);
    }, cluster.graceMs).unref();
  }
  return updated.ok ? { ...updated, pending: true } : updated;
}

function removeNamespaceContents(cluster: Cluster, namespace: string): void {
  for (const type of RESOURCE_TYPES) {
    if (!type.namespaced) continue;
    for (const object of cluster.store.list(type, namespace))
      cluster.store.remove(type, namespace, object.metadata.name);
  }
}

/** The namespaces every fresh stand-in has, as a cluster after `kubeadm init`. */
export function seedNamespaces(cluster: Cluster): void {
  const namespaces = findResourceType('', 'v1', 'namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public']) {
    const object = settle(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, cluster.now());
    cluster.store.create(namespaces, '', object);
  }
}
