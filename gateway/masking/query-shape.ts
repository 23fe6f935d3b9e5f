import { RAW, fromMaskedData, maskWhole, strictest, stricter, type ColumnMask } from './column-mask.ts';
import {
  MaskingDenial,
  listOf,
  nodeOf,
  stringOf,
  type AnalysisContext,
  type FromItem,
  type QueryShape,
  type RangeEntry,
  type Scope,
  type TaintedColumn,
} from './analysis-types.ts';
import { columnRef, exprTaint, type ExprTaint } from './expression-taint.ts';
import {
  influenceDenial,
  refuseInfluence,
  refuseShapeInfluence,
  sortItemTaint,
  type RowClause,
} from './predicate-taint.ts';
import { withCtes } from './cte-scope.ts';
import { fromItem, relationItem } from './from-clause.ts';

export function unknownShape(reason: string): QueryShape {
  return { columns: null, fallback: maskWhole(reason) };
}

/** Strictest mask of every column a shape can produce. */
export function shapeMask(shape: QueryShape): ColumnMask {
  return shape.columns
    ? strictest(
        shape.columns.map((c) => c.mask),
        shape.fallback.kind === 'raw' ? RAW : shape.fallback,
      )
    : shape.fallback;
}

/**
 * Output shape of any row-returning query node: SELECT (with set operations, VALUES, CTEs) or
 * a data-modifying statement's RETURNING list. Writes that would copy masked values elsewhere
 * throw {@link MaskingDenial}.
 */
export async function analyzeQueryNode(node: unknown, parent: Scope | null, ctx: AnalysisContext): Promise<QueryShape> {
  const n = nodeOf(node);
  if (!n) return unknownShape('query could not be analysed');
  const [kind, body] = n;
  switch (kind) {
    case 'SelectStmt':
      return analyzeSelect(body, parent, ctx);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return analyzeWrite(kind, body, parent, ctx);
  }
  ctx.facts.touchesMasked = true;
  return unknownShape(`${kind} could not be analysed`);
}

export function renamed(shape: QueryShape, names: (string | null)[]): QueryShape {
  if (!shape.columns || names.length === 0) return shape;
  return {
    ...shape,
    columns: shape.columns.map((c, i) => (i < names.length ? { ...c, name: names[i] ?? c.name } : c)),
  };
}

/** Column-wise strictest of two shapes (set operations, recursive CTE passes). */
export function mergeShapes(a: QueryShape, b: QueryShape): QueryShape {
  if (a.columns && b.columns && a.columns.length === b.columns.length) {
    return {
      columns: a.columns.map((c, i) => ({
        name: c.name,
        mask: stricter(c.mask, b.columns![i]!.mask),
        text: c.text || b.columns![i]!.text,
      })),
      fallback: stricter(a.fallback, b.fallback),
    };
  }
  return { columns: null, fallback: stricter(shapeMask(a), shapeMask(b)) };
}

export async function analyzeSelect(
  body: Record<string, unknown>,
  parent: Scope | null,
  ctx: AnalysisContext,
): Promise<QueryShape> {
  const scope = await withCtes(body, parent, ctx);
  const op = String(body.op ?? 'SETOP_NONE');
  let shape: QueryShape;
  if (op !== 'SETOP_NONE') {
    const left = await analyzeSelect(body.larg as Record<string, unknown>, scope, ctx);
    const right = await analyzeSelect(body.rarg as Record<string, unknown>, scope, ctx);
    shape = mergeShapes(left, right);
    // UNION without ALL, INTERSECT and EXCEPT compare rows: which survive would reveal masked values.
    if (!(op === 'SETOP_UNION' && body.all === true)) refuseShapeInfluence(shape, 'a set operation', ctx);
  } else if (body.valuesLists) {
    shape = await valuesShape(listOf(body.valuesLists), scope, ctx);
  } else {
    const from: FromItem[] = [];
    for (const item of listOf(body.fromClause)) {
      const f = await fromItem(item, scope, ctx);
      scope.entries.push(...f.entries);
      from.push(f);
    }
    shape = await targetList(listOf(body.targetList), scope, from, ctx);
    await rowClauses(body, shape, scope, ctx);
  }
  for (const item of listOf(body.sortClause))
    await refuseTaint(await sortItemTaint(item, shape, scope, ctx, 'order'), 'ORDER BY', ctx);
  await refuseInfluence(body.limitCount, scope, ctx, 'LIMIT');
  await refuseInfluence(body.limitOffset, scope, ctx, 'OFFSET');
  if (body.intoClause) refuseCopy(shape, 'SELECT INTO');
  return shape;
}

