import type { ErrorObject } from 'ajv';
import { isMap, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * Turns JSON Schema (ajv) errors on a YAML document into what a person can act on: the line of
 * the offending key and a sentence with the fix. Shared by gatehouse.yaml and the policy files,
 * which are both YAML validated against a schema.
 */
export function explainSchemaError(error: ErrorObject, schemaName: string): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return `has unknown key '${String(error.params.additionalProperty)}'; remove it or check its spelling against ${schemaName}`;
    case 'required':
      return `needs key '${String(error.params.missingProperty)}'`;
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
    case 'type':
      return `${error.message}; ${String(error.parentSchema?.description ?? '')}`.replace(/; $/, '');
    default:
      return error.message ?? 'is invalid';
  }
}

/** The line of the node an error is about; for an unknown key, the key itself rather than its parent. */
export function lineOfError(doc: Document, counter: LineCounter, error: ErrorObject): number | undefined {
  const pointer =
    error.keyword === 'additionalProperties'
      ? `${error.instancePath}/${String(error.params.additionalProperty)}`
      : error.instancePath;
  return lineOfPointer(doc, counter, pointer);
}

/** The line of the YAML node at a JSON pointer (or of its deepest existing ancestor). */
export function lineOfPointer(doc: Document, counter: LineCounter, pointer: string): number | undefined {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  for (const key of keys) {
    if (!isMap(node) && !isSeq(node)) break;
    const next = node.get(isSeq(node) ? Number(key) : key, true);
    if (next === undefined) break;
    node = next;
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}
