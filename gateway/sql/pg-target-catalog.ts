import {
  FIRST_NORMAL_OBJECT_ID,
  type AttachedCode,
  type FunctionIndex,
  type TargetCatalog,
  type TargetCatalogOptions,
  type TargetFunction,
  type TargetCast,
  type TargetOperator,
  type TargetQueryable,
  type TargetRelation,
} from './target-catalog.ts';

const FUNCTIONS_SQL = `
  SELECT p.oid::int8 AS oid, n.nspname AS schema, p.proname AS name, l.lanname AS language, p.prokind AS kind,
         p.pronargs AS nargs, p.pronargdefaults AS ndefaults, p.provariadic <> 0 AS variadic,
         CASE WHEN l.lanname IN ('internal', 'c') THEN p.prosrc END AS symbol, p.probin AS library,
         coalesce(p.proconfig, '{}') AS config,
         EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') AS extension,
         coalesce((SELECT array_remove(ARRAY[a.aggtransfn::oid, a.aggfinalfn::oid, a.aggcombinefn::oid,
                          a.aggserialfn::oid, a.aggdeserialfn::oid, a.aggmtransfn::oid, a.aggminvtransfn::oid,
                          a.aggmfinalfn::oid]::int8[], 0)
                     FROM pg_aggregate a WHERE a.aggfnoid = p.oid), '{}') AS support
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
   WHERE (p.oid < ${FIRST_NORMAL_OBJECT_ID}) = $1`;

const USER_OPERATORS_SQL = `
  SELECT n.nspname AS schema, o.oprname AS name, o.oprcode::int8 AS "functionOid"
    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
   WHERE o.oid >= ${FIRST_NORMAL_OBJECT_ID} AND o.oprcode <> 0`;

const USER_CASTS_SQL = `
  SELECT t.typname AS target, c.castfunc::int8 AS "functionOid", c.castcontext AS context
    FROM pg_cast c JOIN pg_type t ON t.oid = c.casttarget
   WHERE c.oid >= ${FIRST_NORMAL_OBJECT_ID} AND c.castfunc <> 0`;

const SETTINGS_SQL = `SELECT name, context FROM pg_settings`;
const TYPES_SQL = `SELECT typname AS name, oid < ${FIRST_NORMAL_OBJECT_ID} AS builtin FROM pg_type`;

const RELATIONS_SQL = `
  SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relname = ANY($1::text[])`;

const ATTACHED_SQL = `
  SELECT c.oid::int8 AS oid,
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view,
         coalesce((SELECT json_agg(json_build_object('name', t.tgname, 'functionOid', t.tgfoid::int8))
                     FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '[]') AS triggers,
         coalesce((SELECT json_agg(pg_get_ruledef(r.oid))
                     FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN'), '[]') AS rules,
         coalesce((SELECT json_agg(e) FROM (
             SELECT pg_get_expr(d.adbin, d.adrelid) AS e FROM pg_attrdef d WHERE d.adrelid = c.oid
             UNION ALL SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c'
             UNION ALL SELECT pg_get_constraintdef(k.oid) FROM pg_attribute a JOIN pg_constraint k ON k.contypid = a.atttypid
                        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             UNION ALL SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
                        WHERE i.indrelid = c.oid AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)) x
           WHERE e IS NOT NULL), '[]') AS expressions,
         coalesce((SELECT json_agg(e) FROM (
             SELECT pg_get_expr(p.polqual, p.polrelid) AS e FROM pg_policy p WHERE p.polrelid = c.oid
             UNION ALL SELECT pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p WHERE p.polrelid = c.oid) x
           WHERE e IS NOT NULL), '[]') AS policies,
         coalesce((SELECT json_agg(i.inhrelid::int8) FROM pg_inherits i WHERE i.inhparent = c.oid), '[]') AS children
    FROM pg_class c WHERE c.oid = ANY($1::oid[])`;

/** Past this many cached relation answers the caches start over. */
const MAX_ENTRIES = 5000;

interface Generation {
  id: number;
  startedAt: number;
  user?: Promise<TargetFunction[]> | TargetFunction[];
  index?: FunctionIndex | Promise<FunctionIndex>;
  relations: Map<string, TargetRelation[]>;
  attached: Map<number, AttachedCode>;
  sources: Map<number, string | null>;
}

