import { loadSqlParsers, sqlParser } from '../sql/sql-parser.ts';
import { RAW, maskWhole } from './column-mask.ts';
import {
  MaskingDenial,
  listOf,
  newFacts,
  nodeOf,
  stringOf,
  type AnalysisContext,
  type QueryShape,
  type StatementFacts,
} from './analysis-types.ts';
import type { MaskingCatalog } from './catalog.ts';
import { ddlRefusal } from './ddl-guard.ts';
import { exprTaint } from './expression-taint.ts';
import { relationItem } from './from-clause.ts';
import { stricterPlan, type CopyFormat, type MaskPlan, type MessageRedaction, type RowsPlan } from './mask-plan.ts';
import type { MaskingConfig } from './masking-config.ts';
import { LINE_BREAK_OPTION, copyFormat } from './copy-format.ts';
import { CURSOR_OPT_HOLD } from '../sql/session-effects.ts';
import { NON_DDL, SESSION_EFFECTS } from './statement-effects.ts';
import { SETTINGS_TAINTED } from './information-functions.ts';

export { changesCatalog } from './statement-effects.ts';
export { copyFormat } from './copy-format.ts';
import { analyzeQueryNode, refuseCopy, shapeMask } from './query-shape.ts';

/**
 * Plans masking statement by statement for one client session. It remembers the plans of
 * SQL-level cursors and prepared statements (so FETCH and EXECUTE are masked like the query
 * they run) and refreshes the catalog after DDL.
 */
export interface MaskingPlanner {
  /**
   * Plans one statement given its libpg-query `stmt` node (StatementAnalysis.parseTree). With
   * `sessionEffects: false` (code the server runs for the client's statement, e.g. a function body)
   * cursors and prepared statements it names are neither remembered nor forgotten.
   */
  plan(stmt: unknown, options?: { sessionEffects?: boolean }): Promise<MaskPlan>;
  /** Parses `sql` and plans each statement; an unparsable text yields one deny plan. */
  planSql(sql: string): Promise<MaskPlan[]>;
  /** A protocol Bind named a portal: a SQL FETCH of that name now reads it, not a cursor declared earlier. */
  forgetCursor(name: string): void;
  /** The transaction ended (ReadyForQuery, idle): its cursors are gone, except WITH HOLD ones. */
  transactionEnded(): void;
}

export interface MaskingPlannerOptions {
  catalog: MaskingCatalog;
  config: MaskingConfig;
}

const MAX_CURSOR_DEFINITIONS = 8;

/** The plan of a cursor that may be any of several declarations: denied if one is, else masked whole. */
function ambiguous(plans: readonly MaskPlan[]): MaskPlan {
  const denied = plans.find((p) => p.kind === 'deny');
  if (denied) return denied;
  return {
    kind: 'rows',
    columns: null,
    fallback: maskWhole(
      'the cursor may be any of several declarations of its name; CLOSE it before declaring it again',
    ),
    origins: new Map(),
    relations: new Set(),
    messages: 'redact-all',
  };
}

const NO_ROWS: QueryShape = { columns: [], fallback: maskWhole('statement was not expected to return rows') };

