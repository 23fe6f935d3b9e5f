import type { DdlObject } from './system-objects.ts';

/**
 * Facts about one SQL statement, derived from the real PostgreSQL parser.
 *
 * Policy rules match on these facts rather than on SQL text, so comments, dollar quotes,
 * quoting and letter case cannot hide a statement and harmless strings cannot trip a rule.
 */

export const STATEMENT_KINDS = [
  'read',
  'write',
  'ddl',
  'privilege',
  'admin',
  'transaction',
  'utility',
  'unknown',
] as const;
/**
 * Coarse class of a statement. `unknown` always means "the gateway cannot analyse this"
 * (parse failure, over-size input, DO, CALL, unclassified statement types): the engine denies
 * it unless a rule names `unknown` explicitly.
 */
export type StatementKind = (typeof STATEMENT_KINDS)[number];

export const COPY_DIRECTIONS = ['to', 'from'] as const;
export type CopyDirection = (typeof COPY_DIRECTIONS)[number];

/**
 * Boolean facts a rule can test with `when.flags` / `when.without_flags`. Names are the
 * snake_case spellings used in policy files; {@link StatementAnalysis} carries them camelCased.
 */
export const STATEMENT_FLAGS = [
  'data_modifying_cte',
  'explain_analyze',
  'select_into',
  'create_table_as',
  'locking_clause',
  'copy_program',
  'copy_server_file',
  'copy_stdio',
  'unbounded_write',
  'dangerous_function',
  'opaque_code',
  'drop_column',
] as const;
export type StatementFlag = (typeof STATEMENT_FLAGS)[number];

export interface StatementAnalysis {
  kind: StatementKind;
  /** Upper-case command tag, e.g. "SELECT", "DROP TABLE", "COPY", "SET ROLE". For EXPLAIN ANALYZE, PREPARE and DECLARE it is the inner statement's command. */
  command: string;
  /** Relations read, schema-qualified when the SQL qualified them (lower-case unless quoted). */
  tablesRead: readonly string[];
  /** Relations written, created, altered, dropped or locked. */
  tablesWritten: readonly string[];
  /** Functions called anywhere in the statement, lower-case, schema-qualified when written so. */
  functions: readonly string[];
  /** Operators the statement runs, as written (`+`, `ops.+`): each calls a function the target resolves. */
  operators?: readonly string[];
  /** Target type names of the casts it writes: a user-defined cast to one of them calls its function. */
  casts?: readonly string[];
  /** Names from the dangerous-function catalogue that the statement calls (see dangerous-functions.ts). */
  dangerousFunctions: readonly string[];
  dataModifyingCte: boolean;
  /** EXPLAIN ANALYZE executes its statement, so the analysis reports the inner statement's facts. */
  explainAnalyze: boolean;
  selectInto: boolean;
  createTableAs: boolean;
  /** FOR UPDATE / FOR SHARE / ... or LOCK TABLE. */
  lockingClause: boolean;
  copyProgram: boolean;
  copyServerFile: boolean;
  copyDirection: CopyDirection | undefined;
  copyStdio: boolean;
  /** DELETE/UPDATE without WHERE or with a WHERE that does not depend on the row (also in CTEs, MERGE, EXPLAIN ANALYZE, PREPARE); TRUNCATE. */
  unboundedWrite: boolean;
  /** Server-side code the gateway cannot see into: a function or procedure body in a non-SQL language. */
  opaqueCode: boolean;
  /** ALTER TABLE ... DROP COLUMN: data is destroyed although the command is an ALTER. */
  dropColumn: boolean;
  /** Settings the statement changes by any route it shows (SET, RESET, set_config, a function's SET clause), lower-case. */
  settings?: readonly string[];
  /** Why the statement is `unknown`; absent otherwise. */
  unknownReason?: string;
  /** This statement's own slice of the query text. */
  text: string;
  /** Name given by SQL-level PREPARE, so the connection analyzer can remember it. */
  preparedName?: string;
  /** Name referenced by SQL-level EXECUTE or DEALLOCATE (null name: DEALLOCATE ALL). */
  executeName?: string;
  deallocateName?: string | null;
  /**
   * Set on analyses that stand for one statement the server runs in several ways it may be
   * (an EXECUTE's wrapper and each definition its name may hold): entries sharing the object
   * produce one result between them, so whoever maps results to statements must treat them as one.
   */
  resultGroup?: object;
  /**
   * Code this statement installs for the server to run later (a SQL function body, a rule's
   * actions), analysed as statements. {@link withInstalled} lists them after the statement, so
   * each of their facts is judged as the installing statement's own.
   */
  installs?: readonly StatementAnalysis[];
  /**
   * Set on a statement that is not the client's own text but code the server runs for it or on its
   * behalf: 'body of function public.f', 'rule r on public.t', 'trigger t on public.orders'.
   */
  origin?: string;
  /** Existing objects a DDL statement changes and objects it creates (see system-objects.ts), for resolution in the target. */
  ddlObjects?: readonly DdlObject[];
  /** The raw libpg-query JSON of this statement (the `stmt` node), for reuse by masking; null when unparsed. Shared through the cache: never modify it. */
  parseTree: unknown;
}

