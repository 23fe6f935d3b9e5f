import { parse } from 'shell-quote';

/** Characters that make an unquoted word mean more than itself to a POSIX shell. */
const UNQUOTED_SPECIAL = new Set([...'\n\r`$();&|<>*?[]{}#~!']);
/** Inside double quotes only substitutions are special. */
const DOUBLE_QUOTED_SPECIAL = new Set(['$', '`']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Spaces the splitter (JavaScript `\s`) breaks words on but a shell keeps inside a word. */
const NON_ASCII_SPACE = /\s/u;

/**
 * Splits an SSH exec command into the words a POSIX shell would pass to the program, so policy
 * rules can match on the program and its arguments. Returns null for anything whose words a shell
 * would compute rather than read (operators, substitutions, expansions, globs, comments, line
 * breaks, leading assignments, unbalanced quotes, control characters): the policy engine then
 * treats the command as unanalysable, which fails closed.
 */
export function splitCommandWords(command: string): string[] | null {
  if (!isPlainShellText(command)) return null;
  let tokens: ReturnType<typeof parse>;
  try {
    tokens = parse(command, (name: string) => ({ op: `$${name}` }) as never);
  } catch {
    return null;
  }
  const words: string[] = [];
  for (const token of tokens) {
    if (typeof token !== 'string') return null;
    words.push(token);
  }
  if (words.length === 0 || ASSIGNMENT.test(words[0]!)) return null;
  return words;
}

function isPlainShellText(command: string): boolean {
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < command.length; i++) {
    const char = command[i]!;
    const code = char.charCodeAt(0);
    if ((code < 0x20 && char !== '\t' && char !== '\n' && char !== '\r') || code === 0x7f) return false;
    if (code > 0x7f && NON_ASCII_SPACE.test(char)) return false;
    if (quote === "'") {
      if (char === "'") quote = null;
      continue;
    }
    if (quote === '"') {
      if (char === '\\') i++;
      else if (char === '"') quote = null;
      else if (DOUBLE_QUOTED_SPECIAL.has(char)) return false;
      continue;
    }
    if (char === '\\') {
      if (command[i + 1] === '\n' || command[i + 1] === '\r' || i + 1 >= command.length) return false;
      i++;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (UNQUOTED_SPECIAL.has(char)) {
      return false;
    }
  }
  return quote === null;
}
