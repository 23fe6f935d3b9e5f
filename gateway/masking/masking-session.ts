import type { Field } from 'pg-protocol/dist/messages.js';
import type { ResultFilter, RowTransform, StatementGate, StatementHandle } from '../postgres/statement-gate.ts';
import { newFacts, type AnalysisContext } from './analysis-types.ts';
import type { MaskingCatalog } from './catalog.ts';
import type { ContentMasker } from '../content/detectors.ts';
import { createCopyMasker } from './copy-masker.ts';
import { relationShape } from './from-clause.ts';
import type { DenyPlan, MessageRedaction, RowsPlan } from './mask-plan.ts';
import type { MaskingConfig } from './masking-config.ts';
import {
  auditedMessage,
  maskNoticeOrError,
  noticeMessage,
  withoutDetail,
  maskNotificationMessage,
  maskParameterStatusMessage,
  parseNoticeFields,
} from './message-masker.ts';
import { planHandle, refusalOf, replanned, unknownPlan, type HandlePlan } from './handle-plans.ts';
import { createMaskingPlanner } from './output-taint.ts';
import { createRowTransform } from './result-masker.ts';

/** SQLSTATE of a statement refused because masking cannot follow its data. */
export const MASKING_DENIED_SQLSTATE = '42501';

export interface MaskingSessionOptions {
  catalog: MaskingCatalog;
  config: MaskingConfig;
  content: ContentMasker;
  /** Told about every statement masking refuses, for the audit trail. */
  onDeny?: (handle: StatementHandle, reason: string) => void;
}

/**
 * Masking for one client connection: plans each forwarded statement (in order, so SQL cursors
 * and prepared statements are followed), refuses the ones masking cannot follow, and masks
 * what comes back through the adapter's {@link ResultFilter} seam.
 */
export interface MaskingSession {
  /** Plans the statements of a handle; resolves to a refusal reason, or null to let it run. */
  prepare(handle: StatementHandle): Promise<string | null>;
  readonly filter: ResultFilter;
  /** Wraps the connection's gate so statements are planned (and refused) before they are forwarded. */
  wrapGate(gate: StatementGate): StatementGate;
}

/** Statements forwarded but not yet reported executed (Parse without Execute) are forgotten past this many. */
const MAX_IN_FLIGHT = 256;

const REDACTION_RANK: Record<MessageRedaction, number> = { detect: 0, 'redact-values': 1, 'redact-all': 2 };

const SCHEMA_CHANGE_PENDING =
  'a schema change sent earlier has not finished yet, and masking plans a statement against the schema as it is now; wait for its result before sending statements that read data';

