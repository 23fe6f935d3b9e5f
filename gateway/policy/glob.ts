/** A compiled list of patterns: true when any pattern matches. */
export type NameTest = (value: string) => boolean;

const GLOB_CHARS = /[*?[]/;

/** `*` any run of characters, `?` one character, `[...]` a class; everything else literal. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, close).replace(/\\/g, '\\\\');
      source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = close;
    } else source += ch.replace(/[.+^${}()|\\/\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}

/**
 * Compiles name globs (connections, identities, commands, tables, functions). `*` matches any
 * run of characters; matching is case-insensitive because SQL folds unquoted names and command
 * tags are upper-case.
 */
export function compileGlobs(patterns: readonly string[]): NameTest {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of patterns) {
    if (GLOB_CHARS.test(pattern)) globs.push(globToRegExp(pattern));
    else exact.add(pattern.toLowerCase());
  }
  if (globs.length === 0) return (value) => exact.has(value.toLowerCase());
  return (value) => exact.has(value.toLowerCase()) || globs.some((re) => re.test(value));
}

/** True when `pattern` would match every name (`*`, `**`). */
export function isCatchAll(pattern: string): boolean {
  return /^\*+$/.test(pattern.trim());
}

/**
 * Relation names: a pattern without a dot also matches the last part of a qualified name, so
 * `customers` matches `public.customers`.
 */
export function compileTableGlobs(patterns: readonly string[]): NameTest {
  const qualified = compileGlobs(patterns.filter((p) => p.includes('.')));
  const bare = compileGlobs(patterns.filter((p) => !p.includes('.')));
  return (name) => qualified(name) || bare(name) || bare(name.slice(name.lastIndexOf('.') + 1));
}

/**
 * Function names for "any call matches" tests: an unqualified pattern matches in every schema
 * (a same-named function elsewhere is caught too).
 */
export function compileFunctionGlobs(patterns: readonly string[]): NameTest {
  return compileTableGlobs(patterns);
}

/**
 * Function names for allow-lists (`only_functions`): an unqualified pattern matches only the
 * unqualified name or `pg_catalog.name`, so `evil.count()` is not mistaken for `count()`.
 */
export function compileFunctionAllowList(patterns: readonly string[]): NameTest {
  const test = compileGlobs(patterns);
  return (name) => test(name) || (name.startsWith('pg_catalog.') && test(name.slice('pg_catalog.'.length)));
}
