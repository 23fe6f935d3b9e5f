import {
  RAW,
  derived,
  fromMaskedData,
  maskContent,
  maskWhole,
  strictest,
  stricter,
  type ColumnMask,
} from './column-mask.ts';
import { MaskingDenial, listOf, nodeOf, stringOf, type AnalysisContext, type Scope } from './analysis-types.ts';
import {
  BUILTIN_OPERATORS,
  CONTENT_FREE_FUNCTIONS,
  NON_TEXT_TYPE_NAMES,
  PURE_FUNCTIONS,
  SET_RETURNING_FUNCTIONS,
  TEXT_TYPE_NAMES,
  TRANSPARENT_FUNCTIONS,
  TRANSPARENT_OPERATORS,
  TRANSPARENT_WITH_ONE_ARGUMENT,
} from './pure-functions.ts';
import { isPureBuiltinOid } from './builtin-identity.ts';
import {
  NEVER_FAILING_FUNCTIONS,
  castNeverFails,
  failingOperands,
  refuseDecidingUse,
  refuseFailingUse,
} from './failing-expressions.ts';
import { isBuiltinObject } from './catalog.ts';
import { columnRef, findColumn } from './column-resolution.ts';
import { informationCall } from './information-functions.ts';
import { analyzeQueryNode } from './query-shape.ts';

export { columnRef, findColumn } from './column-resolution.ts';

/** Taint of one expression: its mask, and whether it carries unmasked free text verbatim. */
export interface ExprTaint {
  mask: ColumnMask;
  text: boolean;
}

const CLEAN: ExprTaint = { mask: RAW, text: false };

/** Nodes that only combine their children: result = strictest child, text passes through. */
const TRANSPARENT_NODES: ReadonlySet<string> = new Set([
  'CoalesceExpr',
  'MinMaxExpr',
  'RowExpr',
  'A_ArrayExpr',
  'A_Indirection',
  'CollateClause',
  'List',
  'JsonObjectConstructor',
  'JsonArrayConstructor',
  'JsonValueExpr',
  'JsonKeyValue',
  'JsonObjectAgg',
  'JsonArrayAgg',
  'JsonAggConstructor',
  'ResTarget',
  'A_Indices',
]);

/** Nodes that compute a new value from their children (booleans, tests, XML, JSON queries). */
const COMPUTING_NODES: ReadonlySet<string> = new Set([
  'BoolExpr',
  'NullTest',
  'BooleanTest',
  'XmlExpr',
  'XmlSerialize',
  'JsonFuncExpr',
  'JsonIsPredicate',
  'JsonParseExpr',
  'JsonScalarExpr',
  'JsonSerializeExpr',
  'JsonBehavior',
  'JsonOutput',
  'JsonFormat',
  'JsonReturning',
  'JsonArgument',
  'JsonTablePathSpec',
]);

const CONSTANT_NODES: ReadonlySet<string> = new Set([
  'A_Const',
  'ParamRef',
  'SQLValueFunction',
  'SetToDefault',
  'GroupingFunc',
  'A_Star',
  'String',
  'Integer',
  'Float',
  'Boolean',
  'BitString',
  'TypeName',
  'CurrentOfExpr',
]);

function combine(parts: ExprTaint[], what: string, transparent: boolean): ExprTaint {
  const mask = derived(strictest(parts.map((p) => p.mask)), what);
  const text = parts.some((p) => p.text);
  if (text && !transparent)
    return { mask: stricter(mask, maskContent(`${what} could hide detected content`)), text: false };
  return { mask, text: transparent && text };
}

/**
 * Computes the taint of an expression in `scope`. A bare column reference keeps its column's
 * own mask; every composite expression over a masked column is masked whole.
 */
