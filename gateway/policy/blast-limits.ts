import { compileGlobs } from './glob.ts';
import type { Decision, Identity, ReviewSettings } from './actions-and-decisions.ts';

/** The counters a bound can cap; absent = unbounded. */
export interface BlastCounts {
  rowsRead?: number;
  bytesRead?: number;
  rowsWritten?: number;
  /** Statement only: the share (0..1) of the written tables' rows one write may change. */
  fractionWritten?: number;
}

/**
 * A compiled `limits:` entry. Bounds live beside the rules, not in a rule's `when`, because they
 * are not facts of the statement text: what a statement reads or changes is known only from the
 * target (its planner's estimate, the rows it streams, its command tag).
 */
export interface BlastLimit {
  name: string;
  connections: string[];
  identities?: string[];
  statement: BlastCounts;
  session: BlastCounts;
  /** What a write over (or without) an estimate gets. */
  overEstimate: 'deny' | 'review';
  /** What a read past a read bound gets: cut off, or held mid-stream until someone approves the rest. */
  overRead: 'deny' | 'review';
  review?: ReviewSettings;
}

/** One bound in force: its value and the entry that set it (for messages). */
export interface Bound {
  value: number;
  limit: BlastLimit;
}

/**
 * The smallest bound of every applicable entry, per counter: what one client connection enforces.
 * Absent keys are unbounded, so a connection without limits pays only for `undefined` checks.
 */
export interface EffectiveLimits {
  statement: { rowsRead?: Bound; bytesRead?: Bound; rowsWritten?: Bound; fractionWritten?: Bound };
  session: { rowsRead?: Bound; bytesRead?: Bound; rowsWritten?: Bound };
}

/** A `limits:` entry as written in YAML (snake_case), after schema validation. */
export interface RawLimit {
  name: string;
  connections?: string[];
  identities?: string[];
  statement?: { rows_read?: number; bytes_read?: number; rows_written?: number; fraction_written?: number };
  session?: { rows_read?: number; bytes_read?: number; rows_written?: number };
  over_estimate?: 'deny' | 'review';
  over_read?: 'deny' | 'review';
  review?: Record<string, unknown>;
}

/** A `limits:` entry with defaults applied; `review` is the compiled review settings when over_estimate is review. */
export function compileLimit(raw: RawLimit, review: ReviewSettings | undefined): BlastLimit {
  const counts = (c: RawLimit['statement'] = {}): BlastCounts => ({
    ...(c.rows_read !== undefined ? { rowsRead: c.rows_read } : {}),
    ...(c.bytes_read !== undefined ? { bytesRead: c.bytes_read } : {}),
    ...(c.rows_written !== undefined ? { rowsWritten: c.rows_written } : {}),
    ...(c.fraction_written !== undefined ? { fractionWritten: c.fraction_written } : {}),
  });
  return {
    name: raw.name,
    connections: raw.connections ?? ['*'],
    ...(raw.identities ? { identities: raw.identities } : {}),
    statement: counts(raw.statement),
    session: counts(raw.session),
    overEstimate: raw.over_estimate ?? 'deny',
    overRead: raw.over_read ?? 'deny',
    ...(review ? { review } : {}),
  };
}

const COUNTERS = ['rowsRead', 'bytesRead', 'rowsWritten', 'fractionWritten'] as const;

/** The bounds that apply to a connection and identity, or undefined when none does. */
export function effectiveLimits(
  limits: readonly BlastLimit[] | undefined,
  connection: string,
  identity: Identity,
): EffectiveLimits | undefined {
  let result: EffectiveLimits | undefined;
  for (const limit of limits ?? []) {
    if (!compileGlobs(limit.connections)(connection)) continue;
    if (limit.identities) {
      const rule = identity.identityRule;
      if (rule === undefined || !compileGlobs(limit.identities)(rule)) continue;
    }
    result ??= { statement: {}, session: {} };
    for (const scope of ['statement', 'session'] as const) {
      for (const counter of COUNTERS) {
        const value = limit[scope][counter];
        const into = result[scope] as Record<string, Bound | undefined>;
        const current = into[counter];
        if (value !== undefined && (!current || value < current.value)) into[counter] = { value, limit };
      }
    }
  }
  return result;
}

