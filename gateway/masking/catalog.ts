import type pg from 'pg';

export const RELATION_KINDS = { r: 'table', p: 'table', v: 'view', m: 'matview', f: 'foreign', t: 'toast' } as const;
/** Kinds of relation a query can read; anything else is treated as unknown provenance. */
export type RelationKind = (typeof RELATION_KINDS)[keyof typeof RELATION_KINDS] | 'other';

export interface CatalogColumn {
  name: string;
  attnum: number;
  typeOid: number;
}

/** A relation as the catalog sees it: what `*` expands to and whether it is a view to look through. */
export interface CatalogRelation {
  oid: number;
  schema: string;
  name: string;
  kind: RelationKind;
  columns: readonly CatalogColumn[];
}

/**
 * Catalog facts masking needs, read on the gateway's own metadata connection (never the
 * client's, which the client controls). Lookups by bare name return every schema's match:
 * the client may change its search_path, so provenance is the union of all candidates.
 */
export interface MaskingCatalog {
  relationsNamed(name: string): Promise<readonly CatalogRelation[]>;
  relation(schema: string, name: string): Promise<CatalogRelation | null>;
  relationByOid(oid: number): Promise<CatalogRelation | null>;
  /** `pg_get_viewdef` text of a view or materialized view; null when it is gone. */
  viewDefinition(oid: number): Promise<string | null>;
  /** Schemas holding a function of this name (any argument types). */
  functionSchemas(name: string): Promise<readonly string[]>;
  /** Schemas holding an operator with this symbol. */
  operatorSchemas(symbol: string): Promise<readonly string[]>;
  /** Schemas holding a type (or domain) of this name: a domain's CHECK can run any function. */
  typeSchemas(name: string): Promise<readonly string[]>;
  /** Drops every cached answer; call after DDL. */
  invalidate(): void;
}

/** Anything with node-postgres' `query(text, values)`; a `pg.Client` on the metadata connection. */
export type CatalogQueryable = Pick<pg.Client, 'query'>;

export interface PgCatalogOptions {
  /** Cached answers older than this are re-read, so DDL from other sessions is seen. */
  maxAgeMs?: number;
  now?: () => number;
}

const RELATION_SQL = `
  SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS relkind,
         coalesce(json_agg(json_build_object('name', a.attname, 'attnum', a.attnum, 'typeOid', a.atttypid::int8)
                  ORDER BY a.attnum) FILTER (WHERE a.attnum > 0), '[]') AS columns
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE %WHERE%
   GROUP BY c.oid, n.nspname, c.relname, c.relkind
   ORDER BY n.nspname`;

/** Past this many cached answers the cache starts over, so clients naming endless relations cannot grow it. */
const MAX_CACHE_ENTRIES = 5000;

/**
 * A {@link MaskingCatalog} over a node-postgres client. Answers are cached per key until
 * `invalidate()` or until they are older than `maxAgeMs` (default 5 s).
 */
export function createPgCatalog(client: CatalogQueryable, options: PgCatalogOptions = {}): MaskingCatalog {
  const maxAge = options.maxAgeMs ?? 5000;
  const now = options.now ?? Date.now;
  let cache = new Map<string, { at: number; value: Promise<unknown> }>();

  function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && now() - hit.at <= maxAge) return hit.value as Promise<T>;
    if (cache.size >= MAX_CACHE_ENTRIES) cache = new Map();
    const value = load();
    const entry = { at: now(), value };
    cache.set(key, entry);
    value.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
    return value;
  }

  async function relations(where: string, values: unknown[]): Promise<CatalogRelation[]> {
    const res = await client.query(RELATION_SQL.replace('%WHERE%', where), values);
    return res.rows.map(toRelation);
  }

  return {
    relationsNamed: (name) =>
      cached(`rn:${name}`, () => relations(`c.relname = $1 AND c.relkind IN ('r','p','v','m','f')`, [name])),
    relation: (schema, name) =>
      cached(
        `r:${schema}.${name}`,
        async () => (await relations(`n.nspname = $1 AND c.relname = $2`, [schema, name]))[0] ?? null,
      ),
    relationByOid: (oid) => cached(`o:${oid}`, async () => (await relations(`c.oid = $1::oid`, [oid]))[0] ?? null),
    viewDefinition: (oid) =>
      cached(`v:${oid}`, async () => {
        const res = await client.query(
          `SELECT pg_get_viewdef($1::oid, false) AS def WHERE EXISTS (SELECT 1 FROM pg_class WHERE oid = $1::oid)`,
          [oid],
        );
        const def = res.rows[0]?.def;
        return typeof def === 'string' ? def : null;
      }),
    functionSchemas: (name) =>
      cached(`f:${name}`, async () => {
        const res = await client.query(
          `SELECT DISTINCT n.nspname AS schema FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1`,
          [name],
        );
        return res.rows.map((r: { schema: string }) => r.schema);
      }),
    operatorSchemas: (symbol) =>
      cached(`op:${symbol}`, async () => {
        const res = await client.query(
          `SELECT DISTINCT n.nspname AS schema FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE o.oprname = $1`,
          [symbol],
        );
        return res.rows.map((r: { schema: string }) => r.schema);
      }),
    typeSchemas: (name) =>
      cached(`t:${name}`, async () => {
        const res = await client.query(
          `SELECT DISTINCT n.nspname AS schema FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = $1`,
          [name],
        );
        return res.rows.map((r: { schema: string }) => r.schema);
      }),
    invalidate() {
      cache = new Map();
    },
  };
}

interface RelationRow {
  oid: string | number;
  schema: string;
  name: string;
  relkind: string;
  columns: Array<{ name: string; attnum: number; typeOid: string | number }>;
}

function toRelation(row: RelationRow): CatalogRelation {
  return {
    oid: Number(row.oid),
    schema: row.schema,
    name: row.name,
    kind: RELATION_KINDS[row.relkind as keyof typeof RELATION_KINDS] ?? 'other',
    columns: row.columns.map((c) => ({ name: c.name, attnum: Number(c.attnum), typeOid: Number(c.typeOid) })),
  };
}

/** `schema.table.column` of a RowDescription origin (table OID, attnum), for audit and messages; null when unknown. */
export async function describeColumn(
  catalog: MaskingCatalog,
  tableOid: number,
  attnum: number,
): Promise<string | null> {
  const rel = await catalog.relationByOid(tableOid);
  const column = rel?.columns.find((c) => c.attnum === attnum);
  return rel && column ? `${rel.schema}.${rel.name}.${column.name}` : null;
}
