import { createLruCache, type LruCache } from '../../sql/lru-cache.ts';
import { emptyAstFacts } from './ast-facts.ts';
import { canonicalSql } from './canonical-sql.ts';
import { classifyAst } from './classify-statement.ts';
import { parseStatement } from './grammar.ts';
import { lex, type Token } from './lexer.ts';
import { sqlModeFlags, type LexerMode } from './lexer-mode.ts';
import { fromFacts, mysqlUnknown, type MysqlStatementAnalysis } from './mysql-analysis.ts';
import { analyzeBody } from './program-body.ts';
import { splitStatements, type Segment } from './split-statements.ts';
import { analyzeByTokens } from './token-statements.ts';

export type MysqlAnalysisCache = LruCache<readonly MysqlStatementAnalysis[]>;

export function createMysqlAnalysisCache(entries = 4096): MysqlAnalysisCache {
  return createLruCache(entries);
}

export interface AnalyzeMysqlOptions {
  /** Input longer than this (UTF-8 bytes) is `unknown`. */
  maxBytes?: number;
  cache?: MysqlAnalysisCache;
}

const up = (t: Token | undefined) => (t?.type === 'word' ? t.value.toUpperCase() : '');

/**
 * Analyses a COM_QUERY (one or more statements) as the server will run it under `mode`: the
 * gateway's lexer, then the grammar on each statement. Never throws for bad SQL; what cannot be
 * analysed is `unknown`. A constant `SET sql_mode` re-lexes the statements after it in the new
 * mode, as the server does; a change the gateway cannot compute makes the rest `unknown`.
 */
export function analyzeMysql(
  sql: string,
  mode: LexerMode,
  options: AnalyzeMysqlOptions = {},
): readonly MysqlStatementAnalysis[] {
  const key = `${mode.ansiQuotes ? 1 : 0}${mode.noBackslashEscapes ? 1 : 0}${mode.mariadb ? 1 : 0}${mode.version}:${sql}`;
  const cached = options.cache?.get(key);
  if (cached) return cached;
  const maxBytes = options.maxBytes ?? 1_048_576;
  const bytes = Buffer.byteLength(sql);
  const analyses =
    bytes > maxBytes
      ? [
          mysqlUnknown(
            sql.slice(0, 200),
            `the query is ${bytes} bytes, over the ${maxBytes}-byte limit (limits.max_statement_bytes)`,
          ),
        ]
      : analyzeAll(sql, mode);
  for (const a of analyses) Object.freeze(a);
  const frozen = Object.freeze(analyses);
  if (bytes <= maxBytes) options.cache?.set(key, frozen);
  return frozen;
}

function analyzeAll(sql: string, mode: LexerMode): MysqlStatementAnalysis[] {
  const out: MysqlStatementAnalysis[] = [];
  let rest = sql;
  let current = mode;
  for (;;) {
    const lexed = lexStatements(rest, current);
    if (!lexed.ok) return [...out, mysqlUnknown(rest, lexed.reason)];
    const split = splitStatements(rest, lexed.tokens);
    if (!split.ok) return [...out, mysqlUnknown(rest, split.reason)];
    if (out.length === 0 && split.segments.length === 1 && split.segments[0]!.empty) return [];
    let changed: LexerMode | 'unknowable' | undefined;
    let index = 0;
    for (; index < split.segments.length; index++) {
      const segment = split.segments[index]!;
      out.push(...analyzeSegment(segment, current));
      changed = modeChange(segment.tokens, current);
      if (changed !== undefined) break;
    }
    const after = split.segments.slice(index + 1);
    if (changed === undefined || after.length === 0) return out;
    if (changed === 'unknowable') {
      for (const s of after)
        out.push(
          mysqlUnknown(s.text, 'it follows a change of sql_mode the gateway cannot compute; send it as its own query'),
        );
      return out;
    }
    const boundary = lexed.tokens.indexOf(split.segments[index]!.tokens.at(-1)!) + 1;
    rest = rest.slice(lexed.tokens[boundary]?.end ?? rest.length);
    current = changed;
  }
}

/**
 * Lexes a query; when the whole does not lex but its first statement changes sql_mode, only that
 * statement is taken now (the server lexes what follows under the new mode, and so will we).
 */
function lexStatements(sql: string, mode: LexerMode): ReturnType<typeof lex> {
  const whole = lex(sql, mode);
  if (whole.ok) return whole;
  const first = lex(sql, mode, { untilSemicolon: true });
  if (
    first.ok &&
    first.tokens.at(-1)?.type === 'semicolon' &&
    modeChange(first.tokens.slice(0, -1), mode) !== undefined
  )
    return first;
  return whole;
}

/** A statement that sets sql_mode: the new mode when its value is a constant, 'unknowable' otherwise. */
function modeChange(tokens: readonly Token[], mode: LexerMode): LexerMode | 'unknowable' | undefined {
  if (up(tokens[0]) !== 'SET') return undefined;
  const names = tokens.filter((t) => t.type === 'word' || t.type === 'variable').map((t) => t.value.toLowerCase());
  if (!names.some((n) => /(^|@|\.)sql_mode$/.test(n))) return undefined;
  const simple =
    tokens.length >= 4 &&
    tokens.at(-1)!.type === 'string' &&
    tokens.at(-2)!.value === '=' &&
    tokens.filter((t) => t.type === 'operator').length === 1;
  if (!simple) return 'unknowable';
  return {
    ...mode,
    ...sqlModeFlags(tokens.at(-1)!.value),
    unsupported: sqlModeFlags(tokens.at(-1)!.value).unsupported,
  };
}

