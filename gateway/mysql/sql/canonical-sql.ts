import type { Token } from './lexer.ts';

/**
 * Writes tokens back as SQL the grammar reads exactly as the server lexed them: comments are
 * gone (versioned code already inlined or dropped), identifiers are backquoted, strings are
 * single-quoted with only `''` and `\\` escapes, and every token is separated by a space (so
 * `1--1` cannot become a comment). Returns null for a token the grammar could misread.
 */
export function canonicalSql(tokens: readonly Token[]): string | null {
  const out: string[] = [];
  for (const t of tokens) {
    switch (t.type) {
      case 'identifier':
        out.push(`\`${t.value.replace(/`/g, '``')}\``);
        break;
      case 'string': {
        const prefix = t.prefix?.toUpperCase();
        if (prefix === 'X' || prefix === 'B') {
          if (!/^[0-9A-Fa-f]*$/.test(t.value)) return null;
          out.push(`${prefix}'${t.value}'`);
        } else {
          out.push(`${prefix === 'N' ? 'N' : ''}'${t.value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`);
        }
        break;
      }
      case 'variable':
        if (!/^@@?[A-Za-z0-9_$.\u0080-\uffff]+$/.test(t.value)) return null;
        out.push(t.value);
        break;
      case 'semicolon':
        return null;
      default:
        out.push(t.value);
    }
  }
  return out.join(' ');
}
