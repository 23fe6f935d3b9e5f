import type { KubeObject } from './object-store.ts';

/** One requirement of a label or field selector. */
interface Requirement {
  key: string;
  op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

export interface Selectors {
  labels: Requirement[];
  fields: Requirement[];
}

/** Splits on commas outside parentheses (`a in (x,y),b=c`). */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function parseTerm(term: string): Requirement | null {
  const set = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
  if (set) return { key: set[1]!, op: set[2] as 'in' | 'notin', values: set[3]!.split(',').map((v) => v.trim()) };
  const eq = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
  if (eq) return { key: eq[1]!.trim(), op: eq[2] === '!=' ? '!=' : '=', values: [eq[3]!.trim()] };
  if (/^![^=!\s]+$/.test(term)) return { key: term.slice(1), op: '!exists', values: [] };
  if (/^[^=!\s]+$/.test(term)) return { key: term, op: 'exists', values: [] };
  return null;
}

/** Parses `labelSelector` and `fieldSelector`; a malformed one is an error message. */
export function parseSelectors(query: URLSearchParams): Selectors | string {
  const out: Selectors = { labels: [], fields: [] };
  for (const [param, list] of [
    ['labelSelector', out.labels],
    ['fieldSelector', out.fields],
  ] as const) {
    for (const term of terms(query.get(param) ?? '')) {
      const requirement = parseTerm(term);
      if (!requirement) return `unable to parse requirement: ${param} '${term}'`;
      list.push(requirement);
    }
  }
  return out;
}

function fieldValue(object: KubeObject, path: string): string | undefined {
  let node: any = object;
  for (const part of path.split('.')) node = node?.[part];
  return node === undefined || node === null ? undefined : String(node);
}

function satisfied(requirement: Requirement, value: string | undefined): boolean {
  switch (requirement.op) {
    case '=':
      return value === requirement.values[0];
    case '!=':
      return value !== requirement.values[0];
    case 'in':
      return value !== undefined && requirement.values.includes(value);
    case 'notin':
      return value === undefined || !requirement.values.includes(value);
    case 'exists':
      return value !== undefined;
    case '!exists':
      return value === undefined;
  }
}

export function matchesSelectors(object: KubeObject, selectors: Selectors): boolean {
  const labels = object.metadata.labels ?? {};
  return (
    selectors.labels.every((r) => satisfied(r, labels[r.key])) &&
    selectors.fields.every((r) => satisfied(r, fieldValue(object, r.key)))
  );
}
