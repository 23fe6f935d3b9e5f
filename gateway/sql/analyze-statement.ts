import { collectFacts, constantString, emptyFacts, type Facts } from './collect-facts.ts';
import { classifyVariable, STATEMENT_CLASSES } from './statement-classes.ts';
import { unknownStatement, type StatementAnalysis, type StatementKind } from './statement-analysis.ts';

type Body = Record<string, unknown>;

/** Parses SQL text to top-level statement nodes; throws on a syntax error. Used for SQL function bodies. */
export type ParseStatements = (sql: string) => Body[];

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nodeOf(stmt: Body): [string, Body] | undefined {
  const keys = Object.keys(stmt);
  if (keys.length !== 1) return undefined;
  const body = stmt[keys[0]!];
  return isBody(body) ? [keys[0]!, body] : undefined;
}

function build(
  kind: StatementKind,
  command: string,
  facts: Facts,
  text: string,
  parseTree: unknown,
  extra: Partial<StatementAnalysis> = {},
): StatementAnalysis {
  const tablesRead = [...facts.tablesRead].filter((t) => !facts.cteNames.has(t));
  const writes = facts.tablesWritten.size > 0 || facts.dataModifyingCte;
  return {
    kind: kind === 'read' && writes ? 'write' : kind,
    command,
    tablesRead,
    tablesWritten: [...facts.tablesWritten],
    functions: [...facts.functions],
    dangerousFunctions: [...facts.dangerousFunctions],
    dataModifyingCte: facts.dataModifyingCte,
    explainAnalyze: false,
    selectInto: facts.selectInto,
    createTableAs: false,
    lockingClause: facts.lockingClause,
    copyProgram: false,
    copyServerFile: false,
    copyDirection: undefined,
    copyStdio: false,
    unboundedWrite: facts.unboundedWrite,
    opaqueCode: false,
    dropColumn: facts.dropColumn,
    text,
    parseTree,
    ...extra,
  };
}

function explainAnalyzes(options: unknown): boolean {
  for (const option of Array.isArray(options) ? options : []) {
    const def = isBody(option) && isBody(option.DefElem) ? option.DefElem : undefined;
    if (!def || String(def.defname).toLowerCase() !== 'analyze') continue;
    const arg = def.arg;
    if (!isBody(arg)) return true;
    if (isBody(arg.Boolean)) return arg.Boolean.boolval === true;
    if (isBody(arg.String)) return !['false', 'off', '0', 'no'].includes(String(arg.String.sval).toLowerCase());
    if (isBody(arg.Integer)) return Boolean(arg.Integer.ival);
    return true;
  }
  return false;
}

function functionOption(options: unknown, name: string): unknown {
  for (const option of Array.isArray(options) ? options : []) {
    if (isBody(option) && isBody(option.DefElem) && option.DefElem.defname === name) return option.DefElem.arg;
  }
  return undefined;
}

/**
 * Analyses one top-level statement node (`{"SelectStmt": {...}}`). Statements that wrap another
 * (EXPLAIN ANALYZE, PREPARE, DECLARE CURSOR) report the wrapped statement's facts because the
 * wrapped statement is what runs.
 */
