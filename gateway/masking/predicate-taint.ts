import { RAW, fromMaskedData, strictest, type ColumnMask } from './column-mask.ts';
import {
  MaskingDenial,
  listOf,
  nodeOf,
  stringOf,
  type AnalysisContext,
  type QueryShape,
  type Scope,
} from './analysis-types.ts';
import { exprTaint, findColumn, type ExprTaint } from './expression-taint.ts';

/**
 * Where a masked value would decide which rows come back, how many, or in what order. The values
 * can be masked, but the rows cannot: `WHERE ascii(substr(api_token, g, 1)) = a` rebuilds a token
 * from rows alone. So a masked column (or anything the analysis cannot trace) in one of these
 * places refuses the statement.
 */
export type RowClause =
  | 'WHERE'
  | 'JOIN ON'
  | 'JOIN USING'
  | 'HAVING'
  | 'GROUP BY'
  | 'ORDER BY'
  | 'DISTINCT'
  | 'LIMIT'
  | 'OFFSET'
  | 'WINDOW'
  | 'a set operation'
  | 'a set-returning function'
  | 'a MERGE condition'
  | 'a recursive query';

function describeMask(mask: ColumnMask): string {
  if (mask.kind === 'mask-column') return `masked column ${mask.column}`;
  if (mask.kind === 'mask-whole') return mask.reason;
  return 'an unmasked value';
}

/** The refusal for a masked value in a row clause; names the policy setting where it would help. */
export function influenceDenial(mask: ColumnMask, clause: RowClause, ctx: AnalysisContext, confirmable: boolean) {
  const setting =
    confirmable && ctx.config.predicates === 'deny'
      ? '; to compare it with a value you already hold (col = $1, col IN (...), col IS NULL) the masking policy must set predicates: confirm'
      : '';
  return new MaskingDenial(
    `${describeMask(mask)} is used in ${clause}, where it would decide which rows come back; masked columns may only be selected (and come back masked)${setting}`,
  );
}

/**
 * Refuses a statement whose row clause depends on masked data. With `confirmable` (WHERE, JOIN ON)
 * and `predicates: confirm`, conditions that only test a value the client holds are allowed.
 */
export async function refuseInfluence(
  node: unknown,
  scope: Scope,
  ctx: AnalysisContext,
  clause: RowClause,
  confirmable = false,
): Promise<void> {
  if (node === null || node === undefined) return;
  const taint =
    confirmable && ctx.config.predicates === 'confirm'
      ? await withoutConfirmations(node, scope, ctx)
      : await exprTaint(node, scope, ctx);
  if (fromMaskedData(taint.mask)) throw influenceDenial(taint.mask, clause, ctx, confirmable);
}

/** Refuses DISTINCT, UNION/INTERSECT/EXCEPT and the like over output columns of which one is masked: they compare them. */
export function refuseShapeInfluence(shape: QueryShape, clause: RowClause, ctx: AnalysisContext): void {
  const masks = shape.columns ? [...shape.columns.map((c) => c.mask), shape.fallback] : [shape.fallback];
  const mask = masks.find(fromMaskedData);
  if (mask) throw influenceDenial(mask, clause, ctx, false);
}

async function withoutConfirmations(node: unknown, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const n = nodeOf(node);
  if (n?.[0] === 'BoolExpr') {
    const parts = await Promise.all(listOf(n[1].args).map((a) => withoutConfirmations(a, scope, ctx)));
    return { mask: strictest(parts.map((p) => p.mask)), text: false };
  }
  // Evaluated first in any case: an operator that is not built in is refused before masked data reaches it.
  const taint = await exprTaint(node, scope, ctx);
  return (await isConfirmation(node, scope, ctx)) ? { mask: RAW, text: false } : taint;
}