export async function exprTaint(node: unknown, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  if (node === null || node === undefined) return CLEAN;
  if (Array.isArray(node)) return combine(await Promise.all(node.map((n) => exprTaint(n, scope, ctx))), 'list', true);
  const n = nodeOf(node);
  if (!n) {
    if (typeof node === 'object' && Object.keys(node).length === 0) return CLEAN;
    return unknownNode('malformed expression', ctx);
  }
  const [kind, body] = n;
  if (CONSTANT_NODES.has(kind)) return CLEAN;
  switch (kind) {
    case 'ColumnRef':
      return (await functionNotation(listOf(body.fields), scope, ctx)) ?? columnRef(listOf(body.fields), scope, ctx);
    case 'TypeCast':
      return typeCast(body, scope, ctx);
    case 'FuncCall':
      return funcCall(body, scope, ctx);
    case 'A_Expr':
      return aExpr(body, scope, ctx);
    case 'CaseExpr':
      return caseExpr(body, scope, ctx);
    case 'CaseWhen':
      return combine([await exprTaint(body.expr, scope, ctx), await exprTaint(body.result, scope, ctx)], 'CASE', true);
    case 'SubLink':
      return subLink(body, scope, ctx);
    case 'SortBy':
      return exprTaint(body.node, scope, ctx);
    case 'WindowDef':
      return windowTaint(body, scope, ctx);
  }
  if (TRANSPARENT_NODES.has(kind) || COMPUTING_NODES.has(kind)) {
    const parts = await Promise.all(
      Object.values(body)
        .filter((v) => typeof v === 'object')
        .map((v) => exprTaint(v, scope, ctx)),
    );
    if (kind === 'BoolExpr' || kind === 'CoalesceExpr') refuseDecidingUse(kind, parts, body.args);
    return combine(parts, kind, TRANSPARENT_NODES.has(kind));
  }
  return unknownNode(`unsupported expression ${kind}`, ctx);
}

/** A window's partitions and order decide the value of the function over it (row_number() OVER (ORDER BY ssn)). */
async function windowTaint(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const parts = [await exprTaint(body.partitionClause, scope, ctx), await exprTaint(body.orderClause, scope, ctx)];
  return { mask: strictest(parts.map((p) => p.mask)), text: false };
}

/**
 * `t.f` where `t` is a FROM item without a column `f`: PostgreSQL calls `f(t)` with the whole row
 * if such a function exists. Null when that cannot happen.
 */
async function functionNotation(fields: unknown[], scope: Scope, ctx: AnalysisContext): Promise<ExprTaint | null> {
  const names = fields.map(stringOf);
  if (names.length < 2 || names.some((n) => n === null) || findColumn(fields, scope) !== null) return null;
  const row = findColumn([fields[fields.length - 2]], scope);
  const name = names[names.length - 1]!;
  if (row === null || (await ctx.catalog.functions(name)).length === 0) return null;
  ctx.facts.opaque = true;
  ctx.facts.touchesMasked = true;
  refuseOpaqueUse([row], `${name}()`);
  return { mask: maskWhole(`${names.join('.')} may call ${name}() with the whole row`), text: false };
}

function unknownNode(reason: string, ctx: AnalysisContext): ExprTaint {
  ctx.facts.touchesMasked = true;
  ctx.facts.opaque = true;
  return { mask: maskWhole(reason), text: false };
}

function typeNameOf(typeName: unknown): string {
  const names = listOf((typeName as Record<string, unknown> | undefined)?.names).map(stringOf);
  return (names[names.length - 1] ?? '').toLowerCase();
}

async function typeCast(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const inner = await exprTaint(body.arg, scope, ctx);
  const tn = body.typeName as Record<string, unknown> | undefined;
  const type = typeNameOf(tn);
  const isArray = listOf(tn?.arrayBounds).length > 0;
  const mask = derived(inner.mask, `cast to ${type}`);
  if (inner.mask.kind !== 'raw') await refuseUnknownType(tn, type, ctx);
  if (!castNeverFails(tn)) refuseFailingUse(`cast to ${type}`, [inner]);
  if (!inner.text) return { mask, text: false };
  if (!isArray && TEXT_TYPE_NAMES.has(type)) return { mask, text: true };
  if (!isArray && NON_TEXT_TYPE_NAMES.has(type)) return { mask, text: false };
  return { mask: stricter(mask, maskContent(`cast of free text to ${type} could hide detected content`)), text: false };
}

