import { sqlParser } from '../sql/sql-parser.ts';
import { RAW, maskWhole, strictest, stricter, type ColumnMask } from './column-mask.ts';
import {
  MaskingDenial,
  listOf,
  nodeOf,
  stringOf,
  type AnalysisContext,
  type FromItem,
  type QueryShape,
  type Scope,
  type TaintedColumn,
} from './analysis-types.ts';
import type { CatalogRelation } from './catalog.ts';
import { exprTaint } from './expression-taint.ts';
import { SETTINGS_TAINTED } from './information-functions.ts';
import { DATA_BEARING_CATALOG_RELATIONS, NON_TEXT_TYPE_OIDS } from './pure-functions.ts';
import { refuseInfluence, refuseShapeInfluence } from './predicate-taint.ts';
import { analyzeQueryNode, mergeShapes, renamed, shapeMask, unknownShape } from './query-shape.ts';

/** Set-returning built-ins whose rows are numbers or timestamps (resolved as built-ins by OID when called). */
const NUMBER_SERIES: ReadonlySet<string> = new Set(['generate_series', 'generate_subscripts']);

/** Views nested deeper than this are masked whole rather than followed. */
export const MAX_VIEW_DEPTH = 8;

function aliasOf(alias: unknown): { name: string | null; columns: (string | null)[] } {
  const a = alias as Record<string, unknown> | undefined;
  return { name: typeof a?.aliasname === 'string' ? a.aliasname : null, columns: listOf(a?.colnames).map(stringOf) };
}

function single(name: string | null, shape: QueryShape): FromItem {
  return { entries: [{ name, columns: shape.columns, fallback: shape.fallback }], star: shape };
}

/** Analyses one FROM item into the names it makes visible and what `*` expands to. */
export async function fromItem(node: unknown, scope: Scope, ctx: AnalysisContext): Promise<FromItem> {
  const n = nodeOf(node);
  if (!n) return single(null, unknownShape('unreadable FROM item'));
  const [kind, body] = n;
  switch (kind) {
    case 'RangeVar':
      return relationItem(body, scope, ctx);
    case 'RangeSubselect': {
      const alias = aliasOf(body.alias);
      // Without LATERAL a subquery does not see the FROM items beside it: a name there is an outer query's.
      const visible = body.lateral === true ? scope : { entries: [], ctes: scope.ctes, parent: scope.parent };
      return single(alias.name, renamed(await analyzeQueryNode(body.subquery, visible, ctx), alias.columns));
    }
    case 'RangeFunction':
      return functionItem(body, scope, ctx);
    case 'JoinExpr':
      return joinItem(body, scope, ctx);
    case 'RangeTableSample':
      return fromItem(body.relation, scope, ctx);
  }
  const t = await exprTaint(
    Object.values(body).filter((v) => typeof v === 'object'),
    scope,
    ctx,
  );
  const mask = t.mask.kind === 'raw' && !t.text ? RAW : maskWhole(`${kind} output could not be analysed`);
  ctx.facts.touchesMasked ||= mask.kind !== 'raw';
  return single(aliasOf(body.alias).name, { columns: null, fallback: mask });
}

