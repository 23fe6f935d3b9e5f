type Json = any;

/** The patch media types the API server accepts on PATCH. */
export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const isObject = (value: unknown): value is Record<string, Json> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON pointer '${path}' must start with '/'`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[]): { parent: Json; key: string } {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined) throw new Error(`path /${parts.join('/')} does not exist`);
  }
  return { parent: node, key: parts[parts.length - 1]! };
}

function readAt(doc: Json, path: string): Json {
  let node = doc;
  for (const part of pointer(path)) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined) throw new Error(`path ${path} does not exist`);
  }
  return node;
}

function removeAt(doc: Json, path: string): void {
  const { parent, key } = parentOf(doc, pointer(path));
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else throw new Error(`path ${path} does not exist`);
}

function addAt(doc: Json, path: string, value: Json): Json {
  const parts = pointer(path);
  if (parts.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, parts);
  if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, structuredClone(value));
  else if (isObject(parent)) parent[key] = structuredClone(value);
  else throw new Error(`path ${path} has no parent object`);
  return doc;
}

/** RFC 6902 JSON patch; throws with the failing operation on error. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw new Error('a JSON patch is an array of operations');
  let doc = structuredClone(target);
  for (const op of operations as { op: string; path: string; from?: string; value?: Json }[]) {
    if (op.op === 'add') doc = addAt(doc, op.path, op.value);
    else if (op.op === 'remove') removeAt(doc, op.path);
    else if (op.op === 'replace') {
      readAt(doc, op.path);
      if (op.path === '') doc = structuredClone(op.value);
      else {
        removeAt(doc, op.path);
        doc = addAt(doc, op.path, op.value);
      }
    } else if (op.op === 'move' || op.op === 'copy') {
      const value = structuredClone(readAt(doc, op.from ?? ''));
      if (op.op === 'move') removeAt(doc, op.from ?? '');
      doc = addAt(doc, op.path, value);
    } else if (op.op === 'test') {
      if (JSON.stringify(readAt(doc, op.path)) !== JSON.stringify(op.value))
        throw new Error(`test failed at ${op.path}`);
    } else throw new Error(`unknown JSON patch operation '${op.op}'`);
  }
  return doc;
}

/** List fields the Kubernetes Go types merge by key (patchStrategy=merge), by field name. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};

/** Primitive lists merged as sets (patchStrategy=merge without a key). */
const MERGED_PRIMITIVES = new Set(['finalizers']);

function mergeKeyOf(field: string, path: readonly string[]): string | undefined {
  if (field === 'ports')
    return path.includes('containers') || path.includes('initContainers') ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

function mergeList(field: string, path: readonly string[], current: Json, patch: Json[]): Json {
  const key = mergeKeyOf(field, path);
  if (MERGED_PRIMITIVES.has(field)) return [...new Set([...(Array.isArray(current) ? current : []), ...patch])];
  if (!key) return patch.filter((item) => !(isObject(item) && item.$patch));
  const out: Json[] = Array.isArray(current) ? structuredClone(current) : [];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const at = out.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = strategicMerge(out[at], item, [...path, field]);
    else out.push(strategicMerge(undefined, item, [...path, field]));
  }
  return out;
}

/**
 * Strategic merge patch over the built-in kinds: maps merge, `null` deletes, keyed lists
 * (containers by name, env by name, ...) merge by key, other lists are replaced; the directives
 * `$patch`, `$retainKeys`, `$setElementOrder/` and `$deleteFromPrimitiveList/` are honoured.
 */
export function strategicMerge(current: Json, patch: Json, path: readonly string[] = []): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return structuredClone(rest);
  }
  const out: Record<string, Json> = isObject(current) ? structuredClone(current) : {};
  for (const [field, value] of Object.entries(patch)) {
    if (field === '$patch' || field === '$retainKeys' || field.startsWith('$setElementOrder/')) continue;
    if (field.startsWith('$deleteFromPrimitiveList/')) {
      const target = field.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[target])) out[target] = out[target].filter((v: Json) => !(value as Json[]).includes(v));
      continue;
    }
    if (value === null) delete out[field];
    else if (isObject(value) && value.$patch === 'delete') delete out[field];
    else if (Array.isArray(value)) out[field] = mergeList(field, path, out[field], value);
    else out[field] = strategicMerge(out[field], value, [...path, field]);
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const field of Object.keys(out)) if (!patch.$retainKeys.includes(field)) delete out[field];
  }
  return out;
}
