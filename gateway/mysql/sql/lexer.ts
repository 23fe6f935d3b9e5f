import { versionedCodeRuns, type LexerMode } from './lexer-mode.ts';

/** One token as the server's lexer would produce it. `text` is canonical: safe to re-emit for the grammar. */
export interface Token {
  type: 'word' | 'identifier' | 'string' | 'number' | 'variable' | 'param' | 'operator' | 'semicolon';
  /** Words: as written; identifiers and strings: their decoded value; others: their text. */
  value: string;
  /** Offsets in the query text (UTF-16), for slicing each statement's own text. */
  start: number;
  end: number;
  /** A string's prefix (N, X, B, or a `_charset` introducer) written right before it. */
  prefix?: string;
}

/** The tokens of a query, or why the server's lexing of it cannot be reproduced with certainty. */
export type LexResult = { ok: true; tokens: Token[] } | { ok: false; reason: string };

const SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);
const isIdentChar = (c: string | undefined) => c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c >= '\u0080');
const OPERATORS = ['<=>', '->>', '<=', '>=', '<>', '!=', ':=', '||', '&&', '<<', '>>', '->'];

class LexError extends Error {}

/**
 * Tokenizes a query the way MySQL/MariaDB do: `--` is a comment only before whitespace, `#`
 * comments, versioned comments resolved against the server version (skipped ones nest one
 * level, as the server's do), strings and identifiers quoted per sql_mode, a single trailing
 * NUL dropped. Anything the server would reject or that could be read two ways (a NUL inside,
 * an unterminated string or comment, a versioned comment inside another) is a failure.
 */
export function lex(sql: string, mode: LexerMode, options: { untilSemicolon?: boolean } = {}): LexResult {
  if (mode.unsupported) return { ok: false, reason: mode.unsupported };
  const text = sql.endsWith('\0') ? sql.slice(0, -1) : sql;
  if (text.includes('\0')) return { ok: false, reason: 'the query contains a NUL byte' };
  try {
    return { ok: true, tokens: new Lexer(text, mode, options.untilSemicolon ?? false).run() };
  } catch (error) {
    if (error instanceof LexError) return { ok: false, reason: error.message };
    throw error;
  }
}

class Lexer {
  private i = 0;
  private inVersioned = false;
  private readonly tokens: Token[] = [];

  constructor(
    private readonly s: string,
    private readonly mode: LexerMode,
    private readonly untilSemicolon: boolean,
  ) {}

  run(): Token[] {
    while (this.i < this.s.length) {
      this.step();
      if (this.untilSemicolon && this.tokens.at(-1)?.type === 'semicolon') return this.tokens;
    }
    if (this.inVersioned) throw new LexError('a versioned comment is not closed');
    return this.tokens;
  }

  private push(type: Token['type'], value: string, start: number, prefix?: string): void {
    this.tokens.push({ type, value, start, end: this.i, ...(prefix !== undefined ? { prefix } : {}) });
  }

  private step(): void {
    const { s } = this;
    const c = s[this.i]!;
    if (SPACE.has(c)) return void this.i++;
    if (c === '#') return this.lineComment();
    if (c === '-' && s[this.i + 1] === '-' && (this.i + 2 >= s.length || SPACE.has(s[this.i + 2]!)))
      return this.lineComment();
    if (c === '/' && s[this.i + 1] === '*') return this.blockComment();
    if (c === '*' && s[this.i + 1] === '/' && this.inVersioned) {
      this.inVersioned = false;
      this.i += 2;
      return;
    }
    if (c === "'" || (c === '"' && !this.mode.ansiQuotes)) return this.string(c, this.i, undefined);
    if (c === '`' || c === '"') return this.quotedIdentifier(c, this.i);
    if (c === '@') return this.adjacentToName() ? this.operator() : this.variable();
    if (c === '?') {
      this.i++;
      return this.push('param', '?', this.i - 1);
    }
    if (c === ';') {
      if (this.inVersioned) throw new LexError('a statement ends inside a versioned comment');
      this.i++;
      return this.push('semicolon', ';', this.i - 1);
    }
    if (isIdentChar(c) || (c === '.' && /[0-9]/.test(s[this.i + 1] ?? ''))) return this.wordOrNumber();
    return this.operator();
  }

  private lineComment(): void {
    const end = this.s.indexOf('\n', this.i);
    this.i = end < 0 ? this.s.length : end + 1;
  }

