import type { PostgresConnectionConfig } from '../config/config-types.ts';
import { createMetadataQueryable, type MetadataQueryable } from '../masking/metadata-connection.ts';
import type { WriteEstimate } from '../policy/blast-limits.ts';
import type { StatementAnalysis } from '../sql/statement-analysis.ts';
import { targetAddress } from './target-connection.ts';

/**
 * Asks the target's planner how many rows a query's writes will change, before they run. A bound
 * on writes is decided on what the server reports, not on the text: `WHERE orders.id = id` reads
 * as bounded and deletes every row, and the planner says so.
 */
export interface WriteEstimator {
  /** One estimate per write the client itself wrote (code the server runs for it is not estimated). */
  estimate(statements: readonly StatementAnalysis[]): Promise<WriteEstimate[]>;
  /** DDL or ANALYZE ran through the gateway: cached estimates may be wrong now. */
  invalidate(): void;
  close(): Promise<void>;
}

/** How long and how many estimates are kept per statement text (other writers change tables too). */
export const ESTIMATE_CACHE = { maxAgeMs: 5000, entries: 1000 } as const;

/** Connections an estimator spreads its EXPLAINs over (each runs one at a time). */
export const ESTIMATE_CONNECTIONS = 4;

/** The name the estimate prepares its statement under, on the estimator's own connection. */
const PREPARED = 'gatehouse_estimate';

/** Commands the planner can estimate; other writes (TRUNCATE, COPY FROM) have no estimate (fail closed). */
const ESTIMABLE: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'SELECT']);

/**
 * The estimator of one target connection, on a few connections of its own (never the client's session, and
 * not the catalog's, whose queries must not run inside an estimate's transaction). Each estimate is
 * one simple query: a READ ONLY transaction (EXPLAIN without ANALYZE runs nothing; the read-only
 * transaction also stops any function the planner folds from writing), the statement prepared with
 * a generic plan so parameters need no values, EXPLAIN, and a rollback.
 */
export function createWriteEstimator(
  connection: PostgresConnectionConfig,
  now: () => number = Date.now,
): WriteEstimator {
  const ssl =
    connection.sslmode === 'disable'
      ? false
      : { rejectUnauthorized: connection.sslmode === 'verify-full', ca: connection.ca };
  const pool = Array.from({ length: ESTIMATE_CONNECTIONS }, () =>
    createMetadataQueryable({ client: { ...targetAddress(connection), ssl } }),
  );
  let next = 0;
  const cache = new Map<string, { estimate: WriteEstimate; at: number }>();
  const cached = async (statement: StatementAnalysis): Promise<WriteEstimate> => {
    const hit = cache.get(statement.text);
    if (hit && now() - hit.at < ESTIMATE_CACHE.maxAgeMs) return hit.estimate;
    const estimate = await estimateOne(pool[next++ % pool.length]!, statement);
    if (estimate.rows === null) return estimate;
    if (cache.size >= ESTIMATE_CACHE.entries) cache.clear();
    cache.set(statement.text, { estimate, at: now() });
    return estimate;
  };
  return {
    estimate: (statements) => Promise.all(writesOf(statements).map(cached)),
    invalidate: () => cache.clear(),
    close: async () => {
      await Promise.all(pool.map((q) => q.close()));
    },
  };
}

/** The statements an estimate is asked for: the client's own writes. */
export function writesOf(statements: readonly StatementAnalysis[]): StatementAnalysis[] {
  return statements.filter((s) => s.kind === 'write' && s.origin === undefined);
}

