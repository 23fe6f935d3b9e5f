import type { ConnectionConfig } from './config-types.ts';

/**
 * One connection type's piece of gatehouse.yaml: the JSON Schema of a `connections:` entry of that
 * type (its defaults included) and how a validated entry becomes the typed config object. Each
 * adapter folder owns its piece; `connection-types.ts` lists them.
 */
export interface ConnectionType<C extends ConnectionConfig = ConnectionConfig> {
  readonly type: C['type'];
  readonly schema: { readonly properties: Record<string, unknown>; readonly [key: string]: unknown };
  /** A validated entry (defaults applied) named `name` as the typed config. */
  toConfig(name: string, entry: Record<string, unknown>): C;
}

/** Defaults of a connection schema's properties (ajv does not apply them inside `oneOf` branches). */
export function schemaDefaults(schema: ConnectionType['schema']): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema.properties)
      .filter(([, property]) => property !== null && typeof property === 'object' && 'default' in property)
      .map(([key, property]) => [key, (property as { default: unknown }).default]),
  );
}
