import type { MaskingConfig } from '../../masking/masking-config.ts';
import { lex, type Token } from '../sql/lexer.ts';
import type { LexerMode } from '../sql/lexer-mode.ts';
import type { MysqlStatementAnalysis } from '../sql/mysql-analysis.ts';
import { analyzeMysql } from '../sql/analyze-mysql.ts';
import type { MysqlCatalog, TableFacts } from './mysql-catalog.ts';
import { scanStatement } from './statement-scan.ts';

/** A table or view a statement names, and whether reading it can reach masked data. */
export interface PlannedTable extends TableFacts {
  masked: boolean;
  /** Lower-cased names of the columns that carry masked data (a view's: those computed from it). */
  maskedColumns: ReadonlySet<string>;
}

/**
 * How one statement's result columns are masked, decided before it is forwarded. Column
 * origins the server reports are trusted only for a plain SELECT and only when they name a
 * table the statement itself names; everything else without a trusted origin is masked whole
 * when the statement could reach masked data.
 */
export interface StatementPlan {
  deny?: string;
  /** Every column masked whole: a shape the gateway cannot follow (CALL, EXECUTE, warnings after masked data). */
  maskAll: boolean;
  plainSelect: boolean;
  /** Values without a trusted origin could carry masked data. */
  mentionsMasked: boolean;
  /** The statement's tables by lower-cased `schema.name`. */
  tables: ReadonlyMap<string, PlannedTable>;
  /** It calls a function that could hide free text from the detectors (reverse, hex, substr, ...). */
  hidesText: boolean;
}

/**
 * Functions whose result still shows its text arguments as they are (so the detectors see a
 * secret in them) or shows no text of them at all. Any other function may hide free text of an
 * unmasked column from the detectors (REVERSE, HEX, TO_BASE64, SUBSTR, INSERT, ...), so a value
 * computed with it is masked whole when the connection has detectors.
 */
const TRANSPARENT = new Set(
  (
    'upper lower ucase lcase concat concat_ws trim ltrim rtrim coalesce ifnull nullif if count sum avg min max ' +
    'group_concat length char_length character_length octet_length bit_length now curdate curtime current_date ' +
    'current_timestamp utc_timestamp round floor ceil ceiling abs sign greatest least database schema user ' +
    'current_user version connection_id last_insert_id row_count found_rows md5 sha1 sha2 crc32 year month day ' +
    'date datediff timestampdiff date_add date_sub unix_timestamp'
  ).split(' '),
);

/** Whether a statement calls a function outside {@link TRANSPARENT}. */
export function hidesText(statement: MysqlStatementAnalysis): boolean {
  return statement.functions.some((f) => !TRANSPARENT.has(lastPart(f).toLowerCase()));
}

/** The plan of a connection with detectors but no column rules: nothing to resolve, only text that could hide. */
export function contentOnlyPlan(statement: MysqlStatementAnalysis): StatementPlan {
  return {
    maskAll: false,
    plainSelect: false,
    mentionsMasked: false,
    tables: new Map(),
    hidesText: hidesText(statement),
  };
}

/** Tables whose rows are statistics over other tables' values (min/max, histograms). */
const DATA_BEARING = new Set(['mysql.column_stats']);
const STORED_CODE = /^(CREATE|ALTER) (PROCEDURE|FUNCTION|TRIGGER|EVENT)\b/;
const VIEW_DDL = /^(CREATE|ALTER|DROP) VIEW\b/;
const MAX_VIEW_DEPTH = 6;

export interface PlannerDeps {
  config: MaskingConfig;
  catalog: MysqlCatalog;
}

const lastPart = (name: string) => name.slice(name.lastIndexOf('.') + 1).replace(/^`|`$/g, '');

/** Plans every statement of one request; `touched` says the session already read masked data. */
export async function planStatements(
  deps: PlannerDeps,
  statements: readonly MysqlStatementAnalysis[],
  mode: LexerMode,
  session: { touched: boolean },
): Promise<StatementPlan[]> {
  const plans: StatementPlan[] = [];
  for (const statement of statements) {
    const plan = await planStatement(deps, statement, mode, session.touched);
    session.touched ||= plan.mentionsMasked || [...plan.tables.values()].some((t) => t.masked);
    plans.push(plan);
  }
  return plans;
}

