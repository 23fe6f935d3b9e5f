import type { Token } from './lexer.ts';
import type { MysqlStatementAnalysis } from './mysql-analysis.ts';
import type { AnalyzeTokens } from './token-statements.ts';

const up = (t: Token | undefined) => (t?.type === 'word' ? t.value.toUpperCase() : '');

/** What the statements of a stored-program body read, write and call, and whether some of it could not be analysed. */
export interface BodyFacts {
  statements: MysqlStatementAnalysis[];
  opaque: boolean;
}

const SKIPPED = new Set(['LEAVE', 'ITERATE', 'OPEN', 'CLOSE', 'FETCH']);

/**
 * Analyses a stored-program body (BEGIN ... END with IF, WHILE, LOOP, REPEAT, DECLARE, RETURN)
 * statement by statement: conditions and RETURN values as expressions, cursors as their
 * SELECT, everything else as a statement. What it cannot take apart (handlers, CASE
 * statements) makes the body opaque: the gateway will not see it run.
 */
export function analyzeBody(tokens: Token[], analyze: AnalyzeTokens): BodyFacts {
  const facts: BodyFacts = { statements: [], opaque: false };
  let piece: Token[] = [];
  for (const t of [...tokens, { type: 'semicolon', value: ';', start: 0, end: 0 } as Token]) {
    if (t.type !== 'semicolon') {
      piece.push(t);
      continue;
    }
    if (piece.length > 0) analyzePiece(piece, analyze, facts, 0);
    piece = [];
  }
  return facts;
}

function expression(tokens: Token[], analyze: AnalyzeTokens, facts: BodyFacts): void {
  if (tokens.length === 0) return;
  const select = { type: 'word', value: 'SELECT', start: 0, end: 0 } as Token;
  add(analyze([select, ...tokens], ''), facts);
}

function add(analysis: MysqlStatementAnalysis, facts: BodyFacts): void {
  if (analysis.kind === 'unknown' || analysis.opaqueCode) facts.opaque = true;
  facts.statements.push(analysis);
}

function analyzePiece(tokens: Token[], analyze: AnalyzeTokens, facts: BodyFacts, depth: number): void {
  if (tokens.length === 0) return;
  if (depth > 64) return void (facts.opaque = true);
  const w0 = up(tokens[0]);
  const next = (from: number) => analyzePiece(tokens.slice(from), analyze, facts, depth + 1);
  if (tokens[1]?.type === 'operator' && tokens[1].value === ':' && tokens[0]!.type !== 'string') return next(2);
  if (w0 === 'BEGIN') return next(up(tokens[1]) === 'NOT' && up(tokens[2]) === 'ATOMIC' ? 3 : 1);
  if (w0 === 'END')
    return next(
      ['IF', 'LOOP', 'WHILE', 'REPEAT', 'CASE'].includes(up(tokens[1]))
        ? 2
        : 1 + Number(tokens[1] !== undefined && tokens.length === 2),
    );
  if (w0 === 'ELSE' || w0 === 'LOOP' || w0 === 'REPEAT') return next(1);
  if (SKIPPED.has(w0)) return;
  if (w0 === 'IF' || w0 === 'ELSEIF' || w0 === 'WHILE' || w0 === 'UNTIL') {
    const stop = tokens.findIndex((t, i) => i > 0 && ['THEN', 'DO', 'END'].includes(up(t)));
    if (stop < 0) return expression(tokens.slice(1), analyze, facts);
    expression(tokens.slice(1, stop), analyze, facts);
    return next(up(tokens[stop]) === 'END' ? stop : stop + 1);
  }
  if (w0 === 'RETURN') return expression(tokens.slice(1), analyze, facts);
  if (w0 === 'DECLARE') {
    const words = tokens.map(up);
    if (words.includes('HANDLER') || words.includes('CONDITION'))
      return void (facts.opaque = words.includes('HANDLER') || facts.opaque);
    const cursor = words.indexOf('CURSOR');
    if (cursor > 0 && words[cursor + 1] === 'FOR') return add(analyze(tokens.slice(cursor + 2), ''), facts);
    const fallback = words.indexOf('DEFAULT');
    return fallback > 0 ? expression(tokens.slice(fallback + 1), analyze, facts) : undefined;
  }
  if (w0 === 'CASE') return void (facts.opaque = true);
  add(analyze(tokens, ''), facts);
}