/** WHERE, GROUP BY, HAVING, WINDOW and DISTINCT of one SELECT: none may depend on masked data. */
async function rowClauses(body: Record<string, unknown>, shape: QueryShape, scope: Scope, ctx: AnalysisContext) {
  await refuseInfluence(body.whereClause, scope, ctx, 'WHERE', true);
  for (const item of listOf(body.groupClause))
    await refuseTaint(await sortItemTaint(item, shape, scope, ctx, 'group'), 'GROUP BY', ctx);
  await refuseInfluence(body.havingClause, scope, ctx, 'HAVING');
  await refuseInfluence(body.windowClause, scope, ctx, 'WINDOW');
  const distinct = listOf(body.distinctClause);
  if (distinct.length > 0 && distinct.every((d) => nodeOf(d) === null)) refuseShapeInfluence(shape, 'DISTINCT', ctx);
  for (const item of distinct.filter((d) => nodeOf(d) !== null))
    await refuseTaint(await sortItemTaint(item, shape, scope, ctx, 'order'), 'DISTINCT', ctx);
}

async function refuseTaint(taint: ExprTaint, clause: RowClause, ctx: AnalysisContext): Promise<void> {
  if (fromMaskedData(taint.mask)) throw influenceDenial(taint.mask, clause, ctx, false);
}

async function valuesShape(rows: unknown[], scope: Scope, ctx: AnalysisContext): Promise<QueryShape> {
  let shape: QueryShape | null = null;
  for (const row of rows) {
    const cols: TaintedColumn[] = [];
    for (const [i, value] of listOf(row).entries()) {
      const t = await exprTaint(value, scope, ctx);
      cols.push({ name: `column${i + 1}`, mask: t.mask, text: t.text });
    }
    const next: QueryShape = { columns: cols, fallback: RAW };
    shape = shape ? mergeShapes(shape, next) : next;
  }
  return shape ?? { columns: [], fallback: RAW };
}

/** Expands a SELECT or RETURNING list into output columns (`*` and `t.*` expand through the catalog). */
export async function targetList(
  items: unknown[],
  scope: Scope,
  from: FromItem[],
  ctx: AnalysisContext,
): Promise<QueryShape> {
  const columns: TaintedColumn[] = [];
  let unknownWidth: ColumnMask | null = null;
  for (const item of items) {
    const target = nodeOf(item)?.[1];
    if (!target) {
      unknownWidth = stricter(unknownWidth ?? RAW, maskWhole('unreadable target list'));
      continue;
    }
    const val = nodeOf(target.val);
    const fields = val?.[0] === 'ColumnRef' ? listOf(val[1].fields) : null;
    if (fields && nodeOf(fields[fields.length - 1])?.[0] === 'A_Star') {
      const expanded = expandStar(fields.slice(0, -1).map(stringOf), scope, from);
      if (expanded.columns) columns.push(...expanded.columns);
      else unknownWidth = stricter(unknownWidth ?? RAW, expanded.fallback);
      if (shapeMask(expanded).kind !== 'raw') ctx.facts.touchesMasked = true;
      continue;
    }
    const t = fields ? columnRef(fields, scope, ctx) : await exprTaint(target.val, scope, ctx);
    columns.push({
      name: typeof target.name === 'string' ? target.name : figureName(target.val),
      mask: t.mask,
      text: t.text,
    });
  }
  if (unknownWidth) return { columns: null, fallback: strictest([unknownWidth, ...columns.map((c) => c.mask)]) };
  return { columns, fallback: RAW };
}

