import type http from 'node:http';
import { failure } from './api-status.ts';
import type { KubeObject, StoreEvent } from './object-store.ts';
import { checkServed, type Cluster, type ResourceRequest } from './request-context.ts';
import { matchesSelectors, type Selectors } from './selectors.ts';
import { TABLE_MEDIA_TYPE, toTable, wantsTable, type IncludeObject } from './tables.ts';

function includeOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

/**
 * A watch: newline-delimited JSON events over a chunked response, from the requested
 * resourceVersion on (none or "0": every current object as ADDED first), until the client
 * goes away or `timeoutSeconds` passes. With the Table media type each event carries a Table.
 */
export function serveWatch(
  cluster: Cluster,
  request: ResourceRequest,
  selectors: Selectors,
  res: http.ServerResponse,
): void {
  const query = request.url.searchParams;
  const table = wantsTable(request.headers.accept);
  const include = includeOf(query);
  const matches = (object: KubeObject): boolean =>
    (!request.namespace || object.metadata.namespace === request.namespace) && matchesSelectors(object, selectors);
  const encode = (type: string, object: KubeObject): string => {
    const body = table
      ? toTable(request.type, [object], {
          include,
          resourceVersion: object.metadata.resourceVersion!,
          now: cluster.now(),
        })
      : object;
    checkServed(cluster, `WATCH ${request.url.pathname}`, body);
    return `${JSON.stringify({ type, object: body })}\n`;
  };
  const from = query.get('resourceVersion') ?? '';
  const backlog = from === '' || from === '0' ? null : cluster.store.eventsSince(Number(from));
  if (from !== '' && from !== '0' && backlog === null) {
    const gone = failure(410, 'Expired', `too old resource version: ${from}`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    return void res.end(`${JSON.stringify({ type: 'ERROR', object: gone.status })}\n`);
  }
  res.writeHead(200, {
    'content-type': table ? TABLE_MEDIA_TYPE : 'application/json',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  const relevant = (event: StoreEvent): boolean => event.resourceType === request.type && matches(event.object);
  if (backlog === null) {
    for (const object of cluster.store.list(request.type, request.namespace || undefined))
      if (matches(object)) res.write(encode('ADDED', object));
  } else for (const event of backlog) if (relevant(event)) res.write(encode(event.type, event.object));
  const unsubscribe = cluster.store.subscribe((event) => {
    if (relevant(event)) res.write(encode(event.type, event.object));
  });
  const seconds = Number(query.get('timeoutSeconds') ?? '1800');
  const timer = setTimeout(() => res.end(), seconds * 1000);
  timer.unref();
  res.on('close', () => {
    clearTimeout(timer);
    unsubscribe();
  });
}
