import type pg from 'pg';
import type { SqlParser } from '../sql/sql-parser.ts';

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
  /** Every function of this name (any schema, any argument types), by OID: the identity a name cannot fake. */
  functions(name: string): Promise<readonly CatalogObject[]>;
  /** Every operator with this symbol. */
  operators(symbol: string): Promise<readonly CatalogObject[]>;
  /** Every type (or domain) of this name: a domain's CHECK can run any function. */
  types(name: string): Promise<readonly CatalogObject[]>;
  /**
   * Whether someone added casts or conversions between built-in types: they run a function the
   * statement never names (`api_token::int`, an implicit cast inside an operator).
   */
  userCasts(): Promise<boolean>;
  /**
   * A materialized view filled through the named view (directly or through other views), or null.
   * Its rows carry the provenance of the definition they were filled with.
   */
  matviewOver(schema: string | null, name: string): Promise<string | null>;
  /**
   * Changes whenever what the catalog said may have changed: after `invalidate()`, and every
   * `maxAgeMs` (DDL elsewhere). A plan made in an older generation is made again before use.
   */
  generation(): number;
  /** Drops every cached answer; call after DDL. */
  invalidate(): void;
  /** The grammar of the target's major version, for the definitions it prints (absent: the newest). */
  parser?(): SqlParser;
}

/** A function, operator or type as the catalog has it: built in exactly when its OID is below 16384 (FirstNormalObjectId). */
export interface CatalogObject {
  oid: number;
  schema: string;
}

/** Whether a catalog object was created by initdb: in pg_catalog, with an OID no later object can have. */
export function isBuiltinObject(object: CatalogObject): boolean {
  return object.oid < 16384 && object.schema === 'pg_catalog';
}

const OBJECTS_SQL = {
  f: `SELECT p.oid::int8 AS oid, n.nspname AS schema FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1`,
  op: `SELECT o.oid::int8 AS oid, n.nspname AS schema FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE o.oprname = $1`,
  t: `SELECT t.oid::int8 AS oid, n.nspname AS schema FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = $1`,
} as const;

const MATVIEW_OVER_SQL = `
  WITH RECURSIVE over(oid) AS (
      SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relname = $2 AND ($1::text IS NULL OR n.nspname = $1) AND c.relkind = 'v'
    UNION
      SELECT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN over ON d.refobjid = over.oid
       WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND r.ev_class <> over.oid)
  SELECT n.nspname || '.' || c.relname AS name
    FROM over JOIN pg_class c ON c.oid = over.oid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'm' LIMIT 1`;

const USER_CASTS_SQL = `
  SELECT EXISTS (SELECT 1 FROM pg_cast c WHERE c.oid >= 16384 AND c.castsource < 16384 AND c.casttarget < 16384)
      OR EXISTS (SELECT 1 FROM pg_conversion v WHERE v.oid >= 16384) AS found`;

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
  let generation = 0;
  let generationAt = now();

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

  async function objects(sql: string, name: string): Promise<CatalogObject[]> {
    const res = await client.query(sql, [name]);
    return res.rows.map((r: { oid: string | number; schema: string }) => ({ oid: Number(r.oid), schema: r.schema }));
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
    viewDefinition: (oid) => cached(`v:${oid}`, () => loadViewDefinition(client, oid)),
    functions: (name) => cached(`f:${name}`, () => objects(OBJECTS_SQL.f, name)),
    operators: (symbol) => cached(`op:${symbol}`, () => objects(OBJECTS_SQL.op, symbol)),
    types: (name) => cached(`t:${name}`, () => objects(OBJECTS_SQL.t, name)),
    userCasts: () => cached('casts', async () => (await client.query(USER_CASTS_SQL)).rows[0]?.found === true),
    matviewOver: (schema, name) => cached(`mv:${schema}.${name}`, () => loadMatviewOver(client, schema, name)),
    generation() {
      if (now() - generationAt > maxAge) {
        generation++;
        generationAt = now();
      }
      return generation;
    },
    invalidate() {
      cache = new Map();
      generation++;
      generationAt = now();
    },
  };
}

/** The stored definition of view `oid`, or null when no such relation exists. */
async function loadViewDefinition(client: CatalogQueryable, oid: number): Promise<string | null> {
  const res = await client.query(
    `SELECT pg_get_viewdef($1::oid, false) AS def WHERE EXISTS (SELECT 1 FROM pg_class WHERE oid = $1::oid)`,
    [oid],
  );
  const def = res.rows[0]?.def;
  return typeof def === 'string' ? def : null;
}

/** The name of a materialized view reading `schema.name`, or null when none does. */
async function loadMatviewOver(client: CatalogQueryable, schema: string | null, name: string): Promise<string | null> {
  const res = await client.query(MATVIEW_OVER_SQL, [schema, name]);
  return typeof res.rows[0]?.name === 'string' ? (res.rows[0].name as string) : null;
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