export function analyzeStatement(stmt: Body, text: string, parse: ParseStatements): StatementAnalysis {
  const node = nodeOf(stmt);
  if (!node) return unknownStatement(text, 'the parse tree has an unexpected shape', stmt);
  const [type, body] = node;
  const facts = emptyFacts();

  switch (type) {
    case 'DoStmt':
      return unknownStatement(text, 'DO blocks run procedural code the gateway cannot analyse', stmt);
    case 'CallStmt':
      return unknownStatement(text, 'CALL runs a procedure whose body the gateway cannot analyse', stmt);
    case 'ExplainStmt': {
      if (!isBody(body.query)) break;
      if (explainAnalyzes(body.options))
        return { ...analyzeStatement(body.query, text, parse), explainAnalyze: true, parseTree: stmt };
      collectFacts(body.query, facts);
      for (const table of facts.tablesWritten) facts.tablesRead.add(table);
      return build(
        'read',
        'EXPLAIN',
        {
          ...emptyFacts(),
          tablesRead: facts.tablesRead,
          cteNames: facts.cteNames,
          functions: facts.functions,
          dangerousFunctions: facts.dangerousFunctions,
        },
        text,
        stmt,
      );
    }
    case 'PrepareStmt':
      if (!isBody(body.query)) break;
      return { ...analyzeStatement(body.query, text, parse), preparedName: String(body.name ?? ''), parseTree: stmt };
    case 'DeclareCursorStmt':
      if (!isBody(body.query)) break;
      return { ...analyzeStatement(body.query, text, parse), parseTree: stmt };
    case 'ExecuteStmt': {
      collectFacts(body.params, facts);
      const name = String(body.name ?? '');
      return {
        ...unknownStatement(
          text,
          `EXECUTE of prepared statement "${name}" that this connection never prepared through the gateway`,
          stmt,
        ),
        command: 'EXECUTE',
        executeName: name,
        functions: [...facts.functions],
        dangerousFunctions: [...facts.dangerousFunctions],
      };
    }
    case 'CreateTableAsStmt': {
      collectFacts(body, facts, type);
      const command = body.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS';
      const inner = isBody(body.query) ? nodeOf(body.query) : undefined;
      const executeName = inner?.[0] === 'ExecuteStmt' ? String(inner[1].name ?? '') : undefined;
      return build('ddl', command, facts, text, stmt, { createTableAs: true, selectInto: false, executeName });
    }
    case 'CopyStmt': {
      collectFacts(stmt, facts);
      const program = body.is_program === true;
      const serverFile = !program && typeof body.filename === 'string';
      const direction = body.is_from === true ? 'from' : 'to';
      return build(direction === 'from' ? 'write' : 'read', 'COPY', facts, text, stmt, {
        copyProgram: program,
        copyServerFile: serverFile,
        copyDirection: direction,
        copyStdio: !program && !serverFile,
      });
    }
    case 'CreateFunctionStmt':
      return analyzeFunction(stmt, body, text, parse);
    case 'DeallocateStmt':
      return build('utility', 'DEALLOCATE', facts, text, stmt, {
        deallocateName: body.isall === true ? null : String(body.name ?? ''),
      });
    case 'DiscardStmt':
      if (body.target === 'DISCARD_ALL')
        return build('utility', 'DISCARD ALL', facts, text, stmt, { deallocateName: null });
      break;
    case 'CreateSchemaStmt': {
      collectFacts(stmt, facts);
      const grants =
        Array.isArray(body.schemaElts) &&
        body.schemaElts.some((e) => isBody(e) && ('GrantStmt' in e || 'GrantRoleStmt' in e));
      return build(grants || body.authrole ? 'privilege' : 'ddl', 'CREATE SCHEMA', facts, text, stmt);
    }
  }

  const klass = STATEMENT_CLASSES[type] ?? classifyVariable(type, body);
  if (!klass) return unknownStatement(text, `${type} statements are not classified by the gateway`, stmt);
  collectFacts(stmt, facts);
  const command = typeof klass.command === 'function' ? klass.command(body) : klass.command;
  if (type === 'SelectStmt' && facts.selectInto && isBody(body.intoClause))
    return build('ddl', 'SELECT INTO', facts, text, stmt);
  if (type === 'AlterTableStmt' && changesSecurity(body.cmds)) return build('privilege', command, facts, text, stmt);
  return build(klass.kind, command, facts, text, stmt);
}

/** ALTER TABLE subcommands that change who may see or own the data rather than its shape. */
const SECURITY_SUBTYPES = new Set([
  'AT_ChangeOwner',
  'AT_EnableRowSecurity',
  'AT_DisableRowSecurity',
  'AT_ForceRowSecurity',
  'AT_NoForceRowSecurity',
]);

function changesSecurity(cmds: unknown): boolean {
  return (
    Array.isArray(cmds) &&
    cmds.some(
      (cmd) => isBody(cmd) && isBody(cmd.AlterTableCmd) && SECURITY_SUBTYPES.has(String(cmd.AlterTableCmd.subtype)),
    )
  );
}

/**
 * CREATE FUNCTION/PROCEDURE: a SQL-language body is parsed and its facts are reported here, the
 * only moment the gateway sees them; any other language is opaque code.
 */
function analyzeFunction(stmt: Body, body: Body, text: string, parse: ParseStatements): StatementAnalysis {
  const facts = emptyFacts();
  const { sql_body: sqlBody, options, ...rest } = body;
  collectFacts(rest, facts, 'CreateFunctionStmt');
  for (const option of Array.isArray(options) ? options : []) {
    if (isBody(option) && isBody(option.DefElem) && option.DefElem.defname === 'set')
      collectFacts(option.DefElem.arg, facts, 'CreateFunctionStmt');
  }
  const command = body.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
  const language = (
    constantString({ A_Const: { sval: (functionOption(options, 'language') as Body | undefined)?.String } }) ?? 'sql'
  ).toLowerCase();
  let opaqueCode = language !== 'sql';
  if (sqlBody !== undefined) {
    collectFacts(sqlBody, facts);
  } else if (!opaqueCode) {
    const as = functionOption(options, 'as');
    const source =
      isBody(as) && isBody(as.List) && Array.isArray(as.List.items) && as.List.items.length === 1
        ? constantString({ A_Const: { sval: (as.List.items[0] as Body).String } })
        : undefined;
    try {
      if (source === undefined) throw new Error('no single SQL body');
      for (const inner of parse(source)) {
        const analysis = analyzeStatement(inner, source, parse);
        if (analysis.kind === 'unknown') opaqueCode = true;
        analysis.tablesRead.forEach((t) => facts.tablesRead.add(t));
        analysis.tablesWritten.forEach((t) => facts.tablesWritten.add(t));
        analysis.functions.forEach((f) => facts.functions.add(f));
        analysis.dangerousFunctions.forEach((f) => facts.dangerousFunctions.add(f));
        facts.unboundedWrite ||= analysis.unboundedWrite;
        facts.dataModifyingCte ||= analysis.dataModifyingCte;
      }
    } catch {
      opaqueCode = true;
    }
  }
  return build('ddl', command, facts, text, stmt, { opaqueCode });
}