async function functionItem(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<FromItem> {
  const masks: ColumnMask[] = [];
  let firstName: string | null = null;
  let freeText = false;
  for (const f of listOf(body.functions)) {
    const [call] = listOf(f);
    const name = stringOf(listOf(nodeOf(call)?.[1].funcname).at(-1));
    firstName ??= name;
    // generate_series and generate_subscripts return numbers or timestamps: no free text.
    if (!NUMBER_SERIES.has(String(name).toLowerCase())) freeText = true;
    const t = await exprTaint(call, scope, ctx);
    masks.push(t.mask);
  }
  const alias = aliasOf(body.alias);
  const item = single(alias.name ?? firstName, { columns: null, fallback: strictest(masks) });
  item.entries[0]!.freeText = freeText;
  return item;
}

async function joinItem(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<FromItem> {
  const left = await fromItem(body.larg, scope, ctx);
  // The right side of a join sees the left one (if it is LATERAL; a function in FROM always is).
  const right = await fromItem(
    body.rarg,
    { entries: [...scope.entries, ...left.entries], ctes: scope.ctes, parent: scope.parent },
    ctx,
  );
  const inner: Scope = { entries: [...left.entries, ...right.entries], ctes: new Map(), parent: scope };
  await refuseInfluence(body.quals, inner, ctx, 'JOIN ON', true);
  let using = listOf(body.usingClause)
    .map(stringOf)
    .filter((x): x is string => x !== null);
  let star: QueryShape;
  const l = left.star.columns;
  const r = right.star.columns;
  if (!l || !r) {
    star = { columns: null, fallback: stricter(shapeMask(left.star), shapeMask(right.star)) };
    if (using.length > 0 || body.isNatural) refuseShapeInfluence(star, 'JOIN USING', ctx);
  } else {
    if (body.isNatural)
      using = l.map((c) => c.name).filter((x): x is string => x !== null && r.some((rc) => rc.name === x));
    const merged: TaintedColumn[] = using.map((name) => {
      const parts = [...l, ...r].filter((c) => c.name === name);
      return {
        name,
        mask: strictest(
          parts.map((p) => p.mask),
          maskWhole(`join column ${name} not found`),
        ),
        text: parts.some((p) => p.text),
      };
    });
    const rest = (cols: TaintedColumn[]) => cols.filter((c) => c.name === null || !using.includes(c.name));
    star = { columns: [...merged, ...rest(l), ...rest(r)], fallback: RAW };
    refuseShapeInfluence({ columns: merged, fallback: RAW }, 'JOIN USING', ctx);
  }
  const alias = aliasOf(body.alias);
  if (alias.name) return single(alias.name, renamed(star, alias.columns));
  const entries = [...left.entries, ...right.entries];
  const usingAlias = aliasOf(body.join_using_alias).name;
  if (usingAlias && star.columns)
    entries.push({ name: usingAlias, columns: star.columns.slice(0, using.length), fallback: RAW });
  return { entries, star };
}

/** A table, view or CTE named in FROM (or the target of a write). */
export async function relationItem(
  body: Record<string, unknown>,
  scope: Scope,
  ctx: AnalysisContext,
  role: 'read' | 'write-target' = 'read',
): Promise<FromItem> {
  const alias = aliasOf(body.alias);
  const relname = String(body.relname ?? '');
  const schema = typeof body.schemaname === 'string' ? body.schemaname : null;
  if (!schema) {
    for (let s: Scope | null = scope; s; s = s.parent) {
      const cte = s.ctes.get(relname);
      if (cte) return single(alias.name ?? relname, renamed(cte, alias.columns));
    }
  }
  const candidates = schema
    ? [await ctx.catalog.relation(schema, relname)].filter((r): r is CatalogRelation => r !== null)
    : await ctx.catalog.relationsNamed(relname);
  // PostgreSQL fails such a statement before it reads anything; the gateway answers as it would.
  const written = `${schema ? `${schema}.` : ''}${relname}`;
  // A write target may have been created earlier in the same query; its RETURNING is masked whole.
  if (candidates.length === 0 && role === 'write-target')
    return single(alias.name ?? relname, unknownShape(`relation ${written} is not in the catalog`));
  if (candidates.length === 0) throw new MaskingDenial(`relation "${written}" does not exist`, '42P01');
  let shape: QueryShape | null = null;
  for (const rel of candidates) {
    const next = await relationShape(rel, ctx);
    shape = shape ? mergeShapes(shape, next) : next;
  }
  return single(alias.name ?? relname, renamed(shape!, alias.columns));
}

/** A relation initdb created in pg_catalog or information_schema (no session can add one below FirstNormalObjectId). */
function isSystemRelation(rel: CatalogRelation): boolean {
  return rel.oid < 16384 && (rel.schema === 'pg_catalog' || rel.schema === 'information_schema');
}

/** Shape of a catalog relation: column rules for tables, the analysed definition for views. */
export async function relationShape(rel: CatalogRelation, ctx: AnalysisContext): Promise<QueryShape> {
  const whole = (reason: string): TaintedColumn[] =>
    rel.columns.map((c) => ({ name: c.name, mask: maskWhole(reason), text: false, typeOid: c.typeOid }));
  let columns: TaintedColumn[];
  if (rel.schema === 'pg_catalog' && DATA_BEARING_CATALOG_RELATIONS.has(rel.name)) {
    columns = whole(`${rel.schema}.${rel.name} holds copies of table data`);
  } else if (rel.schema === 'pg_catalog' && rel.name === 'pg_settings' && ctx.settingsTainted) {
    columns = whole(SETTINGS_TAINTED);
  } else if (isSystemRelation(rel)) {
    // Built-in catalogs and views describe the server, not table data; their definitions cannot change.
    columns = rel.columns.map((c) => ({
      name: c.name,
      mask: RAW,
      text: !NON_TEXT_TYPE_OIDS.has(c.typeOid),
      typeOid: c.typeOid,
    }));
  } else if (rel.kind === 'table') {
    columns = rel.columns.map((c) => {
      const rule = ctx.config.columnRule(rel.schema, rel.name, c.name);
      const mask: ColumnMask = rule
        ? { kind: 'mask-column', keepLast: rule.keepLast, column: `${rel.schema}.${rel.name}.${c.name}` }
        : RAW;
      return { name: c.name, mask, text: !rule && !NON_TEXT_TYPE_OIDS.has(c.typeOid), typeOid: c.typeOid };
    });
  } else if (rel.kind === 'view' || rel.kind === 'matview') {
    columns = await viewColumns(rel, ctx, whole);
  } else {
    columns = whole(`${rel.kind} relation ${rel.schema}.${rel.name} has unknown provenance`);
  }
  rel.columns.forEach((c, i) => ctx.facts.origins.set(`${rel.oid}:${c.attnum}`, columns[i]!.mask));
  ctx.facts.relations.add(rel.oid);
  return { columns, fallback: RAW };
}

async function viewColumns(
  rel: CatalogRelation,
  ctx: AnalysisContext,
  whole: (reason: string) => TaintedColumn[],
): Promise<TaintedColumn[]> {
  const label = `${rel.schema}.${rel.name}`;
  if (ctx.depth >= MAX_VIEW_DEPTH) return whole(`view ${label} is nested too deeply to follow`);
  const def = await ctx.catalog.viewDefinition(rel.oid);
  if (def === null) return whole(`definition of view ${label} could not be read`);
  let stmt: unknown;
  try {
    // pg_get_viewdef prints the definition in the target's own syntax.
    stmt = (ctx.catalog.parser?.() ?? sqlParser()).parse(def).stmts?.[0]?.stmt;
  } catch {
    return whole(`definition of view ${label} could not be parsed`);
  }
  ctx.depth++;
  try {
    const shape = await analyzeQueryNode(stmt, null, ctx);
    if (!shape.columns || shape.columns.length !== rel.columns.length)
      return whole(`columns of view ${label} could not be traced`);
    return shape.columns.map((c, i) => ({ ...c, name: rel.columns[i]!.name, typeOid: rel.columns[i]!.typeOid }));
  } finally {
    ctx.depth--;
  }
}
