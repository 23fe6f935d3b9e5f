import { isDangerousFunctionName, isDangerousSetConfig } from './dangerous-functions.ts';
import { recordOperators } from './operator-calls.ts';
import { sensitiveSetting } from './statement-classes.ts';

type Body = Record<string, unknown>;

/** Facts gathered by one walk over a statement's parse tree; turned into a StatementAnalysis by the caller. */
export interface Facts {
  tablesRead: Set<string>;
  tablesWritten: Set<string>;
  functions: Set<string>;
  /** Operators as written (`+`, `ops.+`), including those implied by BETWEEN, LIKE, CASE x WHEN, USING. */
  operators: Set<string>;
  /** Target type names of casts written (`::int` is int4), which a user-defined cast may turn into a call. */
  casts: Set<string>;
  dangerousFunctions: Set<string>;
  cteNames: Set<string>;
  dataModifyingCte: boolean;
  lockingClause: boolean;
  unboundedWrite: boolean;
  selectInto: boolean;
  dropColumn: boolean;
  /** Settings the statement changes (SET, RESET, set_config with a constant name, function SET clauses), lower-case. */
  settings: Set<string>;
}

export function emptyFacts(): Facts {
  return {
    tablesRead: new Set(),
    tablesWritten: new Set(),
    functions: new Set(),
    operators: new Set(),
    casts: new Set(),
    dangerousFunctions: new Set(),
    cteNames: new Set(),
    dataModifyingCte: false,
    lockingClause: false,
    unboundedWrite: false,
    selectInto: false,
    dropColumn: false,
    settings: new Set(),
  };
}

/** Fields that name the relation a statement writes, creates or alters. */
const WRITE_KEYS = new Set(['relation', 'relations', 'rel', 'view', 'sequence', 'intoClause', 'into']);
/** Node types in which such a field is only read. */
const READ_PARENTS = new Set([
  'RangeTableSample',
  'VacuumRelation',
  'CopyStmt',
  'PublicationTable',
  'Constraint',
  'TableLikeClause',
]);
const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const TABLE_OBJECTS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_INDEX',
]);

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `schema.relation` as written; unqualified names stay unqualified. */
export function relationName(rangeVar: Body): string {
  return [rangeVar.catalogname, rangeVar.schemaname, rangeVar.relname]
    .filter((p) => typeof p === 'string' && p !== '')
    .join('.');
}

function stringsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item) => (isBody(item) && isBody(item.String) ? String(item.String.sval ?? '') : ''))
    .filter((s) => s !== '');
}

/** The value of a string constant (also through a cast), or undefined when it is not a constant. */
export function constantString(node: unknown): string | undefined {
  if (!isBody(node)) return undefined;
  if (isBody(node.A_Const) && isBody(node.A_Const.sval)) return String(node.A_Const.sval.sval ?? '');
  if (isBody(node.TypeCast)) return constantString(node.TypeCast.arg);
  return undefined;
}

/** Walks any parse (sub)tree, adding what it reads, writes and calls to `facts`. */
export function collectFacts(node: unknown, facts: Facts, parentType = '', written = false): void {
  if (Array.isArray(node)) {
    for (const item of node) collectFacts(item, facts, parentType, written);
    return;
  }
  if (!isBody(node)) return;
  if (typeof node.relname === 'string') {
    (written ? facts.tablesWritten : facts.tablesRead).add(relationName(node));
    return;
  }
  for (const [key, child] of Object.entries(node)) {
    if (key.charCodeAt(0) >= 65 && key.charCodeAt(0) <= 90 && isBody(child)) {
      visitNode(key, child, facts, written && (key === 'RangeVar' || key === 'List'));
    } else if (typeof child === 'object' && child !== null) {
      collectFacts(
        child,
        facts,
        parentType,
        written ||
          (WRITE_KEYS.has(key) && !READ_PARENTS.has(parentType)) ||
          (key === 'objects' && parentType === 'GrantStmt'),
      );
    }
  }
}