/** What the target's planner says one write will change; `rows` null when it could not say (and `why`). */
export interface WriteEstimate {
  statement: string;
  tables: readonly string[];
  rows: number | null;
  /** Rows of the tables whose existing rows the write changes, by the target's statistics; null when unknown, absent for an INSERT. */
  tableRows?: number | null;
  why?: string;
}

/** The estimates of a query's writes and what the session changed before it: facts from the target. */
export interface WriteEstimates {
  writes: readonly WriteEstimate[];
  sessionWritten: number;
}

/**
 * The decision of the bounds on a query's estimated writes, or undefined when every write is
 * within them. An estimate the target could not give counts as over every bound (fail closed).
 */
export function estimateDecision(limits: EffectiveLimits, estimates: WriteEstimates): Decision | undefined {
  const perStatement = limits.statement.rowsWritten;
  const perSession = limits.session.rowsWritten;
  const fraction = limits.statement.fractionWritten;
  let total = estimates.sessionWritten;
  for (const write of estimates.writes) {
    const where = write.tables.length > 0 ? ` on ${write.tables.join(', ')}` : '';
    if (write.rows === null) {
      const bound = (perStatement ?? perSession ?? fraction)!;
      return over(
        bound,
        `${write.statement}${where} could not be estimated (${write.why}); a bounded write without an estimate counts as over its bound`,
      );
    }
    if (perStatement && write.rows > perStatement.value)
      return over(
        perStatement,
        `${write.statement}${where} would change about ${write.rows} rows by the target's estimate, over the bound of ${perStatement.value} rows per statement`,
      );
    if (fraction && write.tableRows !== undefined) {
      const share = fractionOf(write);
      if (share === null)
        return over(
          fraction,
          `${write.statement}${where} writes a table without statistics (never analysed), so the share of its rows it would change is unknown; run ANALYZE on it`,
        );
      if (share > fraction.value)
        return over(
          fraction,
          `${write.statement}${where} would change about ${write.rows} of the table's ${write.tableRows} rows by the target's estimate, over the bound of ${fraction.value * 100}% of a table per statement`,
        );
    }
    total += write.rows;
    if (perSession && total > perSession.value)
      return over(
        perSession,
        `${write.statement}${where} would change about ${write.rows} rows by the target's estimate; with the ${estimates.sessionWritten} rows this session already changed that is over its bound of ${perSession.value} rows per session`,
      );
  }
  return undefined;
}

/** The decision on a read that passed a bound of `limit` while it streamed (`why` says which and how far). */
export function readDecision(limit: BlastLimit | undefined, why: string): Decision {
  if (!limit) return { action: 'deny', rule: 'limits', reason: why };
  const reason = `${why} (limit '${limit.name}'); approve to let the rest of the result through`;
  return limit.overRead === 'review' && limit.review
    ? { action: 'review', rule: limit.name, reason, review: limit.review }
    : { action: 'deny', rule: limit.name, reason };
}

/** Share of the written tables' rows a write changes; null when their size is unknown. An empty table changes nothing of itself. */
function fractionOf(write: WriteEstimate): number | null {
  if (write.tableRows === null || write.tableRows === undefined || write.rows === null) return null;
  if (write.tableRows === 0) return 0;
  return write.rows / write.tableRows;
}

function over(bound: Bound, why: string): Decision {
  const { limit } = bound;
  const reason = `${why} (limit '${limit.name}'); stay under it with a narrower WHERE or in batches`;
  return limit.overEstimate === 'review' && limit.review
    ? { action: 'review', rule: limit.name, reason, review: limit.review }
    : { action: 'deny', rule: limit.name, reason };
}
