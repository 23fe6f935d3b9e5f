import type http from 'node:http';
import { admit } from './admission.ts';
import { badRequest, failure } from './api-status.ts';
import { deleteObject } from './cluster-behaviour.ts';
import type { KubeObject } from './object-store.ts';
import {
  jsonBody,
  outcomeReply,
  statusReply,
  type Cluster,
  type Reply,
  type ResourceRequest,
} from './request-context.ts';
import { apiVersionOf } from './resource-catalog.ts';
import { matchesSelectors, parseSelectors, type Selectors } from './selectors.ts';
import { TABLE_MEDIA_TYPE, toTable, wantsTable, type IncludeObject } from './tables.ts';
import { serveWatch } from './watch-stream.ts';

/** The `watch` query parameter as the API server reads it: anything but `0`/`false` is true. */
export function isWatch(query: URLSearchParams): boolean {
  const value = query.get('watch');
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}

function selected(cluster: Cluster, request: ResourceRequest, selectors: Selectors): KubeObject[] {
  return cluster.store
    .list(request.type, request.namespace || undefined)
    .filter((object) => matchesSelectors(object, selectors));
}

/** `limit`/`continue` paging: the token is the offset of the next item, pinned to the list's revision. */
function page(items: KubeObject[], query: URLSearchParams, revision: string): { items: KubeObject[]; next?: string } {
  const limit = Number(query.get('limit') ?? '0');
  const token = query.get('continue');
  let offset = 0;
  if (token) offset = Number(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).offset);
  if (!limit || offset + limit >= items.length) return { items: items.slice(offset) };
  const next = Buffer.from(JSON.stringify({ offset: offset + limit, rv: revision })).toString('base64url');
  return { items: items.slice(offset, offset + limit), next };
}

function includeOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

/** GET on a collection: a list (or Table), or a watch stream when `watch` is set. */
export function listOrWatch(cluster: Cluster, request: ResourceRequest, res: http.ServerResponse): Reply | null {
  const selectors = parseSelectors(request.url.searchParams);
  if (typeof selectors === 'string') return statusReply(badRequest(selectors).status);
  if (isWatch(request.url.searchParams)) {
    serveWatch(cluster, request, selectors, res);
    return null;
  }
  const revision = cluster.store.currentRevision;
  const { items, next } = page(selected(cluster, request, selectors), request.url.searchParams, revision);
  const metadata = { resourceVersion: revision, ...(next ? { continue: next } : {}) };
  if (wantsTable(request.headers.accept)) {
    const include = includeOf(request.url.searchParams);
    const table = toTable(request.type, items, { include, resourceVersion: revision, now: cluster.now() });
    return { code: 200, body: { ...table, metadata }, contentType: TABLE_MEDIA_TYPE };
  }
  return {
    code: 200,
    body: { kind: `${request.type.kind}List`, apiVersion: apiVersionOf(request.type), metadata, items },
  };
}

/** POST on a collection: create, or answer what would be created under `dryRun=All`. */
export function createObject(cluster: Cluster, request: ResourceRequest): Reply {
  if (request.type.namespaced && !request.namespace)
    return statusReply(badRequest('a namespaced object is created under /namespaces/<namespace>/').status);
  const body = jsonBody(request);
  if (!body.ok) return statusReply(body.status);
  const admitted = admit(cluster, request, body.value);
  if (!admitted.ok) return statusReply(admitted.status);
  if (request.url.searchParams.get('dryRun') === 'All') return { code: 201, body: admitted.value };
  return outcomeReply(cluster.store.create(request.type, request.namespace, admitted.value), 201);
}

/** DELETE on a collection (`kubectl delete --all`). */
export function deleteCollection(cluster: Cluster, request: ResourceRequest): Reply {
  const selectors = parseSelectors(request.url.searchParams);
  if (typeof selectors === 'string') return statusReply(badRequest(selectors).status);
  const deleted: KubeObject[] = [];
  for (const object of selected(cluster, request, selectors)) {
    const outcome = deleteObject(cluster, request.type, request.namespace, object.metadata.name, undefined);
    if (outcome.ok) deleted.push(outcome.value);
  }
  return {
    code: 200,
    body: {
      kind: `${request.type.kind}List`,
      apiVersion: apiVersionOf(request.type),
      metadata: { resourceVersion: cluster.store.currentRevision },
      items: deleted,
    },
  };
}

/** The answer for a verb the resource does not have. */
export function methodNotAllowed(request: ResourceRequest): Reply {
  return statusReply(
    failure(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource (${request.method})`,
    ).status,
  );
}