/** A cast of masked data to a user-defined type or domain could hand it to the domain's CHECK functions. */
async function refuseUnknownType(
  typeName: Record<string, unknown> | undefined,
  type: string,
  ctx: AnalysisContext,
): Promise<void> {
  const names = listOf(typeName?.names).map(stringOf);
  const schema = names.length >= 2 ? names[names.length - 2] : null;
  const found = (await ctx.catalog.types(type)).filter((t) => !schema || t.schema === schema);
  if (found.length === 0 || !found.every(isBuiltinObject)) {
    throw new MaskingDenial(
      `casting masked data to ${type}, a type that is not built in, could hand it to functions masking cannot follow`,
    );
  }
}

async function funcCall(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const nameParts = listOf(body.funcname).map(stringOf);
  const name = (nameParts[nameParts.length - 1] ?? '').toLowerCase();
  const schema = nameParts.length >= 2 ? nameParts[nameParts.length - 2] : null;
  const args = await Promise.all(listOf(body.args).map((a) => exprTaint(a, scope, ctx)));
  // ORDER BY, FILTER and OVER decide an aggregate's or window function's value as much as its arguments do.
  const filter = await exprTaint(body.agg_filter, scope, ctx);
  const control = [
    await exprTaint(body.agg_order, scope, ctx),
    filter,
    // FuncCall.over is a WindowDef's body, not a WindowDef node.
    body.over ? await windowTaint(body.over as Record<string, unknown>, scope, ctx) : CLEAN,
  ].map((t) => ({
    // Free text that only orders or filters puts none of itself into the value: only masked data taints it.
    mask: fromMaskedData(t.mask) ? derived(t.mask, `${name}() ORDER BY/FILTER/OVER`) : RAW,
    text: false,
  }));
  const label = `${name}()`;
  const information = await informationCall(name, schema, args, ctx);
  if (information) return information;
  if (!(await isPureFunction(name, schema, ctx))) {
    ctx.facts.opaque = true;
    ctx.facts.touchesMasked = true;
    refuseOpaqueUse([...args, ...control], label);
    return { mask: maskWhole(`${label} is not a known-pure built-in function`), text: false };
  }
  if (!NEVER_FAILING_FUNCTIONS.has(name)) refuseFailingUse(label, args);
  refuseDecidingUse(`${label} FILTER`, [filter], body.args);
  if (SET_RETURNING_FUNCTIONS.has(name)) refuseRowCount(args, label);
  const controlled = strictest(control.map((c) => c.mask));
  if (body.agg_star || CONTENT_FREE_FUNCTIONS.has(name)) return { mask: controlled, text: false };
  const transparent = TRANSPARENT_FUNCTIONS.has(name) || (TRANSPARENT_WITH_ONE_ARGUMENT.has(name) && args.length === 1);
  const value = combine(args, label, transparent);
  return controlled.kind === 'raw' ? value : { mask: stricter(value.mask, controlled), text: false };
}

/** A set-returning function returns as many rows as its arguments say: masked arguments would show in the row count. */
export function refuseRowCount(args: ExprTaint[], label: string): void {
  const masked = args.find((a) => fromMaskedData(a.mask));
  if (masked)
    throw new MaskingDenial(
      `${label} returns as many rows as masked data says (${masked.mask.kind === 'mask-column' ? masked.mask.column : 'a masked value'}), which would reveal it; masked columns may only be selected`,
    );
}

/**
 * A function the gateway cannot see into may store or send what it is given (set_config,
 * pg_notify, a user-defined function writing a table): handing it a masked value is refused.
 */