/** Analyses one statement's tokens: compound programs, then token-level forms, then the grammar. */
export function analyzeTokens(tokens: Token[], text: string, mode: LexerMode): MysqlStatementAnalysis {
  const recurse = (t: Token[], x: string) => analyzeTokens(t, x, mode);
  const byTokens = analyzeByTokens(tokens, text, recurse, (inner) => analyzeMysql(inner, mode));
  if (byTokens) return byTokens;
  if (up(tokens[0]) === 'CALL')
    return mysqlUnknown(text, 'CALL runs a procedure whose body the gateway cannot analyse');
  const canonical = canonicalSql(tokens);
  if (canonical === null) return mysqlUnknown(text, 'a token the grammar could read differently from the server');
  const parsed = parseStatement(canonical);
  if (!parsed.ok)
    return up(tokens[0]) === 'SHOW'
      ? fromFacts('read', 'SHOW', emptyAstFacts(), text, null)
      : mysqlUnknown(text, parsed.reason);
  return classifyAst(parsed.ast, text);
}

/**
 * One statement's analyses. A compound statement that runs now (BEGIN NOT ATOMIC ... END, IF ...)
 * stands for every statement of its body, so each is decided as if sent alone.
 */
function analyzeSegment(segment: Segment, mode: LexerMode): MysqlStatementAnalysis[] {
  if (segment.empty) return [{ ...fromFacts('utility', 'EMPTY', emptyAstFacts(), segment.text, null), empty: true }];
  if (!segment.compound) return [analyzeTokens(segment.tokens, segment.text, mode)];
  if (up(segment.tokens[0]) === 'CREATE') return [analyzeCompound(segment, mode)];
  const recurse = (t: Token[], x: string) => analyzeTokens(t, x, mode);
  const body = analyzeBody(segment.tokens, recurse);
  if (body.opaque || body.statements.length === 0)
    return [mysqlUnknown(segment.text, 'a compound statement the gateway cannot fully analyse')];
  const resultGroup = {};
  return body.statements.map((s) => ({ ...s, text: segment.text, resultGroup }));
}

const PROGRAM_KINDS = ['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT'];
const BODY_STARTS = new Set([
  'BEGIN',
  'RETURN',
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'REPLACE',
  'SET',
  'CALL',
  'IF',
  'CASE',
  'LOOP',
  'WHILE',
  'REPEAT',
  'DO',
  'WITH',
]);

/** CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT (facts of its body), or a compound statement that runs now. */
function analyzeCompound(segment: Segment, mode: LexerMode): MysqlStatementAnalysis {
  const { tokens, text } = segment;
  const words = tokens.map(up);
  const recurse = (t: Token[], x: string) => analyzeTokens(t, x, mode);
  const kindAt = words.findIndex((w) => PROGRAM_KINDS.includes(w));
  const creates = words[0] === 'CREATE' && kindAt > 0;
  const bodyAt = creates ? bodyStart(tokens, kindAt) : 0;
  if (bodyAt < 0) return mysqlUnknown(text, 'a stored program whose body the gateway cannot find');
  const body = analyzeBody(tokens.slice(bodyAt), recurse);
  const facts = emptyAstFacts();
  for (const s of body.statements) {
    s.tablesRead.forEach((t) => facts.tablesRead.add(t));
    s.tablesWritten.forEach((t) => facts.tablesWritten.add(t));
    s.functions.forEach((f) => facts.functions.add(f));
    s.userVariables.forEach((v) => facts.userVariables.add(v));
  }
  const unbounded = body.statements.some((s) => s.unboundedWrite);
  if (words[kindAt] === 'TRIGGER') {
    const on = words.indexOf('ON', kindAt);
    if (on > 0 && tokens[on + 1]) facts.tablesWritten.add(tokens[on + 1]!.value);
  }
  return fromFacts('ddl', `CREATE ${words[kindAt]}`, facts, text, null, {
    opaqueCode: body.opaque,
    unboundedWrite: unbounded,
  });
}

/** Where a stored program's body starts: the first statement keyword after its header. */
function bodyStart(tokens: readonly Token[], kindAt: number): number {
  const words = tokens.map(up);
  let i = kindAt + 1;
  if (words[kindAt] === 'EVENT') {
    const doAt = words.indexOf('DO', i);
    return doAt < 0 ? -1 : doAt + 1;
  }
  if (words[kindAt] === 'TRIGGER') {
    const each = words.indexOf('ROW', i);
    if (each < 0) return -1;
    i = each + 1;
    if (words[i] === 'FOLLOWS' || words[i] === 'PRECEDES') i += 2;
    return i;
  }
  let depth = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.value === '(') depth++;
    else if (t.value === ')') depth--;
    else if (depth === 0 && words[i - 1] !== 'RETURNS' && BODY_STARTS.has(words[i]!) && tokens[i + 1]?.value !== '(')
      return i;
    else if (depth === 0 && tokens[i + 1]?.value === ':' && BODY_STARTS.has(words[i + 2] ?? '')) return i;
  }
  return -1;
}
