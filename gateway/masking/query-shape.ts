import { RAW, maskWhole, strictest, stricter, type ColumnMask } from './column-mask.ts';
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
import { columnRef, exprTaint } from './expression-taint.ts';
import { fromItem, relationItem } from './from-clause.ts';

const MAX_RECURSIVE_PASSES = 4;

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

async function withCtes(body: Record<string, unknown>, parent: Scope | null, ctx: AnalysisContext): Promise<Scope> {
  const scope: Scope = { entries: [], ctes: new Map(), parent };
  const withClause = body.withClause as Record<string, unknown> | undefined;
  if (!withClause) return scope;
  for (const cteNode of listOf(withClause.ctes)) {
    const cte = nodeOf(cteNode)?.[1];
    if (!cte) continue;
    const name = String(cte.ctename);
    const colnames = listOf(cte.aliascolnames).map(stringOf);
    let shape: QueryShape;
    if (withClause.recursive) {
      shape = { columns: null, fallback: RAW };
      const query = nodeOf(cte.ctequery);
      const larg = query?.[0] === 'SelectStmt' ? (query[1].larg as Record<string, unknown> | undefined) : undefined;
      if (larg) shape = await analyzeSelect(larg, scope, ctx);
      let stable = false;
      for (let pass = 0; pass < MAX_RECURSIVE_PASSES && !stable; pass++) {
        scope.ctes.set(name, renamed(shape, colnames));
        const next = mergeShapes(shape, await analyzeQueryNode(cte.ctequery, scope, ctx));
        stable = JSON.stringify(next) === JSON.stringify(shape);
        shape = next;
      }
      if (!stable) shape = { columns: null, fallback: maskWhole(`recursive CTE ${name} did not settle`) };
    } else {
      shape = await analyzeQueryNode(cte.ctequery, scope, ctx);
    }
    scope.ctes.set(name, renamed(shape, colnames));
  }
  return scope;
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
    for (const clause of ['whereClause', 'havingClause', 'groupClause', 'windowClause', 'distinctClause'] as const) {
      await exprTaint(body[clause], scope, ctx);
    }
  }
  await exprTaint(body.sortClause, scope, ctx);
  await exprTaint(body.limitCount, scope, ctx);
  await exprTaint(body.limitOffset, scope, ctx);
  if (body.intoClause) refuseCopy(shape, 'SELECT INTO');
  return shape;
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
  const target = await relationItem(body.relation as Record<string, unknown>, scope, ctx);
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
  await exprTaint(body.whereClause, scope, ctx);
  await exprTaint(body.joinCondition, scope, ctx);
  const writes: unknown[] = [...listOf(body.targetList)];
  const conflict = body.onConflictClause as Record<string, unknown> | undefined;
  if (conflict) writes.push(...listOf(conflict.targetList));
  for (const clause of listOf(body.mergeWhenClauses)) {
    const c = nodeOf(clause)?.[1];
    if (!c) continue;
    writes.push(...listOf(c.targetList), ...listOf(c.values));
    await exprTaint(c.condition, scope, ctx);
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