function expandStar(qualifier: (string | null)[], scope: Scope, from: FromItem[]): QueryShape {
  if (qualifier.length === 0) {
    const cols: TaintedColumn[] = [];
    for (const item of from) {
      if (!item.star.columns) return { columns: null, fallback: strictest(from.map((f) => shapeMask(f.star))) };
      cols.push(...item.star.columns);
    }
    return { columns: cols, fallback: RAW };
  }
  const name = qualifier[qualifier.length - 1];
  for (let s: Scope | null = scope; s; s = s.parent) {
    const entry: RangeEntry | undefined = s.entries.find((e) => e.name === name);
    if (entry) return { columns: entry.columns, fallback: entry.fallback };
  }
  return unknownShape(`${qualifier.join('.')}.* could not be resolved`);
}

/** The column name PostgreSQL reports for an unaliased expression, where it is easy to know; null otherwise. */
function figureName(val: unknown): string | null {
  const n = nodeOf(val);
  if (!n) return null;
  if (n[0] === 'ColumnRef') return stringOf(listOf(n[1].fields).at(-1));
  if (n[0] === 'FuncCall') return stringOf(listOf(n[1].funcname).at(-1));
  return null;
}

/** Refuses statements that would store a masked value where masking can no longer follow it. */
export function refuseCopy(shape: QueryShape, what: string): void {
  const mask = shapeMask(shape);
  if (mask.kind !== 'raw') {
    throw new MaskingDenial(
      `${what} would copy masked data (${describe(mask)}) into a place masking cannot follow; select the data instead`,
    );
  }
}

export function describe(mask: ColumnMask): string {
  return mask.kind === 'mask-column' ? `column ${mask.column}` : mask.kind === 'mask-whole' ? mask.reason : 'unmasked';
}

async function analyzeWrite(
  kind: string,
  body: Record<string, unknown>,
  parent: Scope | null,
  ctx: AnalysisContext,
): Promise<QueryShape> {
  const scope = await withCtes(body, parent, ctx);
  const command = kind.replace('Stmt', '').toUpperCase();
  const target = await relationItem(body.relation as Record<string, unknown>, scope, ctx, 'write-target');
  if (shapeMask(target.star).kind !== 'raw') ctx.facts.touchesMasked = true;
  const from: FromItem[] = [target];
  if (kind === 'InsertStmt') {
    if (body.selectStmt) refuseCopy(await analyzeQueryNode(body.selectStmt, scope, ctx), command);
  }
  for (const item of [...listOf(body.fromClause), ...listOf(body.usingClause)]) {
    const f = await fromItem(item, scope, ctx);
    from.push(f);
  }
  if (kind === 'MergeStmt' && body.sourceRelation) from.push(await fromItem(body.sourceRelation, scope, ctx));
  for (const f of from) scope.entries.push(...f.entries);
  await refuseInfluence(body.whereClause, scope, ctx, 'WHERE', true);
  await refuseInfluence(body.joinCondition, scope, ctx, 'JOIN ON', true);
  const writes: unknown[] = [...listOf(body.targetList)];
  const conflict = body.onConflictClause as Record<string, unknown> | undefined;
  if (conflict) writes.push(...listOf(conflict.targetList));
  if (conflict) await refuseInfluence(conflict.whereClause, scope, ctx, 'WHERE');
  for (const clause of listOf(body.mergeWhenClauses)) {
    const c = nodeOf(clause)?.[1];
    if (!c) continue;
    writes.push(...listOf(c.targetList), ...listOf(c.values));
    await refuseInfluence(c.condition, scope, ctx, 'a MERGE condition');
  }
  for (const w of writes) {
    const t = await exprTaint(w, scope, ctx);
    if (t.mask.kind !== 'raw')
      throw new MaskingDenial(
        `${command} would copy masked data (${describe(t.mask)}) into a place masking cannot follow`,
      );
  }
  const returning = body.returningClause as Record<string, unknown> | undefined;
  const returningList = listOf(returning?.exprs ?? body.returningList);
  if (returningList.length === 0) return { columns: [], fallback: RAW };
  return targetList(returningList, scope, from, ctx);
}
