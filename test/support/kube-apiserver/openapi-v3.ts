import { createHash } from 'node:crypto';
import { groupVersions, type ResourceType } from './resource-catalog.ts';

/**
 * A minimal OpenAPI v3 description, just what kubectl 1.30–1.32 read from it: the PATCH operation
 * of every kind with its `x-kubernetes-group-version-kind` and the `fieldValidation` parameter, so
 * kubectl leaves validation to the server (`fieldValidation=Strict`) instead of downloading the
 * protobuf OpenAPI v2 document. No component schemas: kubectl then computes client-side apply
 * patches from its built-in types, as it does for any server whose v3 schema lacks a kind.
 */
export interface OpenApiV3 {
  /** `/openapi/v3`: the index of group-version documents. */
  index: Record<string, unknown>;
  /** `api/v1`, `apis/apps/v1` → document (served under `/openapi/v3/<key>`). */
  documents: Map<string, Record<string, unknown>>;
}

const PATCH_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: name === 'force' ? { type: 'boolean', uniqueItems: true } : { type: 'string', uniqueItems: true },
}));

function itemPath(prefix: string, type: ResourceType): string {
  return type.namespaced
    ? `/${prefix}/namespaces/{namespace}/${type.resource}/{name}`
    : `/${prefix}/${type.resource}/{name}`;
}

function operation(action: string, type: ResourceType): Record<string, unknown> {
  return {
    operationId: `${action}${type.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
    parameters: action === 'patch' ? PATCH_PARAMETERS : [],
    responses: { '200': { description: 'OK' } },
  };
}

function document(prefix: string, types: readonly ResourceType[], minor: number): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const type of types) {
    paths[itemPath(prefix, type)] = { get: operation('get', type), patch: operation('patch', type) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: `v1.${minor}.0` },
    paths,
    components: { schemas: {} },
  };
}

export function buildOpenApiV3(minor: number): OpenApiV3 {
  const documents = new Map<string, Record<string, unknown>>();
  const paths: Record<string, unknown> = {};
  for (const gv of groupVersions()) {
    const key = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    const doc = document(key, gv.types, minor);
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
    documents.set(key, doc);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { index: { paths }, documents };
}
