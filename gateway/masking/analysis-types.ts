import type { ColumnMask } from './column-mask.ts';
import type { MaskingCatalog } from './catalog.ts';
import type { MaskingConfig } from './masking-config.ts';

/** One output column of a (sub)query as the taint analysis sees it. */
export interface TaintedColumn {
  name: string | null;
  mask: ColumnMask;
  /** Carries free text of an unmasked column verbatim, so only the content detectors stand guard. */
  text: boolean;
  typeOid?: number;
}

/** Output of a query; `columns: null` when the width is unknown (each column then gets `fallback`). */
export interface QueryShape {
  columns: TaintedColumn[] | null;
  fallback: ColumnMask;
}

/** A name visible in a FROM clause: a table, view, subquery, CTE, function or aliased join. */
export interface RangeEntry {
  name: string | null;
  columns: TaintedColumn[] | null;
  fallback: ColumnMask;
  /** With unknown columns: false when none of them can hold free text (generate_series). */
  freeText?: boolean;
}

/** What one FROM item contributes: names to resolve against, and what `*` expands to. */
export interface FromItem {
  entries: RangeEntry[];
  star: QueryShape;
}

export interface Scope {
  entries: RangeEntry[];
  /** Output of the current SELECT list by name, for ORDER BY / GROUP BY references (facts only). */
  ctes: Map<string, QueryShape>;
  parent: Scope | null;
}

/** Facts about the whole statement gathered while walking it. */
export interface StatementFacts {
  /** Some masked column (or unknown provenance) was referenced anywhere, even in WHERE. */
  touchesMasked: boolean;
  /** Some function or operator the gateway cannot see into runs. */
  opaque: boolean;
  /** Masks of catalog columns met, by `tableOid:attnum`, for the RowDescription cross-check. */
  origins: Map<string, ColumnMask>;
  /** Relation OIDs whose columns are all in `origins`. */
  relations: Set<number>;
}

export interface AnalysisContext {
  catalog: MaskingCatalog;
  config: MaskingConfig;
  facts: StatementFacts;
  /** View nesting depth, bounded so a cycle or a deep stack of views fails closed. */
  depth: number;
  /**
   * The session ran code masking cannot see into, which may have put masked data into a setting
   * (set_config inside a function): settings read back (current_setting, pg_settings, SHOW) are masked.
   */
  settingsTainted?: boolean;
}

/** Thrown inside the analysis to turn the whole statement into a `deny` plan. */
export class MaskingDenial extends Error {
  /** `code`: the SQLSTATE (and `reason` the exact message) PostgreSQL itself would answer with, when the gateway answers for it. */
  constructor(
    readonly reason: string,
    readonly code?: string,
  ) {
    super(reason);
    this.name = 'MaskingDenial';
  }
}

export function newFacts(): StatementFacts {
  return { touchesMasked: false, opaque: false, origins: new Map(), relations: new Set() };
}

/** Splits a libpg-query node `{ Kind: body }` into its kind and body; null for anything else. */
export function nodeOf(node: unknown): [string, Record<string, unknown>] | null {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return null;
  const keys = Object.keys(node);
  if (keys.length !== 1) return null;
  const body = (node as Record<string, unknown>)[keys[0]!];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  return [keys[0]!, body as Record<string, unknown>];
}

export function listOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  const n = nodeOf(value);
  if (n && n[0] === 'List') return listOf(n[1].items);
  return [];
}

export function stringOf(node: unknown): string | null {
  const n = nodeOf(node);
  if (n && n[0] === 'String' && typeof n[1].sval === 'string') return n[1].sval;
  return null;
}
