import type { StatementKind } from '../../sql/statement-analysis.ts';
import { collectAstFacts, emptyAstFacts, objectName, tableOf, writeTargets } from './ast-facts.ts';
import { sqlModeFlags } from './lexer-mode.ts';
import { fromFacts, mysqlUnknown, type MysqlStatementAnalysis } from './mysql-analysis.ts';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Kind and command of the grammar's statement variants; a variant missing here is `unknown` (fail closed). */
const CLASSES: Readonly<Record<string, [StatementKind, string | ((b: Node) => string)]>> = {
  Query: ['read', 'SELECT'],
  Insert: ['write', (b) => (b.replace_into ? 'REPLACE' : 'INSERT')],
  Update: ['write', 'UPDATE'],
  Delete: ['write', 'DELETE'],
  Truncate: ['write', 'TRUNCATE'],
  LockTables: ['write', 'LOCK TABLES'],
  UnlockTables: ['utility', 'UNLOCK TABLES'],
  CreateTable: ['ddl', 'CREATE TABLE'],
  CreateView: ['ddl', 'CREATE VIEW'],
  CreateIndex: ['ddl', 'CREATE INDEX'],
  AlterTable: ['ddl', 'ALTER TABLE'],
  AlterView: ['ddl', 'ALTER VIEW'],
  RenameTable: ['ddl', 'RENAME TABLE'],
  Drop: ['ddl', (b) => `DROP ${String(b.object_type ?? '').toUpperCase()}`],
  DropFunction: ['ddl', 'DROP FUNCTION'],
  DropProcedure: ['ddl', 'DROP PROCEDURE'],
  DropTrigger: ['ddl', 'DROP TRIGGER'],
  CreateDatabase: ['admin', 'CREATE DATABASE'],
  CreateSchema: ['admin', 'CREATE DATABASE'],
  Grant: ['privilege', 'GRANT'],
  Revoke: ['privilege', 'REVOKE'],
  StartTransaction: ['transaction', (b) => (b.begin ? 'BEGIN' : 'START TRANSACTION')],
  Commit: ['transaction', 'COMMIT'],
  Rollback: ['transaction', (b) => (b.savepoint ? 'ROLLBACK TO SAVEPOINT' : 'ROLLBACK')],
  Savepoint: ['transaction', 'SAVEPOINT'],
  ReleaseSavepoint: ['transaction', 'RELEASE SAVEPOINT'],
  Use: ['utility', 'USE'],
  ShowVariables: ['read', 'SHOW'],
  ShowVariable: ['read', 'SHOW'],
  ShowStatus: ['read', 'SHOW'],
  ShowCreate: ['read', 'SHOW'],
  ShowColumns: ['read', 'SHOW'],
  ShowTables: ['read', 'SHOW'],
  ShowDatabases: ['read', 'SHOW'],
  ShowSchemas: ['read', 'SHOW'],
  ShowFunctions: ['read', 'SHOW'],
  ShowCollation: ['read', 'SHOW'],
  ShowCharset: ['read', 'SHOW'],
  ShowViews: ['read', 'SHOW'],
  ExplainTable: ['read', 'DESCRIBE'],
  Analyze: ['admin', 'ANALYZE TABLE'],
  OptimizeTable: ['admin', 'OPTIMIZE TABLE'],
  Flush: ['admin', 'FLUSH'],
  Kill: ['admin', 'KILL'],
};

/** Settings whose change is not ordinary: how the server lexes the next statement, who the session is, what it reports. */
export const SENSITIVE_MYSQL_SETTINGS = new Set([
  'sql_mode',
  'character_set_client',
  'character_set_connection',
  'collation_connection',
  'names',
  'character set',
  'session_track_system_variables',
  'session_track_state_change',
  'session_track_schema',
  'session_track_transaction_info',
  'sql_log_bin',
  'sql_log_off',
  'foreign_key_checks',
  'pseudo_thread_id',
  'pseudo_slave_mode',
  'gtid_next',
  'gtid_seq_no',
  'server_id',
  'insert_id',
  'timestamp',
  'rand_seed1',
  'rand_seed2',
  'wsrep_on',
  'role',
]);