  private blockComment(): void {
    const { s } = this;
    const start = this.i;
    const versioned = s[start + 2] === '!' ? '!' : s[start + 2] === 'M' && s[start + 3] === '!' ? 'M!' : undefined;
    if (!versioned) {
      const end = s.indexOf('*/', start + 2);
      if (end < 0) throw new LexError('a comment is not closed');
      this.i = end + 2;
      return;
    }
    if (this.inVersioned) throw new LexError('a versioned comment inside another');
    let at = start + 2 + versioned.length;
    let digits = '';
    if (/^[0-9]{5}/.test(s.slice(at, at + 5))) digits = s.slice(at, at + (/[0-9]/.test(s[at + 5] ?? '') ? 6 : 5));
    at += digits.length;
    if (versionedCodeRuns(this.mode, versioned, digits)) {
      this.inVersioned = true;
      this.i = at;
      return;
    }
    this.i = skipNested(s, at);
  }

  private string(quote: string, start: number, prefix: string | undefined): void {
    const { s } = this;
    let value = '';
    let i = start + 1;
    for (;;) {
      if (i >= s.length) throw new LexError('a string is not closed');
      const c = s[i]!;
      if (c === quote) {
        if (s[i + 1] === quote) {
          value += quote;
          i += 2;
          continue;
        }
        break;
      }
      if (c === '\\' && !this.mode.noBackslashEscapes) {
        if (i + 1 >= s.length) throw new LexError('a string is not closed');
        value += unescape(s[i + 1]!);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    this.i = i + 1;
    this.push('string', value, start, prefix);
  }

  private quotedIdentifier(quote: string, start: number): void {
    const { s } = this;
    let value = '';
    let i = start + 1;
    for (;;) {
      const end = s.indexOf(quote, i);
      if (end < 0) throw new LexError('a quoted identifier is not closed');
      value += s.slice(i, end);
      if (s[end + 1] === quote) {
        value += quote;
        i = end + 2;
        continue;
      }
      this.i = end + 1;
      break;
    }
    this.push('identifier', value, start);
  }

  /** `'user'@'host'`: an `@` right after a name or string (no space) joins an account name, not a variable. */
  private adjacentToName(): boolean {
    const last = this.tokens.at(-1);
    return (
      last !== undefined &&
      last.end === this.i &&
      (last.type === 'string' || last.type === 'identifier' || last.type === 'word')
    );
  }

  private variable(): void {
    const { s } = this;
    const start = this.i;
    const system = s[start + 1] === '@';
    let i = start + (system ? 2 : 1);
    const q = s[i];
    if (!system && (q === "'" || q === '"' || q === '`')) {
      const end = s.indexOf(q, i + 1);
      if (end < 0 || s.slice(i + 1, end).includes('\\'))
        throw new LexError('a quoted variable name is not closed or has escapes');
      this.i = end + 1;
      return this.push('variable', `@${s.slice(i + 1, end)}`, start);
    }
    while (i < s.length && (isIdentChar(s[i]) || (system && s[i] === '.'))) i++;
    if (i === start + (system ? 2 : 1)) throw new LexError('a variable without a name');
    this.i = i;
    this.push('variable', s.slice(start, i), start);
  }

  private wordOrNumber(): void {
    const { s } = this;
    const start = this.i;
    let i = start;
    while (i < s.length && isIdentChar(s[i])) i++;
    const run = s.slice(start, i);
    const number = /^(?:0x[0-9a-fA-F]+|0b[01]+|\d*\.?\d+(?:[eE][+-]?\d+)?|\d+\.(?:[eE][+-]?\d+)?)/.exec(s.slice(start));
    if (number && (start + number[0].length >= s.length || !isIdentChar(s[start + number[0].length]))) {
      this.i = start + number[0].length;
      return this.push('number', number[0], start);
    }
    if (run === '') return this.operator();
    this.i = i;
    const next = s[i];
    if (next === "'" && (/^[NnXxBb]$/.test(run) || /^_[A-Za-z0-9]+$/.test(run))) return this.string("'", i, run);
    if (/^\d+$/.test(run)) return this.push('number', run, start);
    this.push('word', run, start);
  }

  private operator(): void {
    const start = this.i;
    const op = OPERATORS.find((o) => this.s.startsWith(o, start)) ?? this.s[start]!;
    this.i += op.length;
    this.push('operator', op, start);
  }
}

/** Skips a versioned comment whose code does not run: to its `*\/`, past one nested plain comment level. */
function skipNested(s: string, from: number): number {
  let i = from;
  for (;;) {
    const close = s.indexOf('*/', i);
    const open = s.indexOf('/*', i);
    if (close < 0) throw new LexError('a versioned comment is not closed');
    if (open >= 0 && open < close) {
      const inner = s.indexOf('*/', open + 2);
      if (inner < 0) throw new LexError('a comment is not closed');
      i = inner + 2;
      continue;
    }
    return close + 2;
  }
}

const ESCAPES: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };

function unescape(c: string): string {
  // \% and \_ keep their backslash (LIKE patterns), as the server does.
  if (c === '%' || c === '_') return `\\${c}`;
  return ESCAPES[c] ?? c;
}
