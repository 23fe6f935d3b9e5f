import { collectFacts, constantString, emptyFacts, relationName, type Facts } from './collect-facts.ts';
import { unknownStatement, type StatementAnalysis } from './statement-analysis.ts';

type Body = Record<string, unknown>;

/** Parses SQL text to top-level statement nodes; throws on a syntax error. Used for SQL function bodies. */
export type ParseStatements = (sql: string) => Body[];

/** Analyses one statement node; passed in so this module does not import the analyser that imports it. */
export type AnalyzeNode = (stmt: Body, text: string, parse: ParseStatements) => StatementAnalysis;

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function functionOption(options: unknown, name: string): unknown {
  for (const option of Array.isArray(options) ? options : []) {
    if (isBody(option) && isBody(option.DefElem) && option.DefElem.defname === name) return option.DefElem.arg;
  }
  return undefined;
}

function nameOf(list: unknown): string {
  return (Array.isArray(list) ? list : [])
    .map((p) => (isBody(p) && isBody(p.String) ? String(p.String.sval ?? '') : ''))
    .join('.');
}

/** The body statements of a CREATE FUNCTION, with how they were found; `opaque` when they cannot be analysed. */
export interface FunctionBody {
  language: string;
  statements: Body[];
  source: string;
  opaque: boolean;
}

/** Reads a CREATE FUNCTION/PROCEDURE's language and SQL body (an AS string, BEGIN ATOMIC or RETURN). */
export function functionBody(body: Body, parse: ParseStatements): FunctionBody {
  const options = body.options;
  const languageArg = functionOption(options, 'language') as Body | undefined;
  const language = (constantString({ A_Const: { sval: languageArg?.String } }) ?? 'sql').toLowerCase();
  if (language !== 'sql') return { language, statements: [], source: '', opaque: true };
  if (body.sql_body !== undefined)
    return { language, statements: atomicStatements(body.sql_body), source: '', opaque: false };
  const as = functionOption(options, 'as');
  const items = isBody(as) && isBody(as.List) && Array.isArray(as.List.items) ? as.List.items : [];
  const source = items.length === 1 ? constantString({ A_Const: { sval: (items[0] as Body).String } }) : undefined;
  if (source === undefined) return { language, statements: [], source: '', opaque: true };
  try {
    return { language, statements: parse(source), source, opaque: false };
  } catch {
    return { language, statements: [], source, opaque: true };
  }
}

/** BEGIN ATOMIC ... END is a list of statement lists; RETURN expr is one ReturnStmt (run as a SELECT). */
function atomicStatements(node: unknown): Body[] {
  if (Array.isArray(node)) return node.flatMap(atomicStatements);
  if (!isBody(node)) return [];
  if (isBody(node.List)) return atomicStatements(node.List.items);
  if (isBody(node.ReturnStmt))
    return [{ SelectStmt: { targetList: [{ ResTarget: { val: node.ReturnStmt.returnval } }], op: 'SETOP_NONE' } }];
  return [node];
}

function mergeFacts(facts: Facts, analysis: StatementAnalysis): void {
  analysis.tablesRead.forEach((t) => facts.tablesRead.add(t));
  analysis.tablesWritten.forEach((t) => facts.tablesWritten.add(t));
  analysis.functions.forEach((f) => facts.functions.add(f));
  analysis.operators?.forEach((o) => facts.operators.add(o));
  analysis.casts?.forEach((c) => facts.casts.add(c));
  analysis.dangerousFunctions.forEach((f) => facts.dangerousFunctions.add(f));
  facts.unboundedWrite ||= analysis.unboundedWrite;
  facts.dataModifyingCte ||= analysis.dataModifyingCte;
}

/** A body statement as an installed statement: its own facts, no session effects (it never PREPAREs for the client). */
function installed(analysis: StatementAnalysis, origin: string): StatementAnalysis {
  const { preparedName: _p, executeName: _e, deallocateName: _d, ...rest } = analysis;
  return { ...rest, origin: analysis.origin ?? origin };
}

/**
 * CREATE FUNCTION/PROCEDURE. The body's facts are merged into the CREATE (rules on tables and
 * functions match it), and every body statement is also installed as a statement of its own
 * (kind, command, every flag), so the CREATE is judged as if the body ran now. A body in any
 * other language is opaque code.
 */
export function analyzeFunction(
  stmt: Body,
  body: Body,
  text: string,
  parse: ParseStatements,
  analyze: AnalyzeNode,
  build: (facts: Facts, extra: Partial<StatementAnalysis>) => StatementAnalysis,
): StatementAnalysis {
  const facts = emptyFacts();
  const { sql_body: _sqlBody, options, ...rest } = body;
  collectFacts(rest, facts, 'CreateFunctionStmt');
  for (const option of Array.isArray(options) ? options : []) {
    if (isBody(option) && isBody(option.DefElem) && option.DefElem.defname === 'set')
      collectFacts(option.DefElem.arg, facts, 'CreateFunctionStmt');
  }
  const found = functionBody(body, parse);
  const origin = `body of ${body.is_procedure ? 'procedure' : 'function'} ${nameOf(body.funcname)}`;
  const installs: StatementAnalysis[] = [];
  let opaqueCode = found.opaque;
  for (const inner of found.statements) {
    const analysis = analyze(inner, found.source || text, parse);
    if (analysis.kind === 'unknown') opaqueCode = true;
    mergeFacts(facts, analysis);
    installs.push(installed(analysis, origin));
  }
  if (found.opaque && found.language === 'sql')
    installs.push(unknownStatement(text, `the SQL body of ${nameOf(body.funcname)} cannot be parsed`));
  return build(facts, { opaqueCode, installs });
}

/** CREATE RULE: each action runs with every matching statement on the rule's relation. */
export function ruleInstalls(
  body: Body,
  text: string,
  parse: ParseStatements,
  analyze: AnalyzeNode,
): StatementAnalysis[] {
  const relation = isBody(body.relation) ? relationName(body.relation) : '?';
  const origin = `rule ${String(body.rulename ?? '')} on ${relation}`;
  const actions = Array.isArray(body.actions) ? body.actions : [];
  return actions.filter(isBody).map((action) => installed(analyze(action, text, parse), origin));
}