function visitNode(type: string, body: Body, facts: Facts, written: boolean): void {
  recordOperators(type, body, facts.operators);
  if (type === 'TypeCast' && isBody(body.typeName)) facts.casts.add(stringsOf(body.typeName.names).at(-1) ?? '');
  switch (type) {
    case 'FuncCall':
      recordFunction(body, facts);
      break;
    case 'DeleteStmt':
    case 'UpdateStmt':
      if (isUnboundedWhere(body.whereClause)) facts.unboundedWrite = true;
      break;
    case 'MergeStmt':
      if (isUnboundedMerge(body)) facts.unboundedWrite = true;
      break;
    case 'TruncateStmt':
      facts.unboundedWrite = true;
      break;
    case 'CommonTableExpr':
      if (typeof body.ctename === 'string') facts.cteNames.add(body.ctename);
      if (isBody(body.ctequery) && Object.keys(body.ctequery).some((k) => DML.has(k))) facts.dataModifyingCte = true;
      break;
    case 'SelectStmt':
      if (Array.isArray(body.lockingClause) && body.lockingClause.length > 0) facts.lockingClause = true;
      if (body.intoClause) facts.selectInto = true;
      break;
    case 'AlterTableCmd':
      if (body.subtype === 'AT_DropColumn') facts.dropColumn = true;
      break;
    case 'LockStmt':
      facts.lockingClause = true;
      break;
    case 'TransactionStmt':
      recordReadWrite(body.options, facts);
      break;
    case 'CopyStmt': {
      const { relation, ...rest } = body;
      if (isBody(relation)) collectFacts(relation, facts, type, body.is_from === true);
      collectFacts(rest, facts, type, false);
      return;
    }
    case 'DefineStmt':
    case 'CreateCastStmt':
    case 'CreateTransformStmt':
    case 'CreateConversionStmt':
    case 'CreateTrigStmt':
    case 'CreateEventTrigStmt':
      recordInstalledFunctions(type, body, facts);
      break;
    case 'VariableSetStmt':
      recordSetting(body, facts);
      break;
    case 'DropStmt':
      if (!TABLE_OBJECTS.has(String(body.removeType))) return;
      for (const object of Array.isArray(body.objects) ? body.objects : [])
        if (isBody(object) && isBody(object.List)) facts.tablesWritten.add(stringsOf(object.List.items).join('.'));
      return;
  }
  collectFacts(body, facts, type, written);
}

/** Also the SET clause of CREATE/ALTER FUNCTION: it applies while the body runs, and a body is lexed when it runs. */
function recordSetting(body: Body, facts: Facts): void {
  if (typeof body.name !== 'string') return;
  const name = body.name.toLowerCase();
  if (body.kind !== 'VAR_SET_MULTI') facts.settings.add(name);
  else recordReadWrite(body.args, facts);
  if (sensitiveSetting(name)) facts.dangerousFunctions.add(`set ${name}`);
}

/** SET TRANSACTION / SESSION CHARACTERISTICS / BEGIN ... READ WRITE: a change of transaction_read_only. */
function recordReadWrite(options: unknown, facts: Facts): void {
  for (const option of Array.isArray(options) ? options : []) {
    const def = isBody(option) && isBody(option.DefElem) ? option.DefElem : undefined;
    if (def?.defname !== 'transaction_read_only') continue;
    const arg = isBody(def.arg) && isBody(def.arg.A_Const) ? def.arg.A_Const : undefined;
    const on = isBody(arg?.ival) && arg.ival.ival === 1;
    if (!on) facts.settings.add('transaction_read_only');
  }
}

/** Functions a statement names for the server to call later, with statements that never name them. */
function recordInstalledFunctions(type: string, body: Body, facts: Facts): void {
  switch (type) {
    case 'DefineStmt':
      for (const option of Array.isArray(body.definition) ? body.definition : []) {
        const elem = isBody(option) && isBody(option.DefElem) ? option.DefElem : undefined;
        if (elem && FUNCTION_OPTIONS.has(String(elem.defname).toLowerCase()))
          recordFunctionName(namesOf(elem.arg), facts);
      }
      return;
    case 'CreateCastStmt':
      if (isBody(body.func)) recordFunctionName(stringsOf(body.func.objname), facts);
      return;
    case 'CreateTransformStmt':
      for (const func of [body.fromsql, body.tosql])
        if (isBody(func)) recordFunctionName(stringsOf(func.objname), facts);
      return;
    case 'CreateConversionStmt':
      recordFunctionName(stringsOf(body.func_name), facts);
      return;
    default:
      recordFunctionName(stringsOf(body.funcname), facts);
  }
}