async function planStatement(
  deps: PlannerDeps,
  statement: MysqlStatementAnalysis,
  mode: LexerMode,
  touched: boolean,
): Promise<StatementPlan> {
  const lexed = lex(statement.text, mode);
  if (!lexed.ok) return denial(`masking could not read the statement: ${lexed.reason}`);
  const named = [...statement.tablesRead, ...statement.tablesWritten].map(lastPart);
  const tables = await plannedTables(deps, [...new Set([...named, ...wordsOf(lexed.tokens)])], 0);
  // A table read that does not exist yet (created earlier in the same query) cannot be traced.
  const unresolved = statement.tablesRead.map(lastPart).some((n) => !tables.has(n.toLowerCase()));
  const facts = [...tables.values()].flat();
  const readsMasked = unresolved || facts.some((t) => t.masked);
  const maskedNames = new Set<string>();
  for (const t of facts) for (const c of t.maskedColumns) maskedNames.add(c);
  const scan = scanStatement(lexed.tokens, maskedNames, readsMasked);
  const routines = await deps.catalog.routines(statement.functions.map(lastPart));
  const storedFunction = [...routines.values()].some((r) => r.some((x) => x.type === 'FUNCTION'));
  const mentionsMasked = scan.mentionsMasked || unresolved || storedFunction;
  const byKey = new Map(facts.map((t) => [`${t.schema}.${t.name}`.toLowerCase(), t]));
  const plan: StatementPlan = {
    maskAll: false,
    plainSelect: scan.plainSelect,
    mentionsMasked,
    tables: byKey,
    hidesText: hidesText(statement),
  };
  const deny = refusal(statement, { ...scan, mentionsMasked, readsMasked, storedFunction });
  if (deny) return { ...plan, deny };
  const warnings = statement.command === 'SHOW' && /^\s*SHOW\s+(WARNINGS|ERRORS)\b/i.test(statement.text);
  const opaque = statement.kind === 'unknown' || statement.command === 'EXECUTE' || statement.command === 'CALL';
  return { ...plan, maskAll: opaque || (warnings && touched) };
}

function denial(reason: string): StatementPlan {
  return { deny: reason, maskAll: true, plainSelect: false, mentionsMasked: true, tables: new Map(), hidesText: true };
}

function wordsOf(tokens: readonly { type: string; value: string }[]): string[] {
  return tokens.filter((t) => t.type === 'word' || t.type === 'identifier').map((t) => t.value);
}

/** Looks up every name; a view is masked when anything it reads is (followed to a depth, then assumed). */
async function plannedTables(deps: PlannerDeps, names: string[], depth: number): Promise<Map<string, PlannedTable[]>> {
  const found = await deps.catalog.tables(names);
  const out = new Map<string, PlannedTable[]>();
  for (const [key, list] of found) {
    if (list.length === 0) continue;
    const planned: PlannedTable[] = [];
    for (const t of list) {
      const maskedColumns = await maskedColumnsOf(deps, t, depth);
      planned.push({ ...t, masked: maskedColumns.size > 0, maskedColumns });
    }
    out.set(key, planned);
  }
  return out;
}

const lower = (names: readonly string[]) => new Set(names.map((n) => n.toLowerCase()));

async function maskedColumnsOf(deps: PlannerDeps, t: TableFacts, depth: number): Promise<Set<string>> {
  if (DATA_BEARING.has(`${t.schema}.${t.name}`.toLowerCase())) return lower(t.columns);
  if (t.type === 'VIEW') return viewMaskedColumns(deps, t, depth);
  if (t.type === 'SYSTEM VIEW') return new Set();
  return lower(t.columns.filter((c) => deps.config.columnRule(t.schema, t.name, c) !== null));
}

const VIEW_MODE: LexerMode = { ansiQuotes: false, noBackslashEscapes: false, mariadb: true, version: 999999 };

