import { unknownStatement, type StatementAnalysis, type StatementKind } from '../../sql/statement-analysis.ts';
import type { AstFacts } from './ast-facts.ts';

/**
 * The facts of one MySQL statement: the same shape as PostgreSQL's (one policy language serves
 * both), plus what only MySQL has. `parseTree` is the grammar's JSON tree (null when unparsed).
 */
export interface MysqlStatementAnalysis extends StatementAnalysis {
  /** User variables (`@name`) the statement reads or assigns: state that outlives the statement. */
  userVariables: readonly string[];
  /** The file of LOAD DATA [LOCAL] INFILE or SELECT ... INTO OUTFILE/DUMPFILE. */
  file?: string;
  /** A comment-only statement after `;`: the server answers it with an empty OK. */
  empty?: boolean;
}

/** Functions that reach the server's files or run code outside SQL (a UDF library). */
export const MYSQL_DANGEROUS_FUNCTIONS = [
  'load_file',
  'sys_exec',
  'sys_eval',
  'sys_get',
  'sys_set',
  'lib_mysqludf_sys_info',
];

export function mysqlUnknown(text: string, reason: string, parseTree: unknown = null): MysqlStatementAnalysis {
  return { ...unknownStatement(text, reason, parseTree), userVariables: [] };
}

/** Builds an analysis from collected facts; a read that writes anything is a write. */
export function fromFacts(
  kind: StatementKind,
  command: string,
  facts: AstFacts,
  text: string,
  parseTree: unknown,
  extra: Partial<MysqlStatementAnalysis> = {},
): MysqlStatementAnalysis {
  const functions = [...facts.functions];
  const base = unknownStatement(text, '', parseTree);
  delete base.unknownReason;
  return {
    ...base,
    kind: kind === 'read' && facts.tablesWritten.size > 0 ? 'write' : kind,
    command,
    tablesRead: [...facts.tablesRead].filter((t) => !facts.cteNames.has(t)),
    tablesWritten: [...facts.tablesWritten],
    functions,
    dangerousFunctions: functions.filter((f) => MYSQL_DANGEROUS_FUNCTIONS.includes(f.slice(f.lastIndexOf('.') + 1))),
    lockingClause: facts.lockingClause,
    userVariables: [...facts.userVariables],
    ...extra,
  };
}
