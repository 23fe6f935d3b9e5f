import { GatehouseError } from '../errors/gatehouse-error.ts';

/** One step of a JSON path: an object key or an array index. */
export type JsonPathStep = string | number;

/** One compiled selector: a key, an index, any child (`*`), and whether it may skip levels (`..`). */
interface Selector {
  descendant: boolean;
  match: { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'any' };
}

/** A compiled JSON path: tests the path of a value the scanner is at. */
export type JsonPathTest = (path: readonly JsonPathStep[]) => boolean;

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/**
 * Compiles the JSONPath subset policies use for body facts and masking: `$`, `.name`, `['name']`,
 * `[0]`, `[*]`, `.*` and the descendant forms `..name`, `..*`. Filters, slices and unions are not
 * supported; a path using them is refused where the policy is loaded, not silently ignored.
 */
export function compileJsonPath(expression: string): JsonPathTest {
  const selectors = parseJsonPath(expression);
  return (path) => matchFrom(selectors, 0, path, 0);
}

/** The selectors of a path; throws a GatehouseError naming the expression and what is wrong. */
export function parseJsonPath(expression: string): Selector[] {
  const bad = (why: string) =>
    new GatehouseError('policy.json-path', `JSON path "${expression}": ${why}; write e.g. $.spec.force or $..token`);
  if (!expression.startsWith('$')) throw bad('it must start with $');
  const selectors: Selector[] = [];
  let rest = expression.slice(1);
  while (rest.length > 0) {
    const descendant = rest.startsWith('..');
    if (descendant) rest = rest.slice(2);
    else if (rest.startsWith('.')) rest = rest.slice(1);
    else if (!rest.startsWith('[')) throw bad(`unexpected "${rest.slice(0, 10)}"`);
    const parsed = rest.startsWith('[') ? bracket(rest) : dotted(rest);
    if (!parsed) throw bad(`cannot read the step "${rest.slice(0, 10)}"`);
    selectors.push({ descendant, match: parsed.match });
    rest = rest.slice(parsed.length);
  }
  return selectors;
}

function dotted(rest: string): { match: Selector['match']; length: number } | null {
  if (rest.startsWith('*')) return { match: { kind: 'any' }, length: 1 };
  const name = NAME.exec(rest)?.[0];
  return name ? { match: { kind: 'key', key: name }, length: name.length } : null;
}

function bracket(rest: string): { match: Selector['match']; length: number } | null {
  const close = rest.indexOf(']');
  if (close < 0) return null;
  const inner = rest.slice(1, close).trim();
  if (inner === '*') return { match: { kind: 'any' }, length: close + 1 };
  if (/^\d{1,9}$/.test(inner)) return { match: { kind: 'index', index: Number(inner) }, length: close + 1 };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (!quoted || quoted[2]!.includes(quoted[1]!)) return null;
  return { match: { kind: 'key', key: quoted[2]! }, length: close + 1 };
}

function stepMatches(selector: Selector, step: JsonPathStep): boolean {
  const m = selector.match;
  if (m.kind === 'any') return true;
  if (m.kind === 'index') return step === m.index;
  return step === m.key;
}

function matchFrom(selectors: Selector[], s: number, path: readonly JsonPathStep[], p: number): boolean {
  if (s === selectors.length) return p === path.length;
  if (p === path.length) return false;
  const selector = selectors[s]!;
  if (stepMatches(selector, path[p]!) && matchFrom(selectors, s + 1, path, p + 1)) return true;
  return selector.descendant && matchFrom(selectors, s, path, p + 1);
}