/** Character sets that lex like UTF-8 for quotes and backslashes (the server's reports are checked too). */
const SAFE_CHARSET = /^(utf8|utf8mb3|utf8mb4|latin1|ascii|binary)$/i;
const CHARSET_SETTINGS = new Set(['character_set_client', 'character_set_connection', 'names', 'character set']);

/** A literal's text (a string or an identifier such as utf8mb4), or undefined for anything computed. */
function constantText(expr: unknown): string | undefined {
  if (!isNode(expr)) return undefined;
  if (isNode(expr.Identifier) && typeof expr.Identifier.value === 'string' && !expr.Identifier.value.startsWith('@'))
    return expr.Identifier.value;
  const value = isNode(expr.Value) && isNode(expr.Value.value) ? expr.Value.value : undefined;
  return value && typeof value.SingleQuotedString === 'string' ? value.SingleQuotedString : undefined;
}

/** Classifies one parsed statement and collects its facts. */
export function classifyAst(ast: Node, text: string): MysqlStatementAnalysis {
  const keys = Object.keys(ast);
  const type = keys[0]!;
  const body = isNode(ast[type]) ? (ast[type] as Node) : {};
  if (keys.length !== 1) return mysqlUnknown(text, 'the parse tree has an unexpected shape', ast);
  if (type === 'Explain') return explain(body, text, ast);
  if (type === 'Set') return setStatement(body, text, ast);
  const klass = CLASSES[type];
  if (!klass) return mysqlUnknown(text, `${type} statements are not classified by the gateway`, ast);
  const facts = emptyAstFacts();
  collectAstFacts(body, facts, writeTargets(type, body));
  const command = typeof klass[1] === 'function' ? klass[1](body) : klass[1];
  const extra: Partial<MysqlStatementAnalysis> = {};
  if (
    ['CreateTable', 'CreateView', 'CreateIndex', 'AlterTable', 'AlterView', 'Truncate', 'Drop', 'LockTables'].includes(
      type,
    )
  ) {
    for (const table of namedTables(type, body)) facts.tablesWritten.add(table);
    for (const table of facts.tablesWritten) facts.tablesRead.delete(table);
  }
  if (type === 'Delete' && Array.isArray(body.tables) && body.tables.length > 0) {
    for (const t of body.tables) {
      const name = objectName(t);
      if (name) facts.tablesWritten.add(name);
    }
  }
  if (type === 'Update' && isNode(body.table) && Array.isArray(body.table.joins) && body.table.joins.length > 0) {
    for (const j of body.table.joins) {
      const name = tableOf(j);
      if (name) facts.tablesWritten.add(name);
    }
  }
  if (type === 'Update' || type === 'Delete')
    extra.unboundedWrite = body.selection === undefined || body.selection === null || holdsOnEveryRow(body.selection);
  if (type === 'Truncate') extra.unboundedWrite = true;
  if (type === 'CreateTable' && body.query) extra.createTableAs = true;
  if (type === 'LockTables') extra.lockingClause = true;
  if (type === 'AlterTable') extra.dropColumn = JSON.stringify(body.operations ?? []).includes('"DropColumn"');
  if (type === 'Drop' && /^(DATABASE|SCHEMA)$/.test(String(body.object_type ?? '').toUpperCase()))
    return fromFacts('admin', command, facts, text, ast, extra);
  return fromFacts(klass[0], command, facts, text, ast, extra);
}

function namedTables(type: string, body: Node): string[] {
  if (type === 'Drop' || type === 'Truncate') {
    const names = type === 'Drop' ? body.names : (body.table_names as Node[] | undefined)?.map((t) => t.name);
    return (Array.isArray(names) ? names : []).map(objectName).filter((n): n is string => n !== undefined);
  }
  if (type === 'LockTables')
    return (Array.isArray(body.tables) ? body.tables : [])
      .map((t) => (isNode(t) && isNode(t.table) ? String(t.table.value) : ''))
      .filter(Boolean);
  const name = objectName(body.name ?? body.table_name);
  return name ? [name] : [];
}

