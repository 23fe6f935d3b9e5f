import {
  flagsOf,
  unknownStatement,
  type StatementAnalysis,
  type StatementFlag,
  type StatementKind,
} from '../../sql/statement-analysis.ts';
import type { Decision, MysqlQueryAction, PgFunctionCallAction, PgQueryAction } from '../actions-and-decisions.ts';
import {
  compileFunctionAllowList,
  compileFunctionGlobs,
  compileGlobs,
  compileTableGlobs,
  type NameTest,
} from '../glob.ts';
import type { PolicyRule, RuleWhen } from '../policy-types.ts';
import {
  ACTION_SEVERITY,
  defaultDeny,
  type Evaluation,
  type FactNamespace,
  type RuleScope,
  type StatementDecision,
} from './fact-namespace.ts';

/**
 * The SQL facts a rule tests, as written in YAML (snake_case), shared by every SQL dialect
 * (PostgreSQL, MySQL/MariaDB): adapters analyse statements into the same facts. Lists are "any
 * of"; keys are ANDed. Written at the top level of `when` (the original form) or under `when.sql`.
 */
export interface SqlWhen {
  kind?: StatementKind[];
  /** Globs on the command tag, case-insensitive: "DROP *", "TRUNCATE". */
  command?: string[];
  /** Globs on any table read or written. Unqualified patterns also match schema-qualified names. */
  tables?: string[];
  tables_read?: string[];
  tables_written?: string[];
  /** Matches when any called function matches one of these globs. */
  functions?: string[];
  /** Matches when every called function matches one of these globs (vacuously true with no calls). */
  only_functions?: string[];
  /** Matches when any of these flags is set. */
  flags?: StatementFlag[];
  /** Matches when none of these flags is set. */
  without_flags?: StatementFlag[];
}

/** The SQL keys of `when` (and of `when.sql`). */
export const SQL_WHEN_KEYS = [
  'kind',
  'command',
  'tables',
  'tables_read',
  'tables_written',
  'functions',
  'only_functions',
  'flags',
  'without_flags',
] as const satisfies readonly (keyof SqlWhen)[];

/** The actions whose facts are SQL statements. */
export type SqlAction = PgQueryAction | MysqlQueryAction | PgFunctionCallAction;

export const EMPTY_QUERY_RULE = 'empty-query';

/** A FunctionCall message names a function by OID only: the engine treats it as an unanalysable statement. */
const FUNCTION_CALL_REASON =
  'the FunctionCall protocol message calls a function by OID, which the gateway cannot analyse';

/** The rule's SQL facts in each form it writes them: top-level keys, `when.sql`, or both (ANDed). */
export function sqlWhensOf(when: RuleWhen): SqlWhen[] {
  const topLevel: SqlWhen = {};
  for (const key of SQL_WHEN_KEYS) if (when[key] !== undefined) Object.assign(topLevel, { [key]: when[key] });
  const forms = Object.keys(topLevel).length > 0 ? [topLevel] : [];
  if (when.sql !== undefined) forms.push(when.sql);
  return forms;
}

/** The statement kinds a rule's SQL facts allow (undefined: any), intersected across both forms. */
export function sqlKindsOf(when: RuleWhen): StatementKind[] | undefined {
  let kinds: StatementKind[] | undefined;
  for (const form of sqlWhensOf(when)) {
    if (form.kind) kinds = kinds ? kinds.filter((kind) => form.kind!.includes(kind)) : [...form.kind];
  }
  return kinds;
}

function anyOf(values: readonly string[], test: NameTest): boolean {
  for (const value of values) if (test(value)) return true;
  return false;
}

