import { parse as parseYaml } from 'yaml';
import { admit } from './admission.ts';
import { badRequest, conflict, failure, notFound, success, type Outcome } from './api-status.ts';
import { deleteObject } from './cluster-behaviour.ts';
import type { KubeObject } from './object-store.ts';
import { jsonPatch, mergePatch, PATCH_TYPES, strategicMerge } from './patches.ts';
import {
  jsonBody,
  outcomeReply,
  statusReply,
  type Cluster,
  type Reply,
  type ResourceRequest,
} from './request-context.ts';

function current(cluster: Cluster, request: ResourceRequest): Outcome<KubeObject> {
  const found = cluster.store.get(request.type, request.namespace, request.name);
  return found ? { ok: true, value: found } : notFound(request.type.group, request.type.resource, request.name);
}

export function getObject(cluster: Cluster, request: ResourceRequest): Reply {
  return outcomeReply(current(cluster, request));
}

function store(cluster: Cluster, request: ResourceRequest, object: unknown, expected?: string): Reply {
  const admitted = admit(cluster, request, object);
  if (!admitted.ok) return statusReply(admitted.status);
  if (request.url.searchParams.get('dryRun') === 'All') return { code: 200, body: admitted.value };
  return outcomeReply(cluster.store.update(request.type, request.namespace, admitted.value, expected));
}

/** PUT: replace, with optimistic concurrency on metadata.resourceVersion. */
export function replaceObject(cluster: Cluster, request: ResourceRequest): Reply {
  const body = jsonBody(request);
  if (!body.ok) return statusReply(body.status);
  const found = current(cluster, request);
  if (!found.ok) return statusReply(found.status);
  const object = request.subresource === 'status' ? { ...found.value, status: body.value.status } : body.value;
  return store(cluster, request, object, body.value?.metadata?.resourceVersion);
}

function mediaType(request: ResourceRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The patched document, or the Status a malformed patch gets. */
export function applyPatch(request: ResourceRequest, target: unknown): Outcome<any> {
  const type = mediaType(request);
  const text = request.body.toString('utf8');
  try {
    if (type === PATCH_TYPES.apply) return { ok: true, value: strategicMerge(target, parseYaml(text)) };
    const patch = JSON.parse(text);
    if (type === PATCH_TYPES.json) return { ok: true, value: jsonPatch(target, patch) };
    if (type === PATCH_TYPES.merge) return { ok: true, value: mergePatch(target, patch) };
    if (type === PATCH_TYPES.strategic) return { ok: true, value: strategicMerge(target, patch) };
  } catch (error) {
    return failure(422, 'Invalid', `the patch could not be applied: ${(error as Error).message}`);
  }
  return failure(415, 'UnsupportedMediaType', `the server does not support patches of type ${type || '(none)'}`);
}

/** Server-side apply bookkeeping: the field manager's entry in managedFields. */
function recordManager(object: KubeObject, request: ResourceRequest, now: Date): void {
  const manager = request.url.searchParams.get('fieldManager') ?? 'unknown';
  const entries = (object.metadata.managedFields as Record<string, unknown>[] | undefined) ?? [];
  const kept = entries.filter((e) => e.manager !== manager || e.operation !== 'Apply');
  kept.push({
    manager,
    operation: 'Apply',
    apiVersion: object.apiVersion,
    time: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    fieldsType: 'FieldsV1',
    fieldsV1: {},
  });
  object.metadata.managedFields = kept;
}

/** PATCH in any of the four patch types; server-side apply creates what does not exist yet. */
export function patchObject(cluster: Cluster, request: ResourceRequest): Reply {
  const found = current(cluster, request);
  const applying = mediaType(request) === PATCH_TYPES.apply;
  if (!found.ok && !applying) return statusReply(found.status);
  const base = found.ok ? found.value : undefined;
  const patched = applyPatch(request, base ?? {});
  if (!patched.ok) return statusReply(patched.status);
  const object = patched.value as KubeObject;
  if (applying) recordManager(object, request, cluster.now());
  if (!base) {
    const admitted = admit(cluster, request, object);
    if (!admitted.ok) return statusReply(admitted.status);
    return outcomeReply(cluster.store.create(request.type, request.namespace, admitted.value), 201);
  }
  const expected = object.metadata?.resourceVersion;
  if (expected && expected !== base.metadata.resourceVersion)
    return statusReply(conflict(request.type.group, request.type.resource, request.name).status);
  const next = request.subresource === 'status' ? { ...base, status: object.status } : object;
  return store(cluster, request, next);
}

function deleteOptions(request: ResourceRequest): Outcome<Record<string, any>> {
  if (request.body.length === 0) return { ok: true, value: {} };
  const body = jsonBody(request);
  return body.ok && body.value && typeof body.value === 'object' ? body : badRequest('DeleteOptions must be an object');
}

/** DELETE: graceful for pods and namespaces, preconditions and dry run honoured. */
export function deleteItem(cluster: Cluster, request: ResourceRequest): Reply {
  const options = deleteOptions(request);
  if (!options.ok) return statusReply(options.status);
  const found = current(cluster, request);
  if (!found.ok) return statusReply(found.status);
  const pre = options.value.preconditions ?? {};
  if (
    (pre.uid && pre.uid !== found.value.metadata.uid) ||
    (pre.resourceVersion && pre.resourceVersion !== found.value.metadata.resourceVersion)
  )
    return statusReply(conflict(request.type.group, request.type.resource, request.name).status);
  if (request.url.searchParams.get('dryRun') === 'All' || options.value.dryRun?.includes('All'))
    return { code: 200, body: found.value };
  const query = request.url.searchParams.get('gracePeriodSeconds');
  const grace = query !== null ? Number(query) : options.value.gracePeriodSeconds;
  const outcome = deleteObject(cluster, request.type, request.namespace, request.name, grace);
  if (!outcome.ok) return statusReply(outcome.status);
  if (outcome.pending || request.type.resource === 'pods') return { code: 200, body: outcome.value };
  const { group, resource } = request.type;
  return {
    code: 200,
    body: success({ name: request.name, ...(group ? { group } : {}), kind: resource, uid: outcome.value.metadata.uid }),
  };
}