/** A WHERE that cannot depend on the row: only literals, operators and no column reference. */
/** Without spans, so `id = id` compares equal on both sides. */
function shape(expr: unknown): string {
  return JSON.stringify(expr, (key, value) => (key === 'span' ? undefined : value));
}

/**
 * A WHERE that bounds nothing: a constant, a column compared with itself (`id = id`), an AND of
 * such, an OR with such a branch; parentheses are looked through.
 */
function holdsOnEveryRow(expr: unknown): boolean {
  if (isNode(expr) && 'Nested' in expr) return holdsOnEveryRow(expr.Nested);
  const op = isNode(expr) && isNode(expr.BinaryOp) ? expr.BinaryOp : undefined;
  if (op?.op === 'And') return holdsOnEveryRow(op.left) && holdsOnEveryRow(op.right);
  if (op?.op === 'Or') return holdsOnEveryRow(op.left) || holdsOnEveryRow(op.right);
  if (op?.op === 'Eq' && shape(op.left) === shape(op.right)) return true;
  return constant(expr);
}

function constant(expr: unknown): boolean {
  const text = JSON.stringify(expr);
  return !/"(Identifier|CompoundIdentifier|Subquery|Exists|InSubquery|Function)"/.test(text);
}

function explain(body: Node, text: string, ast: Node): MysqlStatementAnalysis {
  const inner = isNode(body.statement)
    ? classifyAst(body.statement, text)
    : mysqlUnknown(text, 'EXPLAIN of nothing', ast);
  if (body.analyze === true) return { ...inner, explainAnalyze: true, parseTree: ast };
  if (inner.kind === 'unknown') return inner;
  const reads = [...new Set([...inner.tablesRead, ...inner.tablesWritten])];
  return {
    ...inner,
    kind: 'read',
    command: 'EXPLAIN',
    tablesRead: reads,
    tablesWritten: [],
    unboundedWrite: false,
    parseTree: ast,
  };
}

function setStatement(body: Node, text: string, ast: Node): MysqlStatementAnalysis {
  const facts = emptyAstFacts();
  collectAstFacts(body, facts);
  if ('SetTransaction' in body) return fromFacts('transaction', 'SET TRANSACTION', facts, text, ast);
  if ('SetNames' in body || 'SetNamesDefault' in body) {
    const names =
      isNode(body.SetNames) && isNode(body.SetNames.charset_name) ? String(body.SetNames.charset_name.value) : '';
    return fromFacts(SAFE_CHARSET.test(names) ? 'utility' : 'admin', 'SET NAMES', facts, text, ast);
  }
  const assignments: Node[] = isNode(body.SingleAssignment)
    ? [body.SingleAssignment]
    : isNode(body.MultipleAssignments) && Array.isArray(body.MultipleAssignments.assignments)
      ? (body.MultipleAssignments.assignments as Node[])
      : [];
  if (assignments.length === 0) return mysqlUnknown(text, 'this form of SET is not classified by the gateway', ast);
  for (const a of assignments) {
    const written = (objectName(a.variable ?? a.name) ?? '').toLowerCase();
    if (written.startsWith('@@global.') || a.scope === 'Global')
      return fromFacts('admin', 'SET GLOBAL', facts, text, ast);
    const name = written.replace(/^@@(session\.|local\.)?/, '');
    const value = Array.isArray(a.values) && a.values.length === 1 ? constantText(a.values[0]) : undefined;
    const harmless =
      (CHARSET_SETTINGS.has(name) && value !== undefined && SAFE_CHARSET.test(value)) ||
      (name === 'sql_mode' && value !== undefined && !sqlModeFlags(value).unsupported);
    if (SENSITIVE_MYSQL_SETTINGS.has(name) && !harmless) return fromFacts('admin', `SET ${name}`, facts, text, ast);
  }
  return fromFacts('utility', 'SET', facts, text, ast);
}
