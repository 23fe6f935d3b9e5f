import pg from 'pg';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { StatementHandle } from '../postgres/statement-gate.ts';
import { resultGroups } from '../sql/statement-analysis.ts';
import { nodeOf } from './analysis-types.ts';
import type { MaskingCatalog } from './catalog.ts';
import { maskWhole } from './column-mask.ts';
import { stricterPlan, type DenyPlan, type MaskPlan, type MessageRedaction, type RowsPlan } from './mask-plan.ts';
import { changesCatalog, type MaskingPlanner } from './output-taint.ts';

interface StatementLike {
  parseTree?: unknown;
  /** Set on code the server runs for the client's statement (a function body, a trigger): it can refuse the statement, never shape its rows. */
  origin?: string;
  /** Entries sharing it are one statement the server runs (see `StatementAnalysis.resultGroup`). */
  resultGroup?: object;
}

const REDACTION_RANK: Record<MessageRedaction, number> = { detect: 0, 'redact-values': 1, 'redact-all': 2 };

/** What a handle was planned as, in which catalog generation. */
export interface HandlePlan {
  plans: MaskPlan[];
  level: MessageRedaction;
  /** Some statement of the handle may change the catalog (its plans are stale once it ran). */
  changesCatalog: boolean;
  generation: number;
}

export function unknownPlan(reason: string): RowsPlan {
  return {
    kind: 'rows',
    columns: null,
    fallback: maskWhole(reason),
    origins: new Map(),
    relations: new Set(),
    messages: 'redact-all',
  };
}

/**
 * Statements planned against the catalog (queries, and statements that read relations' data): after
 * a schema change earlier in the same query they would be planned against the catalog as it was
 * before that change ran. `INSERT ... VALUES` of constants reads nothing.
 */
const READS_THROUGH_CATALOG: ReadonlySet<string> = new Set([
  'SelectStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CopyStmt',
  'ExplainStmt',
  'CreateTableAsStmt',
  'DeclareCursorStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'CallStmt',
]);

function readsThroughCatalog(stmt: unknown): boolean {
  const n = nodeOf(stmt);
  if (!n) return true;
  if (n[0] === 'InsertStmt') {
    const select = nodeOf(n[1].selectStmt)?.[1];
    return !select || !select.valuesLists || n[1].returningList !== undefined || n[1].returningClause !== undefined;
  }
  return READS_THROUGH_CATALOG.has(n[0]);
}

const AFTER_SCHEMA_CHANGE =
  'it follows a schema change in the same query, and masking plans every statement before the query runs, so it would be planned against the schema as it was; send it in a query of its own';

async function planOne(planner: MaskingPlanner, stmt: StatementLike): Promise<MaskPlan> {
  try {
    return await planner.plan(stmt.parseTree ?? null, { sessionEffects: stmt.origin === undefined });
  } catch (error) {
    const why =
      error instanceof GatehouseError || error instanceof pg.DatabaseError ? error.message : 'the analysis failed';
    return {
      kind: 'deny',
      reason: `the statement could not be checked for masking (${why}); retry, or report the statement if it keeps failing`,
    };
  }
}

/** One server statement: its own plan; code run for it can only refuse it; several definitions are masked whole. */
async function planGroup(planner: MaskingPlanner, group: readonly StatementLike[]): Promise<MaskPlan> {
  const members: MaskPlan[] = [];
  for (const stmt of group) {
    // A fact the target revealed about the client's statement (a resolved name) has no code of its own.
    if (stmt.origin !== undefined && (stmt.parseTree === null || stmt.parseTree === undefined)) continue;
    const plan = await planOne(planner, stmt);
    if (stmt.origin === undefined || plan.kind === 'deny') members.push(plan);
  }
  if (members.length === 1) return members[0]!;
  return (
    members.find((p) => p.kind === 'deny') ??
    unknownPlan('the statement may run any of several definitions of a prepared statement')
  );
}

/** Plans every statement of a handle in order; a statement planned after an earlier one changed the schema is refused. */
export async function planHandle(
  planner: MaskingPlanner,
  catalog: MaskingCatalog,
  handle: StatementHandle,
): Promise<HandlePlan> {
  const generation = catalog.generation();
  const plans: MaskPlan[] = [];
  let changed = false;
  for (const group of resultGroups(handle.statements as readonly StatementLike[])) {
    const own = group.filter((s) => s.origin === undefined);
    if (changed && own.some((s) => readsThroughCatalog(s.parseTree)))
      plans.push({ kind: 'deny', reason: AFTER_SCHEMA_CHANGE });
    else plans.push(await planGroup(planner, group));
    if (own.some((s) => changesCatalog(s.parseTree))) changed = true;
  }
  let level: MessageRedaction = 'detect';
  for (const p of plans)
    if (p.kind === 'rows' && REDACTION_RANK[p.messages] > REDACTION_RANK[level]) level = p.messages;
  return { plans, level, changesCatalog: changed, generation };
}

/**
 * A handle planned again in a newer catalog generation (a prepared statement bound after DDL, which
 * the server re-plans): at least as strict as before and as now, since portals of both may be open.
 */
export function replanned(before: HandlePlan, now: HandlePlan): HandlePlan {
  const plans = now.plans.map((p, i) => (before.plans[i] ? stricterPlan(before.plans[i]!, p) : p));
  const level = REDACTION_RANK[before.level] >= REDACTION_RANK[now.level] ? before.level : now.level;
  return { ...now, plans, level };
}

/** The refusal of a handle's plans (the first statement refused), or null. */
export function refusalOf(plan: HandlePlan): DenyPlan | null {
  const denied = plan.plans.find((p) => p.kind === 'deny');
  return denied && denied.kind === 'deny' ? denied : null;
}
