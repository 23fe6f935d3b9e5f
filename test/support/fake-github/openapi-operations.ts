import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * GitHub's REST API as its OpenAPI description (`@octokit/openapi`, dereferenced) describes it:
 * which method + path exists, which parameters and body fields each takes, and what each
 * response looks like. The fake GitHub validates every request and response against it.
 */
export interface GitHubSpec {
  operations: Operation[];
  /** Compiled validators, shared by every fake started from this spec (compiling is the slow part). */
  validators: Validators;
}

export type Validators = ReturnType<typeof createValidators>;

type Schema = Record<string, unknown>;

export interface Operation {
  method: string;
  /** OpenAPI path template, e.g. `/repos/{owner}/{repo}/check-runs`. */
  template: string;
  operationId: string;
  pattern: RegExp;
  /** Names of the path parameters, in the order of the pattern's groups. */
  names: string[];
  literalSegments: number;
  parameters: { name: string; in: string; required: boolean; schema: Schema }[];
  requestBody: { required: boolean; schema: Schema | null } | null;
  responses: Record<string, { schema: Schema | null; example: unknown }>;
}

export function loadGitHubSpec(): GitHubSpec {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.deref.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, any>> };
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const segments = template.split('/').slice(1);
      const pattern = new RegExp(`^/${segments.map((s) => (s.startsWith('{') ? '([^/]+)' : escape(s))).join('/')}$`);
      const names = segments.filter((s) => s.startsWith('{')).map((s) => s.slice(1, -1));
      const json = op.requestBody?.content?.['application/json'];
      const responses: Operation['responses'] = {};
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
        const content = response?.content?.['application/json'];
        const examples = content?.examples ? Object.values<any>(content.examples) : [];
        responses[status] = { schema: content?.schema ?? null, example: content?.example ?? examples[0]?.value };
      }
      operations.push({
        method: method.toUpperCase(),
        template,
        operationId: op.operationId,
        pattern,
        names,
        literalSegments: segments.filter((s) => !s.startsWith('{')).length,
        parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => ({
          name: p.name,
          in: p.in,
          required: !!p.required,
          schema: p.schema ?? {},
        })),
        requestBody: op.requestBody ? { required: !!op.requestBody.required, schema: json?.schema ?? null } : null,
        responses,
      });
    }
  }
  operations.sort((a, b) => b.literalSegments - a.literalSegments);
  return { operations, validators: createValidators() };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Finds the operation of a request; null when GitHub has no such endpoint. */
export function matchOperation(
  spec: GitHubSpec,
  method: string,
  pathname: string,
): { operation: Operation; params: Record<string, string> } | null {
  for (const operation of spec.operations) {
    if (operation.method !== method) continue;
    const match = operation.pattern.exec(pathname);
    if (match)
      return {
        operation,
        params: Object.fromEntries(operation.names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)])),
      };
  }
  return null;
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);

/** OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes an explicit null alternative; examples are dropped. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node as Schema)) {
    if (key === 'example' || key === 'examples' || key === 'nullable') continue;
    out[key] =
      SCHEMA_MAPS.has(key) && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, toJsonSchema(v)]))
        : toJsonSchema(value);
  }
  if ((node as Schema).nullable !== true) return out;
  if (typeof out.type === 'string')
    return { ...out, type: [out.type, 'null'], ...(Array.isArray(out.enum) ? { enum: [...out.enum, null] } : {}) };
  return { anyOf: [out, { type: 'null' }] };
}

/**
 * Request bodies get `additionalProperties: false` wherever the description lists properties and
 * says nothing else, so a field GitHub does not know is an error rather than silently ignored.
 */
function closeObjects(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const copy: Schema = { ...(schema as Schema) };
  if (copy.properties && typeof copy.properties === 'object') {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties as Schema).map(([k, v]) => [k, closeObjects(v)]),
    );
    if (copy.additionalProperties === undefined && !copy.allOf) copy.additionalProperties = false;
  }
  if (copy.items) copy.items = closeObjects(copy.items);
  return copy;
}

/** Compiles and caches validators for one spec. */
export function createValidators() {
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false, coerceTypes: false });
  const coercing = new Ajv({ strict: false, validateFormats: false, coerceTypes: true });
  const cache = new Map<string, ValidateFunction>();
  const compile = (key: string, make: () => ValidateFunction): ValidateFunction => {
    let fn = cache.get(key);
    if (!fn) cache.set(key, (fn = make()));
    return fn;
  };
  const describe = (fn: ValidateFunction): string =>
    (fn.errors ?? [])
      .slice(0, 3)
      .map(
        (e) =>
          `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`,
      )
      .join('; ');
  return {
    requestBody(op: Operation, body: unknown): string | null {
      const schema = op.requestBody?.schema;
      if (!schema) return null;
      const fn = compile(`${op.operationId}:request`, () => ajv.compile(closeObjects(toJsonSchema(schema)) as Schema));
      return fn(body) ? null : describe(fn);
    },
    parameter(op: Operation, name: string, value: unknown, schema: Schema): string | null {
      const fn = compile(`${op.operationId}:param:${name}`, () =>
        coercing.compile({ type: 'object', properties: { v: toJsonSchema(schema) } }),
      );
      return fn({ v: value }) ? null : describe(fn);
    },
    response(op: Operation, status: number, body: unknown): string | null {
      const response = op.responses[String(status)];
      if (!response) return `status ${status} is not a documented response of ${op.operationId}`;
      if (!response.schema)
        return body === undefined || body === null || body === ''
          ? null
          : `${op.operationId} ${status} has no body in GitHub's description`;
      const fn = compile(`${op.operationId}:response:${status}`, () =>
        ajv.compile(toJsonSchema(response.schema) as Schema),
      );
      return fn(body) ? null : describe(fn);
    },
  };
}
