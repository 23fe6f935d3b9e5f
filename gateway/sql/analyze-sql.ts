import { GatehouseError } from '../errors/gatehouse-error.ts';
import { analyzeStatement } from './analyze-statement.ts';
import { createLruCache, type LruCache } from './lru-cache.ts';
import { DEFAULT_MAJOR, loadSqlParsers, sqlParser, type SqlParser } from './sql-parser.ts';
import { unknownStatement, withInstalled, type StatementAnalysis } from './statement-analysis.ts';

export const SQL_ANALYSIS_DEFAULTS = {
  /** Matches the config default `limits.max_statement_bytes`. */
  maxBytes: 1_048_576,
  cacheEntries: 4096,
} as const;

/** Analyses shared between connections; entries are frozen, so sharing them is safe. */
export type AnalysisCache = LruCache<readonly StatementAnalysis[]>;

export function createAnalysisCache(entries: number = SQL_ANALYSIS_DEFAULTS.cacheEntries): AnalysisCache {
  return createLruCache(entries);
}

export interface AnalyzeSqlOptions {
  /** Input longer than this (UTF-8 bytes) is not parsed and is analysed as `unknown`. */
  maxBytes?: number;
  cache?: AnalysisCache;
  /** The grammar of the target's major version (default: the newest). */
  parser?: SqlParser;
}

/**
 * Loads the PostgreSQL parser (WASM) so that analysis afterwards is synchronous. Call once at
 * startup; calling again is harmless.
 */
export async function loadSqlParser(): Promise<void> {
  await loadSqlParsers();
}

type Body = Record<string, unknown>;

function statementsOf(parser: SqlParser): (sql: string) => Body[] {
  return (sql) => (parser.parse(sql).stmts ?? []).map((s) => s.stmt as unknown as Body);
}

/**
 * Splits `sql` into statements and analyses each with the real PostgreSQL parser. Never throws
 * for bad SQL: a parse failure, over-size input or a NUL byte yields one `unknown` analysis.
 * An empty or comment-only query yields no analyses.
 */
export function analyzeSql(sql: string, options: AnalyzeSqlOptions = {}): readonly StatementAnalysis[] {
  const parser = options.parser ?? sqlParser();
  // One cache serves every grammar: a text is analysed anew for each major version.
  const key = parser.major === DEFAULT_MAJOR ? sql : `${parser.major}\u0000${sql}`;
  const cached = options.cache?.get(key);
  if (cached && !isTemplateEntry(cached)) return cached;
  const maxBytes = options.maxBytes ?? SQL_ANALYSIS_DEFAULTS.maxBytes;
  const withinLimit = Buffer.byteLength(sql) <= maxBytes;
  const raw = options.cache && withinLimit ? integerTemplate(sql) : null;
  const template = raw === null ? null : parser.major === DEFAULT_MAJOR ? raw : `${parser.major}\u0000${raw}`;
  if (template !== null) {
    const shared = options.cache!.get(template);
    if (shared && isTemplateEntry(shared)) {
      const analyses = fromTemplate(shared[0]!, sql, parser);
      options.cache!.set(key, analyses);
      return analyses;
    }
  }
  const analyses = freezeAnalyses(analyzeUncached(sql, maxBytes, parser));
  if (withinLimit) options.cache?.set(key, analyses);
  if (template !== null && templateEligible(analyses, sql)) {
    const entry = [analyses[0]!];
    Object.defineProperty(entry, TEMPLATE_ENTRY, { value: true });
    options.cache!.set(template, Object.freeze(entry));
  }
  return analyses;
}

/**
 * Simple-protocol clients (pgbench -S, ORMs without prepared statements) send a fresh literal
 * in every query, so an exact-text cache never hits. A plain single SELECT's facts cannot
 * depend on the value of an integer literal (relations and functions are identifiers; the
 * only literal the analysis reads is a string, `set_config`'s first argument), so such a
 * query is also cached under its text with each short integer literal replaced. Entries made
 * that way carry a mark so an exact-text lookup never returns one. A hit copies the facts
 * and takes the query's own text; its parse tree (masking reads constants) is parsed on first
 * use. Anything the scanner is unsure of (comments, dollar quotes, escapes, parameters, NUL,
 * decimals, long integers) keeps the literal in the key, i.e. no sharing.
 */