/**
 * The target catalog over the metadata connection. Built-in functions (OID below
 * FirstNormalObjectId, which no session can add to) are read once; everything else per generation.
 */
export function createPgTargetCatalog(client: TargetQueryable, options: TargetCatalogOptions = {}): TargetCatalog {
  const maxAge = options.maxAgeMs ?? 5000;
  const now = options.now ?? Date.now;
  const builtins = once(() => loadBuiltins(client));
  let current = fresh(0, now());
  const generation = (): Generation => {
    if (now() - current.startedAt > maxAge) current = fresh(current.id + 1, now());
    return current;
  };
  return {
    functions: () => functionsOf(client, generation(), builtins),
    relations: (names) => relationsOf(client, generation(), names),
    attached: (oids) => attachedOf(client, generation(), oids),
    functionSource: (oid) => sourceOf(client, generation(), oid),
    generation: () => generation().id,
    invalidate() {
      current = fresh(current.id + 1, now());
    },
  };
}

function fresh(id: number, startedAt: number): Generation {
  return { id, startedAt, relations: new Map(), attached: new Map(), sources: new Map() };
}

/** A loader run once; a failed load is retried on the next call. */
function once<T>(load: () => Promise<T>): () => Promise<T> | T {
  let value: { done: true; value: T } | { done: false; pending: Promise<T> } | undefined;
  return () => {
    if (value?.done) return value.value;
    if (value) return value.pending;
    const pending = load().then(
      (v) => {
        value = { done: true, value: v };
        return v;
      },
      (error: unknown) => {
        value = undefined;
        throw error;
      },
    );
    value = { done: false, pending };
    return pending;
  };
}

async function loadBuiltins(client: TargetQueryable): Promise<Builtins> {
  const [fns, settings, types] = await Promise.all([
    client.query(FUNCTIONS_SQL, [true]),
    client.query(SETTINGS_SQL),
    client.query(TYPES_SQL),
  ]);
  return {
    functions: (fns.rows as FunctionRow[]).map(toFunction),
    settings: new Map(
      (settings.rows as { name: string; context: string }[]).map((r) => [r.name.toLowerCase(), r.context]),
    ),
    types: types.rows as { name: string; builtin: boolean }[],
  };
}

function functionsOf(
  client: TargetQueryable,
  gen: Generation,
  builtins: () => Promise<Builtins> | Builtins,
): FunctionIndex | Promise<FunctionIndex> {
  if (gen.index) return gen.index;
  const loading = (async () => {
    const [base, user, operators, casts] = await Promise.all([
      builtins(),
      client.query(FUNCTIONS_SQL, [false]),
      client.query(USER_OPERATORS_SQL),
      client.query(USER_CASTS_SQL),
    ]);
    const userOperators = (operators.rows as TargetOperator[]).map((o) => ({
      ...o,
      functionOid: Number(o.functionOid),
    }));
    const userCasts = (casts.rows as TargetCast[]).map((c) => ({ ...c, functionOid: Number(c.functionOid) }));
    const index = buildIndex(base, (user.rows as FunctionRow[]).map(toFunction), userOperators, userCasts);
    gen.index = index;
    return index;
  })();
  gen.index = loading;
  loading.catch(() => {
    if (gen.index === loading) gen.index = undefined;
  });
  return loading;
}

function relationsOf(
  client: TargetQueryable,
  gen: Generation,
  names: readonly string[],
): Map<string, TargetRelation[]> | Promise<Map<string, TargetRelation[]>> {
  const missing = [...new Set(names.map(baseName))].filter((n) => !gen.relations.has(n));
  const answer = () => new Map(names.map((name) => [name, candidates(gen.relations.get(baseName(name)) ?? [], name)]));
  if (missing.length === 0) return answer();
  return client.query(RELATIONS_SQL, [missing]).then((res) => {
    if (gen.relations.size > MAX_ENTRIES) gen.relations.clear();
    for (const n of missing) gen.relations.set(n, []);
    for (const row of res.rows as TargetRelation[]) gen.relations.get(row.name)?.push({ ...row, oid: Number(row.oid) });
    return answer();
  });
}