export function createMaskingPlanner(options: MaskingPlannerOptions): MaskingPlanner {
  const { catalog, config } = options;
  /** Every DECLARE of a name since its CLOSE: a later DECLARE may have failed or never run, leaving an earlier cursor open. */
  const cursors = new Map<string, MaskPlan[]>();
  /** Cursors declared WITH HOLD, which outlive their transaction. */
  const holdable = new Set<string>();
  const prepared = new Map<string, { query: unknown; plan: MaskPlan; generation: number }>();
  let stale = false;
  /** Some statement planned to run here calls code masking cannot see into (see AnalysisContext.settingsTainted). */
  let opaqueRan = false;

  function rows(shape: QueryShape, facts: StatementFacts, copy?: CopyFormat): RowsPlan {
    const messages: MessageRedaction = facts.opaque ? 'redact-all' : facts.touchesMasked ? 'redact-values' : 'detect';
    return {
      kind: 'rows',
      columns: shape.columns ? shape.columns.map((c) => ({ name: c.name, mask: c.mask, typeOid: c.typeOid })) : null,
      fallback: shape.fallback,
      origins: facts.origins,
      relations: facts.relations,
      messages,
      ...(copy ? { copy } : {}),
    };
  }

  async function planKind(
    kind: string,
    body: Record<string, unknown>,
    stmt: unknown,
    ctx: AnalysisContext,
  ): Promise<MaskPlan> {
    switch (kind) {
      case 'SelectStmt':
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        return rows(await analyzeQueryNode(stmt, null, ctx), ctx.facts);
      case 'CopyStmt':
        return planCopy(body, ctx);
      case 'ExplainStmt':
        await analyzeQueryNode(body.query, null, ctx);
        // The planner folds constants: an IMMUTABLE function over masked data shows its result in the plan text.
        if (ctx.facts.touchesMasked || ctx.facts.opaque)
          return deny(
            'EXPLAIN of a statement over masked data (or code masking cannot see into) can show masked values in the plan; explain a statement over unmasked columns',
          );
        return rows({ columns: [{ name: 'QUERY PLAN', mask: RAW, text: true }], fallback: RAW }, ctx.facts);
      case 'VariableShowStmt':
        return rows({ columns: null, fallback: ctx.settingsTainted ? maskWhole(SETTINGS_TAINTED) : RAW }, ctx.facts);
      case 'CreateTableAsStmt': {
        const shape = await analyzeQueryNode(body.query, null, ctx);
        if (body.objtype !== 'OBJECT_MATVIEW') refuseCopy(shape, 'CREATE TABLE AS');
        return rows(NO_ROWS, ctx.facts);
      }
      case 'DeclareCursorStmt': {
        const plan = rows(await analyzeQueryNode(body.query, null, ctx), ctx.facts);
        const name = String(body.portalname);
        if ((Number(body.options ?? 0) & CURSOR_OPT_HOLD) !== 0) holdable.add(name);
        const declared = [...(cursors.get(name) ?? []), plan];
        cursors.set(
          name,
          declared.length > MAX_CURSOR_DEFINITIONS
            ? [deny(`cursor "${name}" was declared too many times without CLOSE`)]
            : declared,
        );
        return rows(NO_ROWS, ctx.facts);
      }
      case 'FetchStmt': {
        if (body.ismove) return rows(NO_ROWS, ctx.facts);
        const declared = cursors.get(String(body.portalname));
        const plan = declared?.length === 1 ? declared[0] : declared && ambiguous(declared);
        if (!plan)
          return deny(
            `cursor "${String(body.portalname)}" was not declared through the gateway in this session, so its rows cannot be masked; DECLARE it in this session`,
          );
        return plan;
      }
      case 'ClosePortalStmt':
        if (typeof body.portalname === 'string') cursors.delete(body.portalname);
        else cursors.clear();
        return rows(NO_ROWS, ctx.facts);
      case 'PrepareStmt':
        prepared.set(String(body.name), {
          query: body.query,
          plan: rows(await analyzeQueryNode(body.query, null, ctx), ctx.facts),
          generation: catalog.generation(),
        });
        return rows(NO_ROWS, ctx.facts);
      case 'ExecuteStmt':
        return executePlan(String(body.name));
      case 'DeallocateStmt':
        if (typeof body.name === 'string') prepared.delete(body.name);
        else prepared.clear();
        return rows(NO_ROWS, ctx.facts);
      case 'DiscardStmt':
        cursors.clear();
        prepared.clear();
        return rows(NO_ROWS, ctx.facts);
      case 'CallStmt':
        await exprTaint({ FuncCall: body.funccall }, { entries: [], ctes: new Map(), parent: null }, ctx);
        ctx.facts.opaque = true;
        return rows({ columns: null, fallback: maskWhole('procedure output cannot be traced') }, ctx.facts);
    }
    const refused = await ddlRefusal(kind, body, catalog, config);
    if (refused) return deny(refused);
    return rows(NO_ROWS, ctx.facts);
  }

  /** The plan of a SQL EXECUTE: the PREPARE's, made again when the catalog moved on (the server re-plans it too). */
  async function executePlan(name: string): Promise<MaskPlan> {
    const entry = prepared.get(name);
    if (!entry)
      return deny(
        `prepared statement "${name}" was not prepared through the gateway in this session; PREPARE it in this session`,
      );
    const generation = catalog.generation();
    if (entry.generation === generation) return entry.plan;
    const ctx: AnalysisContext = { catalog, config, facts: newFacts(), depth: 0, settingsTainted: opaqueRan };
    let again: MaskPlan;
    try {
      again = rows(await analyzeQueryNode(entry.query, null, ctx), ctx.facts);
    } catch (err) {
      if (!(err instanceof MaskingDenial)) throw err;
      again = deny(err.reason, err.code);
    }
    entry.plan = stricterPlan(entry.plan, again);
    entry.generation = generation;
    return entry.plan;
  }

  async function planCopy(body: Record<string, unknown>, ctx: AnalysisContext): Promise<MaskPlan> {
    if (body.is_from) return rows(NO_ROWS, ctx.facts);
    const format = copyFormat(listOf(body.options));
    if (format === 'foreign-encoding')
      return deny('COPY with an ENCODING other than UTF8 cannot be masked; drop the ENCODING option');
    if (format === 'line-break-option') return deny(LINE_BREAK_OPTION);
    let shape: QueryShape;
    if (body.query) {
      shape = await analyzeQueryNode(body.query, null, ctx);
    } else {
      const item = await relationItem(
        body.relation as Record<string, unknown>,
        { entries: [], ctes: new Map(), parent: null },
        ctx,
      );
      shape = item.star;
      const attlist = listOf(body.attlist).map(stringOf);
      if (attlist.length > 0 && shape.columns) {
        const cols = shape.columns;
        shape = {
          columns: attlist.map(
            (name) =>
              cols.find((c) => c.name === name) ?? { name, mask: maskWhole(`column ${name} not found`), text: false },
          ),
          fallback: RAW,
        };
      } else if (attlist.length > 0) {
        shape = { columns: null, fallback: shapeMask(shape) };
      }
      if (shapeMask(shape).kind !== 'raw') ctx.facts.touchesMasked = true;
    }
    if (body.filename || body.is_program) {
      refuseCopy(shape, 'COPY TO a server file or program');
      return rows(NO_ROWS, ctx.facts);
    }
    if (format === 'binary') {
      if (shapeMask(shape).kind === 'raw' && !(shape.columns ?? []).some((c) => c.text) && shape.columns)
        return rows(shape, ctx.facts);
      return deny('COPY in binary format cannot be masked; use FORMAT text or FORMAT csv');
    }
    return rows(shape, ctx.facts, format);
  }

  /** Without column rules nothing is masked by provenance: every value just meets the detectors (no catalog needed). */
  function detectorsOnly(kind: string, body: Record<string, unknown>, ctx: AnalysisContext): MaskPlan {
    const all = { columns: null, fallback: RAW };
    if (kind !== 'CopyStmt' || body.is_from || body.filename || body.is_program)
      return { ...rows(all, ctx.facts), detectorsOnly: true };
    const format = copyFormat(listOf(body.options));
    if (format === 'binary')
      return deny('COPY in binary format cannot be scanned for secrets; use FORMAT text or FORMAT csv');
    if (format === 'foreign-encoding')
      return deny('COPY with an ENCODING other than UTF8 cannot be scanned for secrets; drop the ENCODING option');
    if (format === 'line-break-option') return deny(LINE_BREAK_OPTION);
    return { ...rows(all, ctx.facts, format), detectorsOnly: true };
  }

  async function plan(stmt: unknown, options: { sessionEffects?: boolean } = {}): Promise<MaskPlan> {
    if (options.sessionEffects === false && SESSION_EFFECTS.has(nodeOf(stmt)?.[0] ?? ''))
      return rows(NO_ROWS, newFacts());
    if (stale) {
      catalog.invalidate();
      stale = false;
    }
    const n = nodeOf(stmt);
    if (!n) return deny('the statement could not be parsed, so its results cannot be masked');
    const [kind, body] = n;
    if (!NON_DDL.has(kind)) stale = true;
    const ctx: AnalysisContext = { catalog, config, facts: newFacts(), depth: 0, settingsTainted: opaqueRan };
    if (!config.hasColumnRules) return detectorsOnly(kind, body, ctx);
    try {
      const planned = await planKind(kind, body, stmt, ctx);
      if (planned.kind === 'rows' && ctx.facts.touchesMasked && (await catalog.userCasts())) return deny(USER_CASTS);
      if (planned.kind === 'rows' && ctx.facts.opaque) opaqueRan = true;
      return planned;
    } catch (err) {
      if (err instanceof MaskingDenial) return deny(err.reason, err.code);
      throw err;
    }
  }

  return {
    plan,
    forgetCursor(name) {
      cursors.delete(name);
      holdable.delete(name);
    },
    transactionEnded() {
      for (const name of cursors.keys()) if (!holdable.has(name)) cursors.delete(name);
    },
    async planSql(sql) {
      await loadSqlParsers();
      let stmts: unknown[];
      try {
        stmts = ((catalog.parser?.() ?? sqlParser()).parse(sql).stmts ?? []).map((s: { stmt?: unknown }) => s.stmt);
      } catch {
        return [deny('the statement could not be parsed, so its results cannot be masked')];
      }
      const out: MaskPlan[] = [];
      for (const s of stmts) out.push(await plan(s));
      return out;
    },
  };
}

const USER_CASTS =
  'the target has user-defined casts or conversions between built-in types, which run functions no statement names; masking cannot follow masked data through them (drop them, or query without masked columns)';

function deny(reason: string, code?: string): MaskPlan {
  return code ? { kind: 'deny', reason, code } : { kind: 'deny', reason };
}
