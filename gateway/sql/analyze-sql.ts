import { loadModule, parseSync } from 'libpg-query';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { analyzeStatement } from './analyze-statement.ts';
import { createLruCache, type LruCache } from './lru-cache.ts';
import { unknownStatement, type StatementAnalysis } from './statement-analysis.ts';

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
}

/**
 * Loads the PostgreSQL parser (WASM) so that analysis afterwards is synchronous. Call once at
 * startup; calling again is harmless.
 */
export async function loadSqlParser(): Promise<void> {
  await loadModule();
}

type Body = Record<string, unknown>;

function parseStatements(sql: string): Body[] {
  return (parseSync(sql).stmts ?? []).map((s) => s.stmt as unknown as Body);
}

/**
 * Splits `sql` into statements and analyses each with the real PostgreSQL parser. Never throws
 * for bad SQL: a parse failure, over-size input or a NUL byte yields one `unknown` analysis.
 * An empty or comment-only query yields no analyses.
 */
export function analyzeSql(sql: string, options: AnalyzeSqlOptions = {}): readonly StatementAnalysis[] {
  const cached = options.cache?.get(sql);
  if (cached) return cached;
  const maxBytes = options.maxBytes ?? SQL_ANALYSIS_DEFAULTS.maxBytes;
  const analyses = freezeAnalyses(analyzeUncached(sql, maxBytes));
  if (Buffer.byteLength(sql) <= maxBytes) options.cache?.set(sql, analyses);
  return analyses;
}

function analyzeUncached(sql: string, maxBytes: number): StatementAnalysis[] {
  const bytes = Buffer.byteLength(sql);
  if (bytes > maxBytes) {
    return [unknownStatement(sql.slice(0, 200), `the query is ${bytes} bytes, over the ${maxBytes}-byte limit (limits.max_statement_bytes)`)];
  }
  if (sql.includes('\0')) return [unknownStatement(sql, 'the query contains a NUL byte')];
  if (sql.trim() === '') return [];
  let result: ReturnType<typeof parseSync>;
  try {
    result = parseSync(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('loadModule')) {
      throw new GatehouseError('sql.parser-not-loaded', 'the SQL parser is not loaded; await loadSqlParser() once at startup before analysing SQL', { cause: error });
    }
    return [unknownStatement(sql, `PostgreSQL's parser rejects it: ${message}`)];
  }
  const slice = sliceStatements(sql, bytes);
  return (result.stmts ?? []).map((raw) => {
    const stmt = raw.stmt as unknown as Body;
    const text = slice(raw.stmt_location ?? 0, raw.stmt_len);
    try {
      return analyzeStatement(stmt, text, parseStatements);
    } catch (error) {
      if (error instanceof RangeError) return unknownStatement(text, 'the statement is nested too deeply to analyse');
      throw error;
    }
  });
}

/** The parser reports UTF-8 byte offsets; this maps them back to the statement's own text. */
function sliceStatements(sql: string, bytes: number): (location: number, length: number | undefined) => string {
  if (bytes === sql.length) return (location, length) => sql.slice(location, length ? location + length : undefined).trim();
  const buffer = Buffer.from(sql);
  return (location, length) => buffer.subarray(location, length ? location + length : undefined).toString().trim();
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