function compileSqlWhen(when: SqlWhen, allowsUnknown: boolean): (analysis: StatementAnalysis) => boolean {
  const kinds = when.kind && new Set<string>(when.kind);
  const command = when.command && compileGlobs(when.command);
  const tables = when.tables && compileTableGlobs(when.tables);
  const tablesRead = when.tables_read && compileTableGlobs(when.tables_read);
  const tablesWritten = when.tables_written && compileTableGlobs(when.tables_written);
  const functions = when.functions && compileFunctionGlobs(when.functions);
  const onlyFunctions = when.only_functions && compileFunctionAllowList(when.only_functions);
  const flags = when.flags && new Set<StatementFlag>(when.flags);
  const withoutFlags = when.without_flags && new Set<StatementFlag>(when.without_flags);
  const needsFlags = flags !== undefined || withoutFlags !== undefined;

  return (a) => {
    if (a.kind === 'unknown' && !allowsUnknown) return false;
    if (kinds && !kinds.has(a.kind)) return false;
    if (command && !command(a.command)) return false;
    if (tables && !anyOf(a.tablesRead, tables) && !anyOf(a.tablesWritten, tables)) return false;
    if (tablesRead && !anyOf(a.tablesRead, tablesRead)) return false;
    if (tablesWritten && !anyOf(a.tablesWritten, tablesWritten)) return false;
    if (functions && !anyOf(a.functions, functions)) return false;
    if (onlyFunctions && !a.functions.every(onlyFunctions)) return false;
    if (needsFlags) {
      const set = flagsOf(a);
      if (flags && !set.some((f) => flags.has(f))) return false;
      if (withoutFlags && set.some((f) => withoutFlags.has(f))) return false;
    }
    return true;
  };
}

/**
 * A decision made by code the server runs for the client's statement (a function body, a trigger)
 * says where that code came from, so the client sees why its own harmless-looking text was refused.
 */
function withOrigin(decision: Decision, results: readonly StatementDecision[]): Decision {
  if (decision.action === 'allow') return decision;
  const deciding = results.filter((r) => r.decision === decision).map((r) => r.statement);
  const origin = deciding.every((s) => s.origin !== undefined) ? deciding[0]?.origin : undefined;
  return origin ? { ...decision, reason: `${decision.reason} (in ${origin})` } : decision;
}

function statementDefaultDeny(analysis: StatementAnalysis, connection: string): Decision {
  if (analysis.kind === 'unknown') {
    return defaultDeny(
      `the gateway cannot analyse this statement (${analysis.unknownReason ?? 'unknown statement'}); it is denied unless a rule allows kind unknown`,
    );
  }
  return defaultDeny(
    `no policy rule allows ${analysis.command} on connection '${connection}'; add an allow rule for it`,
  );
}

function statementsOf(action: SqlAction): readonly StatementAnalysis[] {
  if (action.type === 'pg.function-call')
    return [unknownStatement(`FunctionCall ${action.functionOid}`, FUNCTION_CALL_REASON)];
  return action.statements;
}

/**
 * SQL facts: every statement of a query is decided on its own (decisions cached per scope and
 * statement analysis) and the most restrictive decides the query. Statements of kind `unknown`
 * match only rules that list `kind: [unknown]`.
 */
export const SQL_FACTS: FactNamespace<SqlAction, StatementAnalysis> = {
  name: 'sql',
  actionTypes: ['pg.query', 'mysql.query', 'pg.function-call'],
  names: (when) => sqlWhensOf(when).length > 0,
  compile(rule: PolicyRule) {
    const forms = sqlWhensOf(rule.when);
    const allowsUnknown = sqlKindsOf(rule.when)?.includes('unknown') ?? false;
    const tests = (forms.length > 0 ? forms : [{}]).map((form) => compileSqlWhen(form, allowsUnknown));
    const [only] = tests;
    if (tests.length === 1) return { matches: only! };
    return { matches: (analysis) => tests.every((test) => test(analysis)) };
  },
  createEvaluator() {
    const cache = new WeakMap<object, WeakMap<StatementAnalysis, Decision>>();
    const decideStatement = (scope: RuleScope<StatementAnalysis>, analysis: StatementAnalysis, connection: string) => {
      let decisions = cache.get(scope.key);
      if (!decisions) cache.set(scope.key, (decisions = new WeakMap()));
      const cached = decisions.get(analysis);
      if (cached) return cached;
      const decision = scope.decide(analysis) ?? Object.freeze(statementDefaultDeny(analysis, connection));
      decisions.set(analysis, decision);
      return decision;
    };
    return {
      evaluate(action, scope): Evaluation {
        const statements = statementsOf(action);
        if (statements.length === 0) {
          return {
            decision: { action: 'allow', rule: EMPTY_QUERY_RULE, reason: 'an empty query runs nothing' },
            statements: [],
          };
        }
        const results = statements.map((statement) => ({
          statement,
          decision: decideStatement(scope, statement, action.connection),
        }));
        let worst = results[0]!.decision;
        for (const { decision } of results)
          if (ACTION_SEVERITY[decision.action] > ACTION_SEVERITY[worst.action]) worst = decision;
        return { decision: withOrigin(worst, results), statements: results };
      },
    };
  },
};