async function estimateOne(queryable: MetadataQueryable, statement: StatementAnalysis): Promise<WriteEstimate> {
  const base = { statement: statement.command, tables: statement.tablesWritten };
  if (!ESTIMABLE.has(statement.command))
    return { ...base, rows: null, why: `the planner cannot estimate ${statement.command}` };
  try {
    const results = (await queryable.query(explainSql(statement))) as unknown as { rows?: unknown[] }[];
    const explained = results.find((r) => (r.rows?.[0] as Record<string, unknown> | undefined)?.['QUERY PLAN']);
    const plan = (explained?.rows?.[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!.Plan;
    return { ...base, rows: rowsChanged(plan), tableRows: await tableRowsOf(queryable, writtenRelations(plan)) };
  } catch (error) {
    await queryable.query('ROLLBACK; DEALLOCATE ALL').catch(() => undefined);
    return { ...base, rows: null, why: `the target's EXPLAIN failed: ${(error as Error).message}` };
  }
}

/** The statement text ends on its own line, so a trailing `--` comment cannot swallow what follows. */
function explainSql(statement: StatementAnalysis): string {
  const params = highestParam(statement.parseTree);
  const explain =
    params === 0
      ? `EXPLAIN (FORMAT JSON, VERBOSE) ${statement.text}\n;`
      : `PREPARE ${PREPARED} AS ${statement.text}\n;\nEXPLAIN (FORMAT JSON, VERBOSE) EXECUTE ${PREPARED}(${Array(params).fill('NULL').join(', ')});\nDEALLOCATE ${PREPARED};`;
  return `BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan;\n${explain}\nROLLBACK`;
}

/** The largest `$n` of a parse tree: how many parameters a generic plan needs. */
function highestParam(tree: unknown): number {
  let highest = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'ParamRef') highest = Math.max(highest, Number((value as { number?: number }).number ?? 0));
      visit(value);
    }
  };
  visit(tree);
  return highest;
}

interface PlanNode {
  'Node Type': string;
  'Plan Rows': number;
  'Relation Name'?: string;
  Schema?: string;
  Operation?: string;
  Plans?: PlanNode[];
}

/** Schema and name of every table whose existing rows a ModifyTable node changes (not INSERTs; VERBOSE plans name the schema). */
export function writtenRelations(plan: PlanNode): { schema: string; name: string }[] {
  const found: { schema: string; name: string }[] = [];
  const visit = (node: PlanNode): void => {
    if (node['Node Type'] === 'ModifyTable' && node.Operation !== 'Insert' && node['Relation Name'] && node.Schema)
      found.push({ schema: node.Schema, name: node['Relation Name'] });
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan);
  return found;
}

const TABLE_ROWS_SQL = `
  SELECT c.reltuples::float8 AS reltuples
    FROM unnest($1::text[], $2::text[]) AS w(schema, name)
    LEFT JOIN pg_namespace n ON n.nspname = w.schema
    LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name`;

/**
 * Rows of the written tables by the target's statistics (`reltuples`); undefined when the write
 * changes no existing rows (an INSERT); null when a table has none
 * (never analysed or vacuumed, a partitioned parent, a temporary table), so a fraction cannot be known.
 */
async function tableRowsOf(
  queryable: MetadataQueryable,
  tables: readonly { schema: string; name: string }[],
): Promise<number | null | undefined> {
  if (tables.length === 0) return undefined;
  const result = (await queryable.query(TABLE_ROWS_SQL, [tables.map((t) => t.schema), tables.map((t) => t.name)])) as {
    rows: { reltuples: number | null }[];
  };
  let total = 0;
  for (const { reltuples } of result.rows) {
    if (reltuples === null || reltuples < 0) return null;
    total += reltuples;
  }
  return total;
}

/** Rows the plan's writes change: the input of every ModifyTable node (its own row count is its RETURNING). */
export function rowsChanged(plan: PlanNode): number {
  let total = 0;
  let writes = 0;
  const visit = (node: PlanNode): void => {
    if (node['Node Type'] === 'ModifyTable') {
      writes++;
      total += node.Plans?.[0]?.['Plan Rows'] ?? node['Plan Rows'];
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan);
  return writes > 0 ? total : plan['Plan Rows'];
}