/**
 * Options of CREATE OPERATOR / AGGREGATE / TYPE that name a function the object will call later,
 * when the statement using it shows only an operator, an aggregate or a type.
 */
const FUNCTION_OPTIONS = new Set([
  'function',
  'procedure',
  'sfunc',
  'finalfunc',
  'combinefunc',
  'serialfunc',
  'deserialfunc',
  'msfunc',
  'minvfunc',
  'mfinalfunc',
  'restrict',
  'join',
  'input',
  'output',
  'receive',
  'send',
  'typmod_in',
  'typmod_out',
  'analyze',
  'subscript',
  'canonical',
  'subtype_diff',
]);

/** The name a DefElem argument spells (TypeName or list of strings). */
function namesOf(arg: unknown): string[] {
  if (!isBody(arg)) return [];
  if (isBody(arg.TypeName)) return stringsOf(arg.TypeName.names);
  if (isBody(arg.List)) return stringsOf(arg.List.items);
  if (isBody(arg.String)) return [String(arg.String.sval ?? '')];
  return [];
}

function recordFunctionName(names: string[], facts: Facts): void {
  const parts = names.map((p) => p.toLowerCase());
  if (parts.length === 0) return;
  const name = parts.join('.');
  facts.functions.add(name);
  if (isDangerousFunctionName(parts[parts.length - 1]!)) facts.dangerousFunctions.add(name);
}

function recordFunction(body: Body, facts: Facts): void {
  const parts = stringsOf(body.funcname).map((p) => p.toLowerCase());
  if (parts.length === 0) return;
  const name = parts.join('.');
  const base = parts[parts.length - 1]!;
  recordFunctionName(parts, facts);
  if (base === 'set_config') {
    const args = Array.isArray(body.args) ? body.args : [];
    const setting = constantString(args[0]);
    if (setting !== undefined) facts.settings.add(setting.trim().toLowerCase());
    if (isDangerousSetConfig(setting)) facts.dangerousFunctions.add(name);
  }
}

function mentions(node: unknown, types: ReadonlySet<string>): boolean {
  if (Array.isArray(node)) return node.some((item) => mentions(item, types));
  if (!isBody(node)) return false;
  for (const [key, child] of Object.entries(node)) {
    if (types.has(key)) return true;
    if (typeof child === 'object' && child !== null && mentions(child, types)) return true;
  }
  return false;
}

function withoutLocations(node: unknown): string {
  return JSON.stringify(node, (key, value) => (key === 'location' ? undefined : value));
}

const ROW_REFERENCES = new Set(['ColumnRef', 'CurrentOfExpr']);

/**
 * A WHERE clause bounds a write only if its truth can differ between rows. Missing, constant
 * (`true`, `1=1`, `'a'='a'`, `(SELECT true)`), `x = x`, and ORs with such a branch do not.
 */
export function isUnboundedWhere(where: unknown): boolean {
  if (!isBody(where)) return true;
  if (isBody(where.BoolExpr)) {
    const args = Array.isArray(where.BoolExpr.args) ? where.BoolExpr.args : [];
    if (where.BoolExpr.boolop === 'OR_EXPR') return args.some(isUnboundedWhere);
    if (where.BoolExpr.boolop === 'AND_EXPR') return args.every(isUnboundedWhere);
  }
  if (isBody(where.A_Expr) && where.A_Expr.kind === 'AEXPR_OP' && stringsOf(where.A_Expr.name).join('') === '=') {
    if (withoutLocations(where.A_Expr.lexpr) === withoutLocations(where.A_Expr.rexpr)) return true;
  }
  return !mentions(where, ROW_REFERENCES);
}

function isUnboundedMerge(body: Body): boolean {
  const clauses = Array.isArray(body.mergeWhenClauses) ? body.mergeWhenClauses : [];
  const joinUnbounded = isUnboundedWhere(body.joinCondition);
  return clauses.some((clause) => {
    const when = isBody(clause) && isBody(clause.MergeWhenClause) ? clause.MergeWhenClause : undefined;
    if (!when || (when.commandType !== 'CMD_DELETE' && when.commandType !== 'CMD_UPDATE')) return false;
    const everyRow = when.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE' || joinUnbounded;
    return everyRow && isUnboundedWhere(when.condition);
  });
}