function attachedOf(
  client: TargetQueryable,
  gen: Generation,
  oids: readonly number[],
): Map<number, AttachedCode> | Promise<Map<number, AttachedCode>> {
  const missing = [...new Set(oids)].filter((o) => !gen.attached.has(o));
  const answer = () => new Map(oids.map((oid) => [oid, gen.attached.get(oid) ?? NOTHING_ATTACHED]));
  if (missing.length === 0) return answer();
  return client.query(ATTACHED_SQL, [missing]).then((res) => {
    if (gen.attached.size > MAX_ENTRIES) gen.attached.clear();
    for (const o of missing) gen.attached.set(o, NOTHING_ATTACHED);
    for (const row of res.rows as AttachedRow[]) gen.attached.set(Number(row.oid), toAttached(row));
    return answer();
  });
}

const SOURCE_SQL = `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p WHERE p.oid = $1::oid AND p.prokind IN ('f', 'p')`;

function sourceOf(client: TargetQueryable, gen: Generation, oid: number): string | null | Promise<string | null> {
  if (gen.sources.has(oid)) return gen.sources.get(oid)!;
  return client.query(SOURCE_SQL, [oid]).then((res) => {
    const def = (res.rows as { def?: unknown }[])[0]?.def;
    const text = typeof def === 'string' ? def : null;
    if (gen.sources.size > MAX_ENTRIES) gen.sources.clear();
    gen.sources.set(oid, text);
    return text;
  });
}

interface Builtins {
  functions: TargetFunction[];
  settings: Map<string, string>;
  types: { name: string; builtin: boolean }[];
}

const NOTHING_ATTACHED: AttachedCode = Object.freeze({
  view: null,
  triggers: [],
  rules: [],
  expressions: [],
  policies: [],
  children: [],
});

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** A qualified name keeps the candidates of its schema; an unqualified one keeps them all (the client controls search_path). */
function candidates(all: readonly TargetRelation[], name: string): TargetRelation[] {
  const parts = name.split('.');
  if (parts.length < 2) return [...all];
  const schema = parts[parts.length - 2];
  return all.filter((r) => r.schema === schema);
}

function buildIndex(
  base: Builtins,
  user: TargetFunction[],
  operators: readonly TargetOperator[],
  casts: readonly TargetCast[],
): FunctionIndex {
  const byName = new Map<string, TargetFunction[]>();
  const byOid = new Map<number, TargetFunction>();
  for (const fn of [...base.functions, ...user]) {
    byOid.set(fn.oid, fn);
    const list = byName.get(fn.name) ?? [];
    list.push(fn);
    byName.set(fn.name, list);
  }
  const builtinTypes = new Set(base.types.filter((t) => t.builtin).map((t) => t.name));
  const userTypes = new Set(base.types.filter((t) => !t.builtin).map((t) => t.name));
  return {
    named: (name) => byName.get(name) ?? [],
    operatorsNamed: (symbol) => operators.filter((o) => o.name === symbol),
    userCasts: () => casts,
    byOid: (oid) => byOid.get(oid),
    settingContext: (name) => base.settings.get(name.toLowerCase()),
    builtinType: (name) => builtinTypes.has(name),
    userType: (name) => userTypes.has(name),
  };
}

interface FunctionRow {
  oid: string | number;
  schema: string;
  name: string;
  language: string;
  kind: string;
  nargs: number;
  ndefaults: number;
  variadic: boolean;
  symbol: string | null;
  library: string | null;
  config: string[];
  extension: boolean;
  support: (string | number)[];
}

function toFunction(row: FunctionRow): TargetFunction {
  const oid = Number(row.oid);
  return {
    oid,
    schema: row.schema,
    name: row.name,
    language: row.language,
    kind: row.kind,
    nargs: Number(row.nargs),
    ndefaults: Number(row.ndefaults),
    variadic: row.variadic,
    builtin: oid < FIRST_NORMAL_OBJECT_ID,
    extension: row.extension,
    symbol: row.symbol,
    library: row.library,
    settings: row.config.map((c) => c.slice(0, Math.max(0, c.indexOf('='))).toLowerCase()),
    support: row.support.map(Number),
  };
}

interface AttachedRow {
  oid: string | number;
  view: string | null;
  triggers: { name: string; functionOid: string | number }[];
  rules: string[];
  expressions: string[];
  policies: string[];
  children: (string | number)[];
}

function toAttached(row: AttachedRow): AttachedCode {
  return {
    view: row.view,
    triggers: row.triggers.map((t) => ({ name: t.name, functionOid: Number(t.functionOid) })),
    rules: row.rules,
    expressions: row.expressions,
    policies: row.policies,
    children: row.children.map(Number),
  };
}
