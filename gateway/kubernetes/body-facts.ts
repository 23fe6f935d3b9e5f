import { parse as parseYaml } from 'yaml';
import { podSpecFacts, type PodSpecFacts } from './pod-spec-facts.ts';
import type { KubeRequestInfo } from './request-info.ts';
import { kubeRefuse, type KubeChecked } from './request-path.ts';

/** Body media types the gateway reads, by what they carry. */
export const BODY_TYPES = {
  'application/json': 'object',
  'application/yaml': 'object',
  'application/json-patch+json': 'json-patch',
  'application/merge-patch+json': 'merge-patch',
  'application/strategic-merge-patch+json': 'strategic-merge-patch',
  'application/apply-patch+yaml': 'apply-patch',
} as const;
export type BodyType = (typeof BODY_TYPES)[keyof typeof BODY_TYPES];

/** What the body of one request says, as policy facts. */
export interface BodyFacts {
  type: BodyType;
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  pod: PodSpecFacts;
  /** The parsed document (for a JSON patch: the values it writes, laid out by path). */
  document: unknown;
}

const isNode = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

/** A JSON patch as the document of the values it writes, so the pod-spec scan sees them in place. */
function jsonPatchDocument(operations: unknown): { document: unknown; opaque: boolean } | null {
  if (!Array.isArray(operations)) return null;
  const document: Record<string, unknown> = {};
  let opaque = false;
  for (const op of operations) {
    if (!isNode(op) || typeof op.op !== 'string' || typeof op.path !== 'string') return null;
    if (op.op === 'move' || op.op === 'copy') opaque = true;
    if (op.op !== 'add' && op.op !== 'replace') continue;
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k: string) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: Record<string, unknown> = document;
    for (const key of keys.slice(0, -1))
      node = (node[key] = isNode(node[key]) ? node[key] : {}) as Record<string, unknown>;
    node[keys[keys.length - 1] ?? ''] = op.value;
  }
  return { document, opaque };
}

function parse(type: BodyType, text: string): unknown {
  if (type === 'apply-patch' || (type === 'object' && !/^\s*[{[]/.test(text))) return parseYaml(text);
  return JSON.parse(text);
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

const REFUSED_TYPES = /protobuf|cbor/;

function identityMismatch(info: KubeRequestInfo, facts: BodyFacts, expectedKind: string | undefined): string | null {
  const groupVersion = info.apiGroup ? `${info.apiGroup}/${info.apiVersion}` : info.apiVersion;
  if (info.subresource || info.verb === 'delete' || info.verb === 'deletecollection') return null;
  if (facts.apiVersion !== undefined && facts.apiVersion !== groupVersion)
    return `the body's apiVersion ${facts.apiVersion} is not the URL's ${groupVersion}`;
  if (facts.kind !== undefined && expectedKind !== undefined && facts.kind !== expectedKind)
    return `the body's kind ${facts.kind} is not ${expectedKind}, the kind of ${info.resource}`;
  if (info.name && facts.name !== undefined && facts.name !== info.name)
    return `the body names ${facts.name}, the URL ${info.name}`;
  if (info.namespace && facts.namespace !== undefined && facts.namespace !== info.namespace)
    return `the body's namespace ${facts.namespace} is not the URL's ${info.namespace}`;
  return null;
}

/**
 * Reads a request body into facts and checks it against the URL: the kind, name and namespace
 * the body claims must be the ones the URL addresses (the server acts on the URL; a body that
 * disagrees is refused rather than described wrongly). Protobuf and CBOR bodies are refused
 * (415): the gateway cannot read them, and what it cannot read it does not forward. An empty
 * body is no facts (null).
 */
export function readBody(
  info: KubeRequestInfo,
  contentType: string | undefined,
  body: Uint8Array,
  expectedKind?: string,
): KubeChecked<BodyFacts | null> {
  if (body.length === 0) return { ok: true, value: null };
  const media = mediaTypeOf(contentType);
  if (REFUSED_TYPES.test(media))
    return kubeRefuse(
      415,
      'k8s.body-encoding',
      `gatehouse reads JSON and YAML bodies only, not ${media}: send JSON (kubectl apply does)`,
    );
  const type = BODY_TYPES[(media || 'application/json') as keyof typeof BODY_TYPES];
  if (!type)
    return kubeRefuse(415, 'k8s.body-type', `the body's content type ${media} is not one the API server reads`);
  let parsed: unknown;
  try {
    parsed = parse(type, Buffer.from(body).toString('utf8'));
  } catch {
    return kubeRefuse(400, 'k8s.body-parse', `the ${media} body cannot be parsed`);
  }
  const patch = type === 'json-patch' ? jsonPatchDocument(parsed) : { document: parsed, opaque: false };
  if (!patch || (type !== 'json-patch' && !isNode(parsed)))
    return kubeRefuse(
      400,
      'k8s.body-shape',
      `the ${media} body is not ${type === 'json-patch' ? 'a list of operations' : 'an object'}`,
    );
  const node = isNode(patch.document) ? patch.document : {};
  const meta = isNode(node.metadata) ? node.metadata : {};
  const facts: BodyFacts = {
    type,
    ...(type !== 'json-patch' && typeof node.apiVersion === 'string' ? { apiVersion: node.apiVersion } : {}),
    ...(type !== 'json-patch' && typeof node.kind === 'string' ? { kind: node.kind } : {}),
    ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
    ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
    pod: podSpecFacts(patch.document, patch.opaque),
    document: patch.document,
  };
  const mismatch = identityMismatch(info, facts, expectedKind);
  return mismatch ? kubeRefuse(400, 'k8s.body-mismatch', mismatch) : { ok: true, value: facts };
}
