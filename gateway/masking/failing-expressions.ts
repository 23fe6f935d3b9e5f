import { MaskingDenial, listOf, nodeOf, stringOf } from './analysis-types.ts';
import { fromMaskedData, type ColumnMask } from './column-mask.ts';

/**
 * Built-ins that return a value for every input of their types: handed masked data, they cannot
 * turn it into an error. Everything else (division, casts, substr/repeat/chr with a computed
 * argument, format, regexes, JSON constructors with a NULL key, ...) can, and an error (or its
 * absence) is one bit of the masked value per query, whatever the message says.
 */
export const NEVER_FAILING_FUNCTIONS: ReadonlySet<string> = new Set([
  'lower',
  'upper',
  'initcap',
  'length',
  'char_length',
  'character_length',
  'octet_length',
  'bit_length',
  'md5',
  'reverse',
  'btrim',
  'ltrim',
  'rtrim',
  'concat',
  'concat_ws',
  'quote_literal',
  'quote_nullable',
  'quote_ident',
  'replace',
  'translate',
  'left',
  'right',
  'strpos',
  'starts_with',
  'ascii',
  'to_json',
  'to_jsonb',
  'row_to_json',
  'array_to_json',
  'json_build_array',
  'jsonb_build_array',
  'greatest',
  'least',
  'count',
  'min',
  'max',
  'array_agg',
  'string_agg',
  'json_agg',
  'jsonb_agg',
  'bool_and',
  'bool_or',
  'every',
]);

/** Operators that cannot fail on any value of their operands' types. */
const NEVER_FAILING_OPERATORS: ReadonlySet<string> = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '||']);
const NEVER_FAILING_EXPRESSION_KINDS: ReadonlySet<string> = new Set([
  'AEXPR_DISTINCT',
  'AEXPR_NOT_DISTINCT',
  'AEXPR_NULLIF',
]);
/** Casts that accept every value (to text-like types, which truncate rather than fail). */
const NEVER_FAILING_CASTS: ReadonlySet<string> = new Set([
  'text',
  'varchar',
  'bpchar',
  'char',
  'character',
  'character varying',
  'name',
]);
/** Nodes that only combine their children: they fail when a child can. */
const COMBINING_NODES: ReadonlySet<string> = new Set([
  'CaseExpr',
  'CaseWhen',
  'CoalesceExpr',
  'BoolExpr',
  'NullTest',
  'BooleanTest',
  'RowExpr',
  'A_ArrayExpr',
  'MinMaxExpr',
  'List',
  'ResTarget',
  'CollateClause',
  'SortBy',
]);
const CONSTANT_NODES: ReadonlySet<string> = new Set(['A_Const', 'ParamRef', 'ColumnRef', 'SQLValueFunction', 'A_Star']);

function nameOf(list: unknown): string {
  return (stringOf(listOf(list).at(-1)) ?? '').toLowerCase();
}

/** Whether a built-in operator expression (A_Expr) returns a value for every input. */
export function operatorNeverFails(kind: string, symbol: string): boolean {
  return NEVER_FAILING_EXPRESSION_KINDS.has(kind) || (kind === 'AEXPR_OP' && NEVER_FAILING_OPERATORS.has(symbol));
}

/** Pattern matches fail only on a bad pattern: the text matched (left) can be anything. */
const PATTERN_OPERATORS: ReadonlySet<string> = new Set(['~~', '~~*', '!~~', '!~~*', '~', '~*', '!~', '!~*']);

/** The operands of a built-in operator expression that it could fail on. */
export function failingOperands<T>(kind: string, symbol: string, operands: readonly T[]): readonly T[] {
  if (operatorNeverFails(kind, symbol)) return [];
  const pattern =
    ['AEXPR_LIKE', 'AEXPR_ILIKE'].includes(kind) || (kind === 'AEXPR_OP' && PATTERN_OPERATORS.has(symbol));
  return pattern ? operands.slice(1) : operands;
}

/** Whether a cast to this type (as written) accepts every value. */
export function castNeverFails(typeName: Record<string, unknown> | undefined): boolean {
  return listOf(typeName?.arrayBounds).length === 0 && NEVER_FAILING_CASTS.has(nameOf(typeName?.names));
}

/**
 * Whether evaluating an expression could raise an error for some data (conservative: anything
 * not known to be total may). A cast of a constant fails or not when the statement is planned,
 * whatever the data.
 */
export function mayFail(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some(mayFail);
  const n = nodeOf(node);
  if (!n) return Object.keys(node).length > 0;
  const [kind, body] = n;
  if (CONSTANT_NODES.has(kind)) return false;
  switch (kind) {
    case 'FuncCall':
      return !NEVER_FAILING_FUNCTIONS.has(nameOf(body.funcname)) || mayFail([body.args, body.agg_filter]);
    case 'A_Expr':
      return !operatorNeverFails(String(body.kind), nameOf(body.name)) || mayFail([body.lexpr, body.rexpr]);
    case 'TypeCast':
      if (nodeOf(body.arg)?.[0] === 'A_Const') return false;
      return !castNeverFails(body.typeName as Record<string, unknown> | undefined) || mayFail(body.arg);
  }
  if (COMBINING_NODES.has(kind)) return mayFail(Object.values(body).filter((v) => typeof v === 'object'));
  return true;
}

/** Refuses handing masked data to something that can fail on it (its error would answer a question about the value). */
export function refuseFailingUse(what: string, inputs: readonly { mask: ColumnMask }[]): void {
  if (!inputs.some((i) => fromMaskedData(i.mask))) return;
  throw new MaskingDenial(
    `${what} could fail on masked data, and whether it fails would reveal the value; masked columns may only be selected, or passed through functions that cannot fail (lower, length, md5, ||, ...)`,
  );
}

/**
 * Refuses masked data deciding whether other parts of an expression run (CASE, COALESCE, AND/OR,
 * IN, FILTER) when one of those parts can fail: the error would tell which way it was decided.
 */
export function refuseDecidingUse(what: string, deciding: readonly { mask: ColumnMask }[], decided: unknown): void {
  if (!deciding.some((d) => fromMaskedData(d.mask)) || !mayFail(decided)) return;
  throw new MaskingDenial(
    `masked data would decide whether parts of ${what} run, and one of them could fail, which would reveal the value; keep expressions that can fail (division, casts, ...) out of it`,
  );
}
