import { badRequest, invalid, type Outcome } from './api-status.ts';
import { settle } from './cluster-behaviour.ts';
import type { KubeObject } from './object-store.ts';
import type { Cluster, ResourceRequest } from './request-context.ts';
import { apiVersionOf } from './resource-catalog.ts';
import { schemaProblem } from './schema-check.ts';

/** Top-level fields per kind; with `fieldValidation=Strict` any other is refused, as the real server does. */
const TOP_LEVEL: Record<string, readonly string[]> = {
  Secret: ['data', 'stringData', 'type', 'immutable'],
  ConfigMap: ['data', 'binaryData', 'immutable'],
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  Event: [
    'involvedObject',
    'reason',
    'message',
    'source',
    'firstTimestamp',
    'lastTimestamp',
    'count',
    'type',
    'eventTime',
    'series',
    'action',
    'related',
    'reportingComponent',
    'reportingInstance',
  ],
};

const OBJECT_META = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function unknownField(object: KubeObject): string | undefined {
  const allowed = new Set(['apiVersion', 'kind', 'metadata', ...(TOP_LEVEL[object.kind] ?? ['spec', 'status'])]);
  const top = Object.keys(object).find((field) => !allowed.has(field));
  if (top) return top;
  const meta = Object.keys(object.metadata ?? {}).find((field) => !OBJECT_META.has(field));
  return meta && `metadata.${meta}`;
}

function identityProblem(request: ResourceRequest, object: KubeObject): string | undefined {
  const { type } = request;
  if (object.apiVersion !== apiVersionOf(type) || object.kind !== type.kind)
    return `the body is ${object.apiVersion}/${object.kind}, the URL is for ${apiVersionOf(type)} ${type.kind}`;
  const namespace = object.metadata?.namespace;
  if (type.namespaced && namespace !== undefined && namespace !== request.namespace)
    return 'the namespace of the provided object does not match the namespace sent on the request';
  if (request.name && object.metadata?.name !== undefined && object.metadata.name !== request.name)
    return 'the name of the object does not match the name on the URL';
  return undefined;
}

/**
 * What the real server checks before it stores an object: the body's kind, name and namespace
 * against the URL, unknown fields under `fieldValidation=Strict`, a valid name, and the object
 * against its OpenAPI schema after defaulting. Returns the settled object ready to store.
 */
export function admit(cluster: Cluster, request: ResourceRequest, input: unknown): Outcome<KubeObject> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return badRequest('the body is not a JSON object');
  const object = structuredClone(input) as KubeObject;
  const identity = identityProblem(request, object);
  if (identity) return badRequest(identity);
  object.metadata ??= { name: '' };
  if (!object.metadata.name && typeof object.metadata.generateName === 'string')
    object.metadata.name = `${object.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
  if (!object.metadata.name) object.metadata.name = request.name;
  if (!NAME.test(object.metadata.name))
    return invalid(object.kind, object.metadata.name, `metadata.name: Invalid value: "${object.metadata.name}"`);
  if (request.url.searchParams.get('fieldValidation') === 'Strict') {
    const unknown = unknownField(object);
    if (unknown) return badRequest(`strict decoding error: unknown field "${unknown}"`);
  }
  settle(request.type, object, cluster.now());
  const problem = schemaProblem(object);
  if (problem) return invalid(object.kind, object.metadata.name, problem);
  return { ok: true, value: object };
}
