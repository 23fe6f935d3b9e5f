/** One `key=value` / `key==value` / `key!=value` term of a field selector, value unescaped. */
export interface FieldTerm {
  key: string;
  op: '=' | '!=';
  value: string;
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[++i];
      continue;
    }
    if (ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** `\\`, `\,` and `\=` are the only escapes field selector values have (k8s.io/apimachinery/pkg/fields). */
function unescape(value: string): string | null {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = value[++i];
    if (next !== '\\' && next !== ',' && next !== '=') return null;
    out += next;
  }
  return out;
}

function operatorAt(term: string): { at: number; op: '=' | '!='; width: number } | null {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === '\\') {
      i++;
      continue;
    }
    if (term.startsWith('!=', i)) return { at: i, op: '!=', width: 2 };
    if (term.startsWith('==', i)) return { at: i, op: '=', width: 2 };
    if (term[i] === '=') return { at: i, op: '=', width: 1 };
  }
  return null;
}

/**
 * Parses a field selector as the API server does; null when the server would refuse it, so the
 * gateway refuses it too instead of deriving facts from a selector the server reads otherwise.
 */
export function parseFieldSelector(selector: string): FieldTerm[] | null {
  if (selector.trim() === '') return [];
  const terms: FieldTerm[] = [];
  // The server sorts the terms before reading them, so "the first" exact match is in sorted order.
  for (const term of splitUnescaped(selector, ',').sort()) {
    if (term === '') continue;
    const op = operatorAt(term);
    if (!op) return null;
    const value = unescape(term.slice(op.at + op.width));
    if (value === null) return null;
    terms.push({ key: term.slice(0, op.at).trim(), op: op.op, value });
  }
  return terms;
}

/** The value `field` must equal (`RequiresExactMatch`): the first `field=` or `field==` term. */
export function exactMatch(terms: readonly FieldTerm[], field: string): string | undefined {
  return terms.find((term) => term.key === field && term.op === '=')?.value;
}