export function createMaskingSession(options: MaskingSessionOptions): MaskingSession {
  const { config, content } = options;
  const planner = createMaskingPlanner({ catalog: options.catalog, config });
  const plans = new WeakMap<StatementHandle, HandlePlan>();
  const pending = new WeakMap<StatementHandle, Promise<DenyPlan | null>>();
  const inFlight = new Map<StatementHandle, MessageRedaction>();
  /** Handles with a schema change that were forwarded and have not finished: later plans would use the old schema. */
  const schemaChanges = new Set<StatementHandle>();
  let queue: Promise<unknown> = Promise.resolve();

  /** Plans a handle once; again when the catalog moved on since (a prepared statement bound after DDL). */
  function refusal(handle: StatementHandle): Promise<DenyPlan | null> {
    const existing = pending.get(handle);
    const planned = plans.get(handle);
    if (existing && (!planned || !config.hasColumnRules || planned.generation === options.catalog.generation()))
      return existing;
    const run = queue.then(async () => {
      const now = await planHandle(planner, options.catalog, handle);
      const before = plans.get(handle);
      const plan = before ? replanned(before, now) : now;
      plans.set(handle, plan);
      return refusalOf(plan);
    });
    queue = run.catch(() => undefined);
    pending.set(handle, run);
    return run;
  }

  function planOf(handle: StatementHandle | undefined, index: number): RowsPlan {
    if (!handle) return unknownPlan('the gateway could not tell which statement these rows belong to');
    const plan = plans.get(handle)?.plans[index];
    if (!plan) return unknownPlan('the statement was not planned for masking');
    if (plan.kind === 'deny') return unknownPlan(plan.reason);
    return plan;
  }

  /** How much of an error or notice may be shown: raised inside a function (CONTEXT) while columns are masked hides it too. */
  function messageLevel(fields: ReadonlyMap<string, string>, handle: StatementHandle | undefined): MessageRedaction {
    // A handle never planned (refused before planning, or unknown) is as strict as anything in flight.
    const level = (handle && plans.get(handle)?.level) || currentRedaction();
    if (config.hasColumnRules && level === 'detect' && (fields.has('W') || fields.has('q'))) return 'redact-all';
    return level;
  }

  function currentRedaction(): MessageRedaction {
    let level: MessageRedaction = 'detect';
    for (const l of inFlight.values()) if (REDACTION_RANK[l] > REDACTION_RANK[level]) level = l;
    return level;
  }

  /** Resolves result columns from relations the analysis never met (RowDescription table OID + attnum) through the catalog. */
  async function withOrigins(plan: RowsPlan, oids: number[]): Promise<RowsPlan> {
    const ctx: AnalysisContext = { catalog: options.catalog, config, facts: newFacts(), depth: 0 };
    try {
      for (const oid of oids) {
        const rel = await options.catalog.relationByOid(oid);
        if (rel) await relationShape(rel, ctx);
      }
    } catch {
      return plan;
    }
    return {
      ...plan,
      origins: new Map([...plan.origins, ...ctx.facts.origins]),
      relations: new Set([...plan.relations, ...ctx.facts.relations]),
    };
  }

  const filter: ResultFilter = {
    describe(handle, statementIndex, fields: Field[]): RowTransform | Promise<RowTransform> {
      const plan = planOf(handle, statementIndex);
      const build = (p: RowsPlan): RowTransform => {
        const masker = createRowTransform(p, fields, content);
        return {
          transform: masker.transform,
          get maskedCount() {
            return masker.counts.masked + masker.counts.detected;
          },
        };
      };
      const unknown = [
        ...new Set(
          fields
            .filter((f) => f.tableID !== 0 && f.columnID > 0 && !plan.relations.has(f.tableID))
            .map((f) => f.tableID),
        ),
      ];
      if (unknown.length === 0 || plan.detectorsOnly) return build(plan);
      return withOrigins(plan, unknown).then(build);
    },
    copyOut(handle, statementIndex, format) {
      const plan = planOf(handle, statementIndex);
      if (format === 'binary') {
        const provenRaw =
          plan.copy === undefined && plan.columns !== null && plan.columns.every((c) => c.mask.kind === 'raw');
        if (provenRaw) return { transform: (data: Buffer) => data, flush: () => null };
        return { deny: 'COPY in binary format cannot be masked; use FORMAT text or FORMAT csv' };
      }
      const copy = createCopyMasker(plan, content);
      return { transform: (data: Buffer) => copy.pushPayload(data), flush: () => copy.flushPayload() };
    },
    maskMessage(frame: Buffer, handle?: StatementHandle): Buffer {
      const type = frame[0]!;
      if (type === 0x41) return maskNotificationMessage(frame, content, currentRedaction());
      if (type === 0x53) return maskParameterStatusMessage(frame, content);
      if (type !== 0x45 && type !== 0x4e) return frame;
      const fields = parseNoticeFields(frame);
      const level = messageLevel(fields, handle);
      let out = maskNoticeOrError(fields, content, level);
      // A detail can quote a failing row even of a statement the analysis saw touch no masked data.
      if (level === 'detect' && type === 0x45 && config.hasColumnRules) out = withoutDetail(out);
      return out === fields ? frame : noticeMessage(type, out);
    },
    auditedError(frame: Buffer, handle?: StatementHandle) {
      const fields = parseNoticeFields(frame);
      const level = messageLevel(fields, handle);
      const shown = maskNoticeOrError(fields, content, level).get('M') ?? '';
      return level === 'detect' ? { message: shown } : { message: shown, hidden: auditedMessage(fields, content) };
    },
  };

  function wrapGate(gate: StatementGate): StatementGate {
    return {
      async check(request, control) {
        if (request.kind === 'function-call') {
          return {
            forward: false,
            code: MASKING_DENIED_SQLSTATE,
            message: 'gatehouse: the FunctionCall protocol message cannot be masked; call the function with SELECT',
          };
        }
        // A Bind creates the named portal: FETCH of that name reads it, whatever a cursor of the name was.
        if (request.kind === 'bind' && request.portal !== '') planner.forgetCursor(request.portal);
        const verdict = await gate.check(request, control);
        if (!verdict.forward || !verdict.handle) return verdict;
        const handle = verdict.handle;
        const denied: DenyPlan | null =
          schemaChanges.size > 0 && !schemaChanges.has(handle)
            ? { kind: 'deny', reason: SCHEMA_CHANGE_PENDING }
            : await refusal(handle);
        if (denied === null) {
          if (inFlight.size >= MAX_IN_FLIGHT) inFlight.delete(inFlight.keys().next().value!);
          inFlight.set(handle, plans.get(handle)?.level ?? 'redact-all');
          // A Parse runs nothing: its schema change is pending only once it is bound (or sent as a query).
          if (request.kind !== 'parse' && plans.get(handle)?.changesCatalog) schemaChanges.add(handle);
          return verdict;
        }
        inFlight.delete(handle);
        options.onDeny?.(handle, denied.reason);
        // A refusal PostgreSQL would have given itself (relation "x" does not exist) keeps its own words and SQLSTATE.
        if (denied.code) return { forward: false, code: denied.code, message: denied.reason };
        return { forward: false, code: MASKING_DENIED_SQLSTATE, message: `gatehouse: masking: ${denied.reason}` };
      },
      executed(result) {
        if (result.handle) inFlight.delete(result.handle);
        if (result.handle && plans.get(result.handle)?.changesCatalog) {
          schemaChanges.delete(result.handle);
          options.catalog.invalidate();
        }
        gate.executed(result);
      },
      readyForQuery(status) {
        // Everything sent before the Sync has finished (or was skipped after an error).
        if (schemaChanges.size > 0) options.catalog.invalidate();
        schemaChanges.clear();
        if (status === 'I') planner.transactionEnded();
        // Nothing runs any more: a message arriving now (a notification) belongs to no statement.
        inFlight.clear();
        gate.readyForQuery?.(status);
      },
      statementClosed(name) {
        gate.statementClosed(name);
      },
      statementCompleted(handle, statementIndex) {
        return gate.statementCompleted?.(handle, statementIndex);
      },
      close(reason) {
        gate.close(reason);
      },
    };
  }

  const prepare = (handle: StatementHandle) => refusal(handle).then((d) => d?.reason ?? null);
  return { prepare, filter, wrapGate };
}
