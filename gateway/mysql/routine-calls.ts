import { analyzeMysql } from './sql/analyze-mysql.ts';
import { lex, type Token } from './sql/lexer.ts';
import { sqlModeFlags, type LexerMode } from './sql/lexer-mode.ts';
import { fromFacts, mysqlUnknown, type MysqlStatementAnalysis } from './sql/mysql-analysis.ts';
import { emptyAstFacts } from './sql/ast-facts.ts';
import type { MysqlCatalog, RoutineFacts } from './masking/mysql-catalog.ts';

/** A CALL the catalog could not resolve: refused with this message instead of forwarded. */
export interface UnresolvedCall {
  unresolved: string;
}

const callTarget = (tokens: readonly Token[]): { schema?: string; name: string } | undefined => {
  const name = (t: Token | undefined) => (t && (t.type === 'word' || t.type === 'identifier') ? t.value : undefined);
  const first = name(tokens[1]);
  if (!first) return undefined;
  if (tokens[2]?.type === 'operator' && tokens[2].value === '.') {
    const second = name(tokens[3]);
    return second ? { schema: first, name: second } : undefined;
  }
  return { name: first };
};

/**
 * Resolves each `CALL [schema.]proc(...)` in the target's catalog (information_schema.ROUTINES,
 * every schema when unqualified: the client picks the default schema) and judges it like
 * PostgreSQL judges a function call: the CALL names the resolved `schema.proc` in `functions`,
 * and every statement of each body it may run follows it, analysed in the sql_mode the routine
 * was stored with. A name the catalog does not know is refused; a body the gateway may not read
 * or cannot analyse is `unknown`.
 */
export async function resolveCalls(
  statements: readonly MysqlStatementAnalysis[],
  mode: LexerMode,
  catalog: MysqlCatalog,
): Promise<MysqlStatementAnalysis[] | UnresolvedCall> {
  if (!statements.some(isCall)) return statements as MysqlStatementAnalysis[];
  const out: MysqlStatementAnalysis[] = [];
  for (const statement of statements) {
    if (!isCall(statement)) {
      out.push(statement);
      continue;
    }
    const lexed = lex(statement.text, mode);
    const target = lexed.ok ? callTarget(lexed.tokens) : undefined;
    if (!target) return { unresolved: 'the gateway could not read the name of the called procedure' };
    const found = (await catalog.routines([target.name])).get(target.name.toLowerCase()) ?? [];
    const matches = found.filter(
      (r) =>
        r.type === 'PROCEDURE' &&
        (target.schema === undefined || r.schema.toLowerCase() === target.schema.toLowerCase()),
    );
    const shown = target.schema ? `${target.schema}.${target.name}` : target.name;
    if (matches.length === 0)
      return {
        unresolved: `procedure ${shown} does not exist in the target's catalog (or the gateway's account cannot see it)`,
      };
    out.push(...callStatements(statement, matches, mode));
  }
  return out;
}

function isCall(statement: MysqlStatementAnalysis): boolean {
  return statement.kind === 'unknown' && /^\s*CALL\b/i.test(statement.text);
}

function callStatements(
  call: MysqlStatementAnalysis,
  routines: readonly RoutineFacts[],
  mode: LexerMode,
): MysqlStatementAnalysis[] {
  const names = routines.map((r) => `${r.schema}.${r.name}`);
  const resultGroup = {};
  const head = { ...fromFacts('utility', 'CALL', emptyAstFacts(), call.text, null), functions: names, resultGroup };
  const bodies = routines.flatMap((r) => bodyStatements(r, mode, call.text));
  return [head, ...bodies.map((s) => ({ ...s, text: call.text, resultGroup }))];
}

function bodyStatements(routine: RoutineFacts, mode: LexerMode, callText: string): MysqlStatementAnalysis[] {
  const name = `${routine.schema}.${routine.name}`;
  if (routine.definition === null)
    return [mysqlUnknown(callText, `it calls ${name}, whose body the gateway's account may not read`)];
  const bodyMode: LexerMode = { ...mode, ...sqlModeFlags(routine.sqlMode) };
  const text = routine.definition.replace(/^\s*BEGIN\b/i, 'BEGIN NOT ATOMIC');
  const analysed = analyzeMysql(text, bodyMode, { maxBytes: 1 << 22 });
  return analysed.map((s) =>
    s.kind === 'unknown'
      ? { ...s, unknownReason: `it calls ${name}: ${s.unknownReason ?? 'a body the gateway cannot analyse'}` }
      : s,
  );
}
