import type http from 'node:http';
import { badRequest, failure, type ApiStatus, type Outcome } from './api-status.ts';
import type { ObjectStore } from './object-store.ts';
import type { PodLogs } from './pod-logs.ts';
import { findResourceType, type ResourceType } from './resource-catalog.ts';
import { schemaProblem } from './schema-check.ts';

/** The state every handler shares: the store, the clock, and what tests read afterwards. */
export interface Cluster {
  store: ObjectStore;
  logs: PodLogs;
  now(): Date;
  /** Kubernetes minor version reported by `/version`. */
  minor: number;
  /** How long a graceful deletion (pods, namespaces) takes before the object is gone. */
  graceMs: number;
  /** Directory exec'd commands run in (one subdirectory per pod). */
  sandbox: string;
  /** Schema violations in what the stand-in itself served or stored: a test asserts there are none. */
  problems: string[];
}

/** A request for an API resource, parsed by the stand-in's router. */
export interface ResourceRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  type: ResourceType;
  /** '' for cluster-scoped resources and all-namespace lists. */
  namespace: string;
  name: string;
  subresource: string;
}

/** A JSON answer: the body is checked against the schemas before it is sent. */
export interface Reply {
  code: number;
  body: unknown;
  contentType?: string;
}

export function statusReply(status: ApiStatus): Reply {
  return { code: status.code, body: status };
}

export function outcomeReply<T>(outcome: Outcome<T>, code = 200): Reply {
  return outcome.ok ? { code, body: outcome.value } : statusReply(outcome.status);
}

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...`; null when it is not a resource path. */
export function parseResourcePath(
  pathname: string,
): Omit<ResourceRequest, 'method' | 'url' | 'headers' | 'body'> | null {
  const parts = pathname.split('/').slice(1);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) rest = parts.slice(1);
  else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    rest = parts.slice(2);
  } else return null;
  const [version, ...tail] = rest;
  let namespace = '';
  let resourceParts = tail;
  if (tail[0] === 'namespaces' && tail.length >= 3 && !['status', 'finalize'].includes(tail[2]!)) {
    namespace = tail[1]!;
    resourceParts = tail.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...extra] = resourceParts;
  const type = findResourceType(group, version!, resource);
  if (!type || extra.length > 0) return null;
  if (type.resource === 'namespaces' && name) namespace = '';
  return { type, namespace, name, subresource };
}

/**
 * The request body as JSON, or the Status to answer: 415 for another media type (the stand-in
 * cannot decode protobuf or CBOR, which a real server would), 400 for malformed JSON.
 */
export function jsonBody(request: ResourceRequest): Outcome<any> {
  const type = (request.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  if (type !== 'application/json')
    return failure(415, 'UnsupportedMediaType', `the stand-in decodes application/json bodies only, not ${type}`);
  try {
    return { ok: true, value: JSON.parse(request.body.toString('utf8')) };
  } catch {
    return badRequest('the request body is not valid JSON');
  }
}

/** Records a schema problem in something the stand-in serves; returns whether it was clean. */
export function checkServed(cluster: Cluster, where: string, body: unknown): boolean {
  if (!body || typeof body !== 'object' || !('kind' in body)) return true;
  const problem = schemaProblem(body);
  if (problem) cluster.problems.push(`${where}: the stand-in's own response is invalid: ${problem}`);
  return !problem;
}
