import { maskWhole, stricter, type ColumnMask } from './column-mask.ts';

export const MESSAGE_REDACTIONS = ['detect', 'redact-values', 'redact-all'] as const;
/**
 * How much of an ErrorResponse/NoticeResponse may reach the client. A statement that touched a
 * masked column can quote its values in errors (`invalid input syntax ...: "078-05-1120"`);
 * one that ran a function the gateway cannot see into can RAISE anything.
 */
export type MessageRedaction = (typeof MESSAGE_REDACTIONS)[number];

/** One output column of a plan. */
export interface PlannedColumn {
  name: string | null;
  mask: ColumnMask;
  typeOid?: number;
}

/** Format of COPY ... TO STDOUT output, from the statement's options. */
export interface CopyFormat {
  format: 'text' | 'csv';
  delimiter: string;
  quote: string;
  escape: string;
  null: string;
  header: boolean;
}

/**
 * The masking plan of one statement, computed before it runs and applied to what comes back.
 * `columns: null` means the output width is unknown: every column then gets `fallback`.
 */
export interface RowsPlan {
  kind: 'rows';
  columns: readonly PlannedColumn[] | null;
  fallback: ColumnMask;
  /** Masks of catalog columns by `tableOid:attnum`, checked against RowDescription origins. */
  origins: ReadonlyMap<string, ColumnMask>;
  /** Relations the analysis resolved; an origin outside them is unknown provenance. */
  relations: ReadonlySet<number>;
  messages: MessageRedaction;
  /** Set for COPY ... TO STDOUT. */
  copy?: CopyFormat;
  /** The connection has detectors but no column rules: provenance cannot mask anything. */
  detectorsOnly?: boolean;
}

/** The statement must not run: masking cannot follow its data. `reason` is shown to the client. */
export interface DenyPlan {
  kind: 'deny';
  reason: string;
  /** Set when the gateway answers as PostgreSQL would (`reason` is then PostgreSQL's own message): its SQLSTATE. */
  code?: string;
}

export type MaskPlan = RowsPlan | DenyPlan;

const REDACTION_RANK: Record<MessageRedaction, number> = { detect: 0, 'redact-values': 1, 'redact-all': 2 };

/**
 * A plan at least as strict as both: for a statement that may run as planned before a catalog
 * change or after it (a prepared statement bound again, portals of both kinds in flight).
 */
export function stricterPlan(a: MaskPlan, b: MaskPlan): MaskPlan {
  if (a.kind === 'deny') return a;
  if (b.kind === 'deny') return b;
  const messages = REDACTION_RANK[a.messages] >= REDACTION_RANK[b.messages] ? a.messages : b.messages;
  const sameWidth = a.columns !== null && b.columns !== null && a.columns.length === b.columns.length;
  const columns = sameWidth ? a.columns!.map((c, i) => ({ ...c, mask: stricter(c.mask, b.columns![i]!.mask) })) : null;
  const fallback = sameWidth
    ? stricter(a.fallback, b.fallback)
    : stricter(maskWhole('the statement was planned against two different catalogs'), stricter(a.fallback, b.fallback));
  const origins = new Map(a.origins);
  for (const [key, mask] of b.origins) origins.set(key, origins.has(key) ? stricter(origins.get(key)!, mask) : mask);
  return { ...a, columns, fallback, origins, relations: new Set([...a.relations, ...b.relations]), messages };
}
