import { collectFacts, emptyFacts, type Facts } from './collect-facts.ts';
import { analyzeFunction, ruleInstalls, type ParseStatements } from './installed-code.ts';
import { classifyVariable, STATEMENT_CLASSES } from './statement-classes.ts';
import { unknownStatement, type StatementAnalysis, type StatementKind } from './statement-analysis.ts';
import { ddlObjectsOf, inSystemSchema, isSystemRelationName, readsServerFiles } from './system-objects.ts';

type Body = Record<string, unknown>;

export type { ParseStatements };

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
  const system =
    [...facts.tablesWritten].some(isSystemRelationName) ||
    tablesRead.some(readsServerFiles) ||
    (extra.ddlObjects ?? []).some((o) => inSystemSchema(o.names));
  return {
    kind: system && kind !== 'unknown' ? 'admin' : kind === 'read' && writes ? 'write' : kind,
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
    ...(facts.settings.size > 0 ? { settings: [...facts.settings] } : {}),
    ...(facts.operators.size > 0 ? { operators: [...facts.operators] } : {}),
    ...(facts.casts.size > 0 ? { casts: [...facts.casts] } : {}),
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

/**
 * Analyses one top-level statement node (`{"SelectStmt": {...}}`). Statements that wrap another
 * (EXPLAIN ANALYZE, PREPARE, DECLARE CURSOR) report the wrapped statement's facts because the
 * wrapped statement is what runs.
 */
export function analyzeStatement(stmt: Body, text: string, parse: ParseStatements): StatementAnalysis {
  const node = nodeOf(stmt);
  if (!node) return unknownStatement(text, 'the parse tree has an unexpected shape', stmt);
  const [type, body] = node;
  return (
    analyzeWrapper(type, body, stmt, text, parse) ??
    analyzeSpecial(type, body, stmt, text, parse) ??
    analyzeClassified(type, body, stmt, text, parse)
  );
}

/** Statements that wrap another (EXPLAIN, PREPARE, DECLARE, EXECUTE): what runs is the wrapped statement. */
function analyzeWrapper(
  type: string,
  body: Body,
  stmt: Body,
  text: string,
  parse: ParseStatements,
): StatementAnalysis | undefined {
  const facts = emptyFacts();
  switch (type) {
    case 'ExplainStmt': {
      if (!isBody(body.query)) return undefined;
      if (explainAnalyzes(body.options))
        return { ...analyzeStatement(body.query, text, parse), explainAnalyze: true, parseTree: stmt };
      collectFacts(body.query, facts);
      for (const table of facts.tablesWritten) facts.tablesRead.add(table);
      const { tablesRead, cteNames, functions, dangerousFunctions } = facts;
      return build(
        'read',
        'EXPLAIN',
        { ...emptyFacts(), tablesRead, cteNames, functions, dangerousFunctions },
        text,
        stmt,
      );
    }
    case 'PrepareStmt':
      if (!isBody(body.query)) return undefined;
      return { ...analyzeStatement(body.query, text, parse), preparedName: String(body.name ?? ''), parseTree: stmt };
    case 'DeclareCursorStmt':
      if (!isBody(body.query)) return undefined;
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
  }
  return undefined;
}

/** Statements whose kind or facts depend on more than their node type. */
function analyzeSpecial(
  type: string,
  body: Body,
  stmt: Body,
  text: string,
  parse: ParseStatements,
): StatementAnalysis | undefined {
  const facts = emptyFacts();
  switch (type) {
    case 'DoStmt':
      return unknownStatement(text, 'DO blocks run procedural code the gateway cannot analyse', stmt);
    case 'CallStmt':
      return unknownStatement(text, 'CALL runs a procedure whose body the gateway cannot analyse', stmt);
    case 'CreateTableAsStmt': {
      collectFacts(body, facts, type);
      const command = body.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS';
      const inner = isBody(body.query) ? nodeOf(body.query) : undefined;
      const executeName = inner?.[0] === 'ExecuteStmt' ? String(inner[1].name ?? '') : undefined;
      const ddlObjects = ddlObjectsOf(type, body);
      return build('ddl', command, facts, text, stmt, {
        createTableAs: true,
        selectInto: false,
        executeName,
        ddlObjects,
      });
    }
    case 'CopyStmt':
      return analyzeCopy(body, stmt, text);
    case 'CreateFunctionStmt':
      return analyzeFunction(stmt, body, text, parse, analyzeStatement, (f, extra) =>
        build('ddl', body.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION', f, text, stmt, {
          ...extra,
          ddlObjects: ddlObjectsOf(type, body),
        }),
      );
    case 'DeallocateStmt':
      return build('utility', 'DEALLOCATE', facts, text, stmt, {
        deallocateName: body.isall === true ? null : String(body.name ?? ''),
      });
    case 'DiscardStmt':
      if (body.target !== 'DISCARD_ALL') return undefined;
      return build('utility', 'DISCARD ALL', facts, text, stmt, { deallocateName: null });
    case 'CreateSchemaStmt': {
      collectFacts(stmt, facts);
      const grants =
        Array.isArray(body.schemaElts) &&
        body.schemaElts.some((e) => isBody(e) && ('GrantStmt' in e || 'GrantRoleStmt' in e));
      return build(grants || body.authrole ? 'privilege' : 'ddl', 'CREATE SCHEMA', facts, text, stmt);
    }
  }
  return undefined;
}

function analyzeCopy(body: Body, stmt: Body, text: string): StatementAnalysis {
  const facts = emptyFacts();
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

/** Every other statement: its class from the table, facts from one walk, the objects a DDL changes. */
function analyzeClassified(type: string, body: Body, stmt: Body, text: string, parse: ParseStatements) {
  const klass = STATEMENT_CLASSES[type] ?? classifyVariable(type, body);
  if (!klass) return unknownStatement(text, `${type} statements are not classified by the gateway`, stmt);
  const facts = emptyFacts();
  collectFacts(stmt, facts);
  const command = typeof klass.command === 'function' ? klass.command(body) : klass.command;
  if (type === 'SelectStmt' && facts.selectInto && isBody(body.intoClause))
    return build('ddl', 'SELECT INTO', facts, text, stmt);
  const ddlObjects = ddlObjectsOf(type, body);
  const extra: Partial<StatementAnalysis> = ddlObjects.length > 0 ? { ddlObjects } : {};
  if (type === 'RuleStmt') extra.installs = ruleInstalls(body, text, parse, analyzeStatement);
  if (type === 'AlterTableStmt' && changesSecurity(body.cmds))
    return build('privilege', command, facts, text, stmt, extra);
  return build(klass.kind, command, facts, text, stmt, extra);
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
