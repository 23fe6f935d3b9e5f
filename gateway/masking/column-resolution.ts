import { RAW, derived, fromMaskedData, maskContent, strictest, type ColumnMask } from './column-mask.ts';
import { nodeOf, stringOf, type AnalysisContext, type RangeEntry, type Scope } from './analysis-types.ts';
import type { ExprTaint } from './expression-taint.ts';

/** How a column reference resolves, exactly as PostgreSQL looks names up: innermost scope first, an alias hiding its table. */

const CLEAN: ExprTaint = { mask: RAW, text: false };

/** System columns every table has; they hold row identities, never user data. */
const SYSTEM_COLUMNS: ReadonlySet<string> = new Set(['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);

function touched(mask: ColumnMask, ctx: AnalysisContext): void {
  if (fromMaskedData(mask)) ctx.facts.touchesMasked = true;
}

/** What a column reference resolves to in the scope chain, or null when nothing there has that name. */
export function findColumn(fields: unknown[], scope: Scope): ExprTaint | null {
  const names = fields.map((f) => stringOf(f));
  const star = fields.length > 0 && nodeOf(fields[fields.length - 1])?.[0] === 'A_Star';
  if (star) return wholeRow(scope, names.length >= 2 ? (names[names.length - 2] ?? null) : null);
  if (names.length === 1 && names[0]) return bareColumn(names[0], scope) ?? wholeRow(scope, names[0]);
  if (names.length >= 2 && names.every((x) => x !== null))
    return qualifiedColumn(names[names.length - 2]!, names[names.length - 1]!, scope);
  return null;
}

/** Resolves a column reference through the scope chain; unresolved means masked whole. */
export function columnRef(fields: unknown[], scope: Scope, ctx: AnalysisContext): ExprTaint {
  const names = fields.map((f) => stringOf(f));
  const star = fields.length > 0 && nodeOf(fields[fields.length - 1])?.[0] === 'A_Star';
  const result = findColumn(fields, scope);
  const last = names[names.length - 1];
  const system = !star && last !== null && last !== undefined && SYSTEM_COLUMNS.has(last);
  const out =
    result ??
    // Nothing has that name: PostgreSQL fails the statement before it reads a row, so it touches no masked data.
    (system ? CLEAN : { mask: maskContent(`column ${names.join('.')} does not exist`), text: false });
  touched(out.mask, ctx);
  return out;
}

function entryColumn(entry: RangeEntry, name: string): ExprTaint | null {
  if (entry.columns === null)
    return { mask: entry.fallback, text: entry.fallback.kind === 'raw' && entry.freeText !== false };
  const hits = entry.columns.filter((c) => c.name === name);
  if (hits.length === 0) return null;
  return { mask: strictest(hits.map((h) => h.mask)), text: hits.some((h) => h.text) };
}

function bareColumn(name: string, scope: Scope): ExprTaint | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const known = s.entries.filter((e) => e.columns?.some((c) => c.name === name));
    const unknown = s.entries.filter((e) => e.columns === null);
    if (known.length > 0) {
      const parts = [...known, ...unknown].map((e) => entryColumn(e, name)!);
      return { mask: strictest(parts.map((p) => p.mask)), text: parts.some((p) => p.text) };
    }
    if (unknown.length > 0) {
      const parts = unknown.map((e) => entryColumn(e, name)!);
      const outer = s.parent ? bareColumn(name, s.parent) : null;
      if (outer) parts.push(outer);
      return { mask: strictest(parts.map((p) => p.mask)), text: parts.some((p) => p.text) };
    }
  }
  return null;
}

function qualifiedColumn(qualifier: string, name: string, scope: Scope): ExprTaint | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const entries = s.entries.filter((e) => e.name === qualifier);
    if (entries.length > 0) {
      const parts = entries.map((e) => entryColumn(e, name));
      if (parts.some((p) => p === null)) return null;
      return { mask: strictest(parts.map((p) => p!.mask)), text: parts.some((p) => p!.text) };
    }
  }
  return null;
}

/** A whole-row reference (`c`, `c.*` inside an expression) is masked whole when any column is masked. */
function wholeRow(scope: Scope, qualifier: string | null): ExprTaint | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const entries = qualifier === null ? s.entries : s.entries.filter((e) => e.name === qualifier);
    if (entries.length === 0) continue;
    const masks: ColumnMask[] = [];
    let text = false;
    for (const e of entries) {
      if (e.columns === null) masks.push(e.fallback);
      for (const c of e.columns ?? []) {
        masks.push(c.mask);
        text ||= c.text;
      }
    }
    return { mask: derived(strictest(masks), 'whole-row reference'), text };
  }
  return null;
}