function refuseOpaqueUse(args: ExprTaint[], label: string): void {
  const masked = args.find((a) => a.mask.kind !== 'raw');
  if (masked) {
    throw new MaskingDenial(
      `${label} would receive masked data and could copy it where masking cannot follow; pass it unmasked columns only`,
    );
  }
}

/**
 * Pure when every function the name may resolve to (the client controls search_path) is one of
 * the known-pure built-ins by OID: a function moved into pg_catalog and renamed md5 is not.
 */
async function isPureFunction(name: string, schema: string | null | undefined, ctx: AnalysisContext): Promise<boolean> {
  if (!PURE_FUNCTIONS.has(name)) return false;
  if (schema !== null && schema !== undefined && schema !== 'pg_catalog') return false;
  const candidates = await ctx.catalog.functions(name);
  return candidates.length > 0 && candidates.every((fn) => isBuiltinObject(fn) && isPureBuiltinOid(name, fn.oid));
}

async function aExpr(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const kind = String(body.kind ?? '');
  const nameParts = listOf(body.name).map(stringOf);
  const symbol = nameParts[nameParts.length - 1] ?? '';
  const schema = nameParts.length >= 2 ? nameParts[nameParts.length - 2] : null;
  const parts = [await exprTaint(body.lexpr, scope, ctx), await exprTaint(body.rexpr, scope, ctx)];
  if (!(await isBuiltinOperator(symbol, schema, ctx))) {
    ctx.facts.opaque = true;
    ctx.facts.touchesMasked = true;
    refuseOpaqueUse(parts, `operator ${symbol}`);
    return { mask: maskWhole(`operator ${symbol} is not a known built-in operator`), text: false };
  }
  if (kind === 'AEXPR_IN') refuseDecidingUse('IN', [parts[0]!], body.rexpr);
  else refuseFailingUse(`operator ${symbol || kind}`, failingOperands(kind, symbol, parts));
  const transparent = kind === 'AEXPR_NULLIF' || (kind === 'AEXPR_OP' && TRANSPARENT_OPERATORS.has(symbol));
  return combine(parts, `operator ${symbol || kind}`, transparent);
}

async function isBuiltinOperator(
  symbol: string,
  schema: string | null | undefined,
  ctx: AnalysisContext,
): Promise<boolean> {
  if (!BUILTIN_OPERATORS.has(symbol) && !/^[a-z_ ]+$/i.test(symbol)) return false;
  if (schema !== null && schema !== undefined && schema !== 'pg_catalog') return false;
  if (/^[a-z_ ]+$/i.test(symbol)) return true;
  const candidates = await ctx.catalog.operators(symbol);
  return candidates.every(isBuiltinObject);
}

async function caseExpr(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const whens = listOf(body.args).map((w) => nodeOf(w)?.[1] ?? {});
  const deciding = [await exprTaint(body.arg, scope, ctx)];
  for (const w of whens) deciding.push(await exprTaint(w.expr, scope, ctx));
  refuseDecidingUse('CASE', deciding, [body.defresult, ...whens.map((w) => w.result)]);
  const parts = [await exprTaint(body.arg, scope, ctx), await exprTaint(body.defresult, scope, ctx)];
  for (const w of listOf(body.args)) parts.push(await exprTaint(w, scope, ctx));
  return combine(parts, 'CASE', true);
}

async function subLink(body: Record<string, unknown>, scope: Scope, ctx: AnalysisContext): Promise<ExprTaint> {
  const test = await exprTaint(body.testexpr, scope, ctx);
  const shape = await analyzeQueryNode(body.subselect, scope, ctx);
  const masks = shape.columns ? shape.columns.map((c) => c.mask) : [shape.fallback];
  const text = shape.columns ? shape.columns.some((c) => c.text) : false;
  const kind = String(body.subLinkType ?? '');
  const inner: ExprTaint = { mask: strictest(masks), text };
  const transparent = kind === 'EXPR_SUBLINK' || kind === 'ARRAY_SUBLINK';
  return combine([test, inner], 'subquery', transparent);
}
