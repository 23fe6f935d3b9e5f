import type http from 'node:http';
import { failure } from './api-status.ts';
import { createObject, deleteCollection, listOrWatch, methodNotAllowed } from './collection-handlers.ts';
import {
  aggregatedDiscovery,
  aggregatedVersionWanted,
  AGGREGATED_DISCOVERY,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  versionInfo,
} from './discovery.ts';
import { deleteItem, getObject, patchObject, replaceObject } from './item-handlers.ts';
import type { OpenApiV3 } from './openapi-v3.ts';
import { serveLog } from './pod-logs.ts';
import { parseResourcePath, statusReply, type Cluster, type Reply, type ResourceRequest } from './request-context.ts';
import { handleScale } from './scale-handlers.ts';

const notFoundReply = (path: string): Reply =>
  statusReply(failure(404, 'NotFound', `the server could not find the requested resource (${path})`).status);

/** Discovery, version and OpenAPI: the non-resource paths kubectl reads. */
export function nonResource(
  cluster: Cluster,
  openapi: OpenApiV3,
  req: http.IncomingMessage,
  url: URL,
  serverAddress: string,
): Reply | null {
  const path = url.pathname.replace(/\/$/, '') || '/';
  if (req.method !== 'GET') return null;
  if (path === '/version') return { code: 200, body: versionInfo(cluster.minor) };
  if (path === '/healthz' || path === '/livez' || path === '/readyz')
    return { code: 200, body: 'ok', contentType: 'text/plain' };
  if (path === '/api' || path === '/apis') {
    const aggregated = aggregatedVersionWanted(req.headers.accept);
    if (aggregated)
      return {
        code: 200,
        body: aggregatedDiscovery(path === '/api', aggregated),
        contentType: AGGREGATED_DISCOVERY[aggregated],
      };
    return { code: 200, body: path === '/api' ? apiVersions(serverAddress) : apiGroupList() };
  }
  if (path === '/openapi/v3') return { code: 200, body: openapi.index };
  if (path.startsWith('/openapi/v3/')) {
    const doc = openapi.documents.get(path.slice('/openapi/v3/'.length));
    return doc ? { code: 200, body: doc } : notFoundReply(path);
  }
  const legacy = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (legacy) {
    const list = legacy.length === 2 ? apiResourceList('', legacy[1]!) : apiResourceList(legacy[1]!, legacy[2]!);
    return list ? { code: 200, body: list } : notFoundReply(path);
  }
  const group = /^\/apis\/([^/]+)$/.exec(path);
  if (group) {
    const doc = apiGroup(group[1]!);
    return doc ? { code: 200, body: doc } : notFoundReply(path);
  }
  return null;
}

function podGone(cluster: Cluster, request: ResourceRequest): (listener: () => void) => () => void {
  return (listener) =>
    cluster.store.subscribe((event) => {
      const { metadata } = event.object;
      if (event.type === 'DELETED' && event.resourceType === request.type && metadata.name === request.name) listener();
    });
}

function subresource(cluster: Cluster, request: ResourceRequest, res: http.ServerResponse): Reply | null {
  const { subresource: sub, method } = request;
  if (sub === 'scale' && request.type.subresources.some((s) => s.name === 'scale'))
    return handleScale(cluster, request);
  if (sub === 'status') {
    if (method === 'GET') return getObject(cluster, request);
    if (method === 'PUT') return replaceObject(cluster, request);
    if (method === 'PATCH') return patchObject(cluster, request);
    return methodNotAllowed(request);
  }
  if (sub === 'log' && request.type.resource === 'pods' && method === 'GET') {
    const pod = cluster.store.get(request.type, request.namespace, request.name);
    if (!pod) return getObject(cluster, request);
    const container = request.url.searchParams.get('container') ?? pod.spec?.containers?.[0]?.name ?? '';
    const where = { namespace: request.namespace, pod: request.name, container };
    serveLog(cluster.logs, res, where, request.url.searchParams, podGone(cluster, request));
    return null;
  }
  if (['exec', 'attach', 'portforward'].includes(sub))
    return statusReply(
      failure(400, 'BadRequest', `${sub} needs a WebSocket upgrade (Sec-WebSocket-Protocol v5.channel.k8s.io)`).status,
    );
  return notFoundReply(request.url.pathname);
}

/** Routes a resource request; null when the handler answered itself (watch, logs). */
export function resource(
  cluster: Cluster,
  req: http.IncomingMessage,
  url: URL,
  body: Buffer,
  res: http.ServerResponse,
): Reply | null {
  const parsed = parseResourcePath(url.pathname);
  if (!parsed) return notFoundReply(url.pathname);
  const request: ResourceRequest = { ...parsed, method: req.method ?? 'GET', url, headers: req.headers, body };
  if (request.subresource) return subresource(cluster, request, res);
  const { method } = request;
  if (!request.name) {
    if (method === 'GET') return listOrWatch(cluster, request, res);
    if (method === 'POST') return createObject(cluster, request);
    if (method === 'DELETE') return deleteCollection(cluster, request);
    return methodNotAllowed(request);
  }
  if (method === 'GET') return getObject(cluster, request);
  if (method === 'PUT') return replaceObject(cluster, request);
  if (method === 'PATCH') return patchObject(cluster, request);
  if (method === 'DELETE') return deleteItem(cluster, request);
  return methodNotAllowed(request);
}