/** A value the client itself supplied: a constant or parameter (possibly cast), or a list of them. */
function heldValue(node: unknown): boolean {
  const n = nodeOf(node);
  if (!n) return Array.isArray(node) && node.every(heldValue);
  const [kind, body] = n;
  if (kind === 'A_Const' || kind === 'ParamRef') return true;
  if (kind === 'TypeCast') return heldValue(body.arg);
  if (kind === 'A_ArrayExpr') return listOf(body.elements).every(heldValue);
  if (kind === 'List') return listOf(body.items).every(heldValue);
  return false;
}

async function maskedColumn(node: unknown, scope: Scope, ctx: AnalysisContext): Promise<boolean> {
  const n = nodeOf(node);
  if (n?.[0] !== 'ColumnRef' || listOf(n[1].fields).some((f) => nodeOf(f)?.[0] === 'A_Star')) return false;
  return (await exprTaint(node, scope, ctx)).mask.kind === 'mask-column';
}

/** `col = held`, `held = col`, `col IN (held, ...)`, `col = ANY(held)`, `col IS [NOT] NULL`, with col a masked column. */
async function isConfirmation(node: unknown, scope: Scope, ctx: AnalysisContext): Promise<boolean> {
  const n = nodeOf(node);
  if (!n) return false;
  const [kind, body] = n;
  if (kind === 'NullTest') return maskedColumn(body.arg, scope, ctx);
  if (kind !== 'A_Expr') return false;
  const op = listOf(body.name).map(stringOf);
  if (op.length !== 1 || op[0] !== '=') return false;
  if (body.kind === 'AEXPR_OP')
    return (
      ((await maskedColumn(body.lexpr, scope, ctx)) && heldValue(body.rexpr)) ||
      ((await maskedColumn(body.rexpr, scope, ctx)) && heldValue(body.lexpr))
    );
  if (body.kind === 'AEXPR_IN' || body.kind === 'AEXPR_OP_ANY')
    return (await maskedColumn(body.lexpr, scope, ctx)) && heldValue(body.rexpr);
  return false;
}

/**
 * Taint of an ORDER BY / DISTINCT ON / GROUP BY item, resolved as PostgreSQL does: a bare name in
 * ORDER BY is an output column first, in GROUP BY an input column first; an integer is the
 * output column at that position.
 */
export async function sortItemTaint(
  item: unknown,
  output: QueryShape,
  scope: Scope,
  ctx: AnalysisContext,
  rule: 'order' | 'group',
): Promise<ExprTaint> {
  const n = nodeOf(item);
  const node = n?.[0] === 'SortBy' ? n[1].node : item;
  if (!output.columns) {
    const input = await exprTaint(node, scope, ctx);
    return { mask: strictest([output.fallback, input.mask]), text: false };
  }
  const inner = nodeOf(node);
  const byPosition = inner?.[0] === 'A_Const' && inner[1].ival !== undefined;
  if (byPosition) {
    const position = Number((inner[1].ival as { ival?: number }).ival ?? 0);
    return outputColumn(output, (c, i) => i === position - 1) ?? exprTaint(node, scope, ctx);
  }
  const fields = inner?.[0] === 'ColumnRef' ? listOf(inner[1].fields) : [];
  const name = fields.length === 1 ? stringOf(fields[0]) : null;
  if (name === null) return exprTaint(node, scope, ctx);
  const byName = (c: { name: string | null }) => c.name === name;
  if (rule === 'order') return outputColumn(output, byName) ?? exprTaint(node, scope, ctx);
  if (findColumn(fields, scope) === null) return outputColumn(output, byName) ?? exprTaint(node, scope, ctx);
  return exprTaint(node, scope, ctx);
}

function outputColumn(
  output: QueryShape,
  match: (column: { name: string | null }, index: number) => boolean,
): ExprTaint | undefined {
  const hits = (output.columns ?? []).filter(match);
  if (hits.length === 0) return undefined;
  return { mask: strictest(hits.map((h) => h.mask)), text: false };
}