/** Returns the snake_case flags that are set on an analysis. */
export function flagsOf(analysis: StatementAnalysis): StatementFlag[] {
  const flags: StatementFlag[] = [];
  if (analysis.dataModifyingCte) flags.push('data_modifying_cte');
  if (analysis.explainAnalyze) flags.push('explain_analyze');
  if (analysis.selectInto) flags.push('select_into');
  if (analysis.createTableAs) flags.push('create_table_as');
  if (analysis.lockingClause) flags.push('locking_clause');
  if (analysis.copyProgram) flags.push('copy_program');
  if (analysis.copyServerFile) flags.push('copy_server_file');
  if (analysis.copyStdio) flags.push('copy_stdio');
  if (analysis.unboundedWrite) flags.push('unbounded_write');
  if (analysis.dangerousFunctions.length > 0) flags.push('dangerous_function');
  if (analysis.opaqueCode) flags.push('opaque_code');
  if (analysis.dropColumn) flags.push('drop_column');
  return flags;
}

/** An analysis of kind `unknown`: what the engine denies unless a rule allows `unknown` explicitly. */
export function unknownStatement(text: string, reason: string, parseTree: unknown = null): StatementAnalysis {
  return {
    kind: 'unknown',
    command: 'UNKNOWN',
    tablesRead: [],
    tablesWritten: [],
    functions: [],
    dangerousFunctions: [],
    dataModifyingCte: false,
    explainAnalyze: false,
    selectInto: false,
    createTableAs: false,
    lockingClause: false,
    copyProgram: false,
    copyServerFile: false,
    copyDirection: undefined,
    copyStdio: false,
    unboundedWrite: false,
    opaqueCode: false,
    dropColumn: false,
    unknownReason: reason,
    text,
    parseTree,
  };
}

/** The statements as the server runs them: consecutive analyses of one `resultGroup` are one. */
export function resultGroups<T extends { resultGroup?: object }>(statements: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (const statement of statements) {
    const last = groups.at(-1);
    if (last && statement?.resultGroup !== undefined && last[0]?.resultGroup === statement.resultGroup)
      last.push(statement);
    else groups.push([statement]);
  }
  return groups;
}

/**
 * A statement followed by everything it installs (recursively), as the one server statement they
 * are: they share a `resultGroup`, and each installed statement names its origin.
 */
export function withInstalled(analysis: StatementAnalysis): StatementAnalysis[] {
  if (!analysis.installs || analysis.installs.length === 0) return [analysis];
  const flat: StatementAnalysis[] = [];
  const visit = (a: StatementAnalysis) => {
    flat.push(a);
    for (const inner of a.installs ?? []) visit(inner);
  };
  visit(analysis);
  const resultGroup = analysis.resultGroup ?? {};
  return flat.map(({ installs: _installs, ...a }) => ({ ...a, resultGroup }));
}