/**
 * The columns of a view computed from masked data: its definition (as the server prints it) is
 * read like a statement; a view whose shape cannot be followed has every column masked.
 */
async function viewMaskedColumns(deps: PlannerDeps, view: TableFacts, depth: number): Promise<Set<string>> {
  const all = lower(view.columns);
  if (view.viewDefinition === null || depth >= MAX_VIEW_DEPTH) return all;
  const lexed = lex(view.viewDefinition, VIEW_MODE);
  if (!lexed.ok) return all;
  const analysed = analyzeMysql(view.viewDefinition, VIEW_MODE, { maxBytes: 1 << 22 });
  if (analysed.length !== 1 || analysed[0]!.kind === 'unknown') return all;
  const routines = await deps.catalog.routines(analysed[0]!.functions.map(lastPart));
  const inner = await plannedTables(deps, wordsOf(lexed.tokens), depth + 1);
  const unresolved = analysed[0]!.tablesRead.map(lastPart).some((n) => !inner.has(n.toLowerCase()));
  const maskedInner = new Set([...inner.values()].flat().flatMap((t) => [...t.maskedColumns]));
  if (maskedInner.size === 0 && !unresolved && ![...routines.values()].some((r) => r.length > 0)) return new Set();
  const scan = scanStatement(lexed.tokens, maskedInner, true);
  if (!scan.plainSelect || unresolved || [...routines.values()].some((r) => r.length > 0)) return all;
  const items = selectItems(lexed.tokens);
  if (items.length !== view.columns.length) return all;
  const masked = new Set<string>();
  items.forEach((item, i) => {
    if (item.some((t) => maskedInner.has(t.value.toLowerCase()) || t.value === '*'))
      masked.add(view.columns[i]!.toLowerCase());
  });
  return masked;
}

/** The select list of a one-SELECT definition, split at its top-level commas. */
function selectItems(tokens: readonly Token[]): Token[][] {
  const items: Token[][] = [[]];
  let depth = 0;
  const start = tokens.findIndex((t) => t.type === 'word' && t.value.toUpperCase() === 'SELECT');
  for (let i = start + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'operator' && t.value === '(') depth++;
    if (t.type === 'operator' && t.value === ')') depth--;
    if (depth === 0 && t.type === 'word' && t.value.toUpperCase() === 'FROM') break;
    if (depth === 0 && t.type === 'operator' && t.value === ',') items.push([]);
    else items.at(-1)!.push(t);
  }
  return items;
}

interface Evidence {
  mentionsMasked: boolean;
  readsMasked: boolean;
  storedFunction: boolean;
  rowDecision?: string;
}

/** Why masking refuses a statement before it runs, if it does. */
function refusal(statement: MysqlStatementAnalysis, e: Evidence): string | undefined {
  const command = statement.command;
  if (STORED_CODE.test(command))
    return `${command} is refused while this connection masks columns: stored code could copy masked values where they are not masked`;
  if (statement.kind === 'ddl') {
    if (e.readsMasked && /^(ALTER|RENAME) TABLE\b/.test(command))
      return `${command} of a table with masked columns is refused: renaming it or its columns would unmask them`;
    if (e.mentionsMasked && !VIEW_DDL.test(command))
      return `${command} over masked columns is refused: it would copy masked values where they are not masked`;
    return undefined;
  }
  if (statement.kind === 'read' && command === 'SELECT') {
    if (e.rowDecision) return e.rowDecision;
    if (e.mentionsMasked && statement.userVariables.length > 0)
      return 'a user variable next to masked data is refused: it would keep the masked value unmasked';
    return undefined;
  }
  if (statement.file !== undefined && (e.readsMasked || e.mentionsMasked))
    return `${command} with masked data is refused: the file would hold the values unmasked`;
  if (statement.kind === 'read' && command === 'SHOW') return undefined;
  if (e.mentionsMasked && statement.kind !== 'unknown')
    return `${command} over masked columns is refused: it would copy, compare or keep masked values unmasked`;
  if (e.storedFunction && statement.kind !== 'read')
    return `${command} calling a stored function is refused while this connection masks columns`;
  return e.rowDecision;
}
