import type { Token } from './lexer.ts';

/** One statement as the server will run it: its tokens and its own slice of the query text. */
export interface Segment {
  tokens: Token[];
  text: string;
  /** A compound statement (stored-program body, BEGIN NOT ATOMIC, IF ... END IF): `;` inside it does not split. */
  compound: boolean;
  /** No tokens but a comment: the server answers it with an empty OK. */
  empty: boolean;
}

export type SplitResult = { ok: true; segments: Segment[] } | { ok: false; reason: string };

const upper = (t: Token | undefined) => (t?.type === 'word' ? t.value.toUpperCase() : '');
const BLOCK_ENDS = new Set(['IF', 'CASE', 'LOOP', 'WHILE', 'REPEAT']);
const PROGRAMS = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT']);

/** Whether a statement's tokens start a compound statement (so its body's `;` belong to it). */
export function startsCompound(tokens: readonly Token[]): boolean {
  const first = upper(tokens[0]);
  if (first === 'CREATE') return tokens.slice(1, 14).some((t) => PROGRAMS.has(upper(t)));
  if (first === 'BEGIN') return upper(tokens[1]) === 'NOT' && upper(tokens[2]) === 'ATOMIC';
  if (tokens[1]?.type === 'operator' && tokens[1].value === ':') return true;
  if (first === 'IF' || first === 'CASE') return tokens[1]?.type !== 'operator' || tokens[1].value !== '(';
  return first === 'LOOP' || first === 'WHILE' || first === 'REPEAT';
}

/** How a word changes the block depth inside a compound statement (+1 opens, -1 closes, 0 neither). */
function blockStep(tokens: readonly Token[], i: number): number {
  const word = upper(tokens[i]);
  const previous = upper(tokens[i - 1]);
  const next = tokens[i + 1];
  const call = next?.type === 'operator' && next.value === '(';
  if (word === 'END') return -1;
  if (previous === 'END' && BLOCK_ENDS.has(word)) return 0;
  if (word === 'BEGIN' || word === 'CASE' || word === 'LOOP' || word === 'WHILE') return 1;
  if (word === 'REPEAT') return call ? 0 : 1;
  if (word === 'IF') return call || upper(next) === 'EXISTS' || upper(next) === 'NOT' ? 0 : 1;
  return 0;
}

/**
 * Splits a token stream at `;` the way the server does: a compound statement is one statement
 * up to its matching END, whatever `;` its body holds. An unbalanced body cannot be split
 * safely and fails.
 */
export function splitStatements(sql: string, tokens: readonly Token[]): SplitResult {
  const segments: Segment[] = [];
  let start = 0;
  let textStart = 0;
  while (start <= tokens.length) {
    const compound = start < tokens.length && startsCompound(tokens.slice(start, start + 15));
    let depth = 0;
    let i = start;
    for (; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.type === 'semicolon' && depth === 0) break;
      if (compound && t.type === 'word') {
        depth += blockStep(tokens, i);
        if (depth < 0) return { ok: false, reason: 'END without a matching block in a compound statement' };
      }
    }
    if (depth !== 0) return { ok: false, reason: 'a compound statement (BEGIN ... END) is not closed' };
    const own = tokens.slice(start, i);
    const textEnd = i < tokens.length ? tokens[i]!.start : sql.length;
    const raw = sql.slice(textStart, textEnd);
    if (own.length > 0 || segments.length === 0 || raw.trim() !== '') {
      const text = own.length > 0 ? sql.slice(own[0]!.start, own.at(-1)!.end) : raw.trim();
      segments.push({ tokens: own, text, compound, empty: own.length === 0 });
    }
    if (i >= tokens.length) break;
    start = i + 1;
    textStart = tokens[i]!.end;
  }
  while (segments.length > 1 && segments.at(-1)!.empty && segments.at(-1)!.text === '') segments.pop();
  return { ok: true, segments };
}