const TEMPLATE_ENTRY = Symbol('gatehouse.integer-template');
const TEMPLATE_PREFIX = '\u0000int-template:';
const UNSURE = /[$\\\0]|--|\/\*|[eEuUbBxXnN]'/;
const WORD = /[A-Za-z0-9_$."'\u0080-\uffff]/;

function isTemplateEntry(entry: readonly StatementAnalysis[]): boolean {
  return (entry as unknown as Record<symbol, unknown>)[TEMPLATE_ENTRY] === true;
}

/** The template key of `sql`, or null when it has no integer literal to replace or the scan is unsure. */
export function integerTemplate(sql: string): string | null {
  if (UNSURE.test(sql)) return null;
  let out = '';
  let replaced = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      if (end < 0) return null;
      out += sql.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (c >= '0' && c <= '9' && (i === 0 || !WORD.test(sql[i - 1]!))) {
      let end = i;
      while (end < sql.length && sql[end]! >= '0' && sql[end]! <= '9') end++;
      if (end - i <= 9 && (end === sql.length || !WORD.test(sql[end]!))) {
        out += '0';
        replaced++;
        i = end;
        continue;
      }
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    out += c;
    i++;
  }
  return replaced > 0 ? `${TEMPLATE_PREFIX}${out}` : null;
}

function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i;
    }
    i++;
  }
  return -1;
}

/** The statement text the parser would slice from a one-statement query. */
function wholeText(sql: string): string {
  const trimmed = sql.trim();
  return trimmed.endsWith(';') ? trimmed.slice(0, -1).trim() : trimmed;
}

function templateEligible(analyses: readonly StatementAnalysis[], sql: string): boolean {
  if (analyses.length !== 1) return false;
  const a = analyses[0]!;
  return (
    a.kind === 'read' &&
    a.command === 'SELECT' &&
    a.unknownReason === undefined &&
    !a.explainAnalyze &&
    !a.selectInto &&
    !a.createTableAs &&
    !a.dataModifyingCte &&
    !a.unboundedWrite &&
    !a.opaqueCode &&
    !a.copyProgram &&
    !a.copyServerFile &&
    a.dangerousFunctions.length === 0 &&
    a.preparedName === undefined &&
    a.executeName === undefined &&
    a.deallocateName === undefined &&
    a.text === wholeText(sql)
  );
}

function fromTemplate(shared: StatementAnalysis, sql: string, parser: SqlParser): readonly StatementAnalysis[] {
  let tree: unknown;
  let parsed = false;
  const analysis = { ...shared, text: wholeText(sql) };
  Object.defineProperty(analysis, 'parseTree', {
    enumerable: true,
    get() {
      if (!parsed) {
        parsed = true;
        try {
          tree = statementsOf(parser)(sql)[0] ?? null;
        } catch {
          tree = null;
        }
      }
      return tree;
    },
  });
  return Object.freeze([Object.freeze(analysis)]);
}

function analyzeUncached(sql: string, maxBytes: number, parser: SqlParser): StatementAnalysis[] {
  const bytes = Buffer.byteLength(sql);
  if (bytes > maxBytes) {
    return [
      unknownStatement(
        sql.slice(0, 200),
        `the query is ${bytes} bytes, over the ${maxBytes}-byte limit (limits.max_statement_bytes)`,
      ),
    ];
  }
  if (sql.includes('\0')) return [unknownStatement(sql, 'the query contains a NUL byte')];
  if (sql.trim() === '') return [];
  let result: ReturnType<SqlParser['parse']>;
  try {
    result = parser.parse(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('loadModule')) {
      throw new GatehouseError(
        'sql.parser-not-loaded',
        'the SQL parser is not loaded; await loadSqlParser() once at startup before analysing SQL',
        { cause: error },
      );
    }
    return [unknownStatement(sql, `PostgreSQL's parser rejects it: ${message}`)];
  }
  const slice = sliceStatements(sql, bytes);
  return (result.stmts ?? []).flatMap((raw) => {
    const stmt = raw.stmt as unknown as Body;
    const text = slice(raw.stmt_location ?? 0, raw.stmt_len);
    try {
      return withInstalled(analyzeStatement(stmt, text, statementsOf(parser)));
    } catch (error) {
      if (error instanceof RangeError) return [unknownStatement(text, 'the statement is nested too deeply to analyse')];
      throw error;
    }
  });
}

/** The parser reports UTF-8 byte offsets; this maps them back to the statement's own text. */
function sliceStatements(sql: string, bytes: number): (location: number, length: number | undefined) => string {
  if (bytes === sql.length)
    return (location, length) => sql.slice(location, length ? location + length : undefined).trim();
  const buffer = Buffer.from(sql);
  return (location, length) =>
    buffer
      .subarray(location, length ? location + length : undefined)
      .toString()
      .trim();
}

/**
 * Freezes the analyses and their lists so a cached result cannot be changed by one caller under
 * another. The parse tree is shared read-only but not frozen: walking it costs as much as parsing.
 */
function freezeAnalyses(analyses: StatementAnalysis[]): readonly StatementAnalysis[] {
  for (const analysis of analyses) {
    for (const value of Object.values(analysis)) if (Array.isArray(value)) Object.freeze(value);
    Object.freeze(analysis);
  }
  return Object.freeze(analyses);
}
