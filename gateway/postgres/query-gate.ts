import type { CommandEvent, EnforceCall, EnforcementContext, Enforcer } from '../enforcement/enforcer.ts';
import type { HoldControl } from '../enforcement/approval-hold.ts';
import type { Verdict } from '../enforcement/verdict.ts';
import type { Action, PgQueryAction } from '../policy/actions-and-decisions.ts';
import type { EffectiveLimits, WriteEstimate } from '../policy/blast-limits.ts';
import type { BlastMeter } from './blast-meter.ts';
import { writesOf, type WriteEstimator } from './write-estimator.ts';

import type { ConnectionAnalyzer } from '../sql/connection-analyzer.ts';
import type { StatementResolver } from '../sql/resolve-statements.ts';
import { sessionEffectsOf, type SessionEffects } from '../sql/session-effects.ts';
import { resultGroups, type StatementAnalysis } from '../sql/statement-analysis.ts';
import { SQLSTATE } from './protocol-codes.ts';
import type {
  ExecutionResult,
  GateControl,
  GateRequest,
  GateVerdict,
  StatementGate,
  StatementHandle,
} from './statement-gate.ts';
import type { ServerSyntaxError } from './syntax-error.ts';
import { gateVerdictOf } from './verdict-response.ts';
import { REFUSAL, refused } from '../enforcement/verdict.ts';

/** What the PostgreSQL side of one client connection needs: the core, the analyzer and the detectors. */
export interface QueryGateDeps {
  context: EnforcementContext;
  enforcer: Enforcer;
  analyzer: ConnectionAnalyzer;
  /** Completes analyses with what the target says they run (function bodies, triggers, views, ...) before the core decides. */
  resolver?: StatementResolver;
  /** Told once a statement that may have changed the catalog ran, so cached resolutions are dropped. */
  catalogChanged?: () => void;
  /** The target session runs read-only (the policy allows only reads): statements that would lift it are refused. */
  readOnly?: boolean;
  /** The connection's `limits:` bounds, the meter counting them and the target's write estimates; absent when none applies. */
  bounds?: WriteBounds;
  /** The connection's content detectors over text written to the audit log or shown to reviewers. */
  maskText: (text: string) => string;
  /** What the target's parser answers for SQL it rejects: a refused statement that does not parse gets the server's 42601. */
  syntaxError?: (sql: string) => ServerSyntaxError | undefined;
  log: (message: string) => void;
}

/** What a bounded connection's gate needs: the bounds, the connection's meter and the target's estimator. */
export interface WriteBounds {
  limits: EffectiveLimits;
  meter: BlastMeter;
  estimator: WriteEstimator;
}

type Params = readonly (string | Buffer | null)[];

/**
 * One statement as the gate asks the core about it, and the handle the relay carries with its
 * results: its analyses, the SQL, and (once decided) the verdict that let it pass.
 */
export class PgStatement implements EnforceCall, StatementHandle {
  verdict: Verdict | undefined;
  /** The target's estimates of the writes, when a bound asked for them: in the audit event, for reviewers. */
  estimates: readonly WriteEstimate[] | undefined;
  audit: 'always' | 'refused' = 'always';
  reviewLater = false;

  /**
   * `statements`: as the target will run them (the client's, each followed by what it also runs);
   * `analyzed`: the client's as the connection analyzer returned them.
   */
  constructor(
    private readonly gate: QueryGateDeps,
    readonly sql: string,
    readonly statements: readonly StatementAnalysis[],
    private readonly control?: GateControl,
    private readonly params?: Params,
    readonly analyzed: readonly StatementAnalysis[] = statements,
  ) {}

  /** What an approval binds to: the SQL and, once bound, every parameter value. */
  get text(): string {
    return this.params ? `${this.sql}\n-- parameters: ${JSON.stringify(paramValues(this.params))}` : this.sql;
  }

  /** What reviewers see: the same, through the connection's content detectors. */
  shown(): string {
    const mask = this.gate.maskText;
    const sql = mask(this.sql);
    return this.params ? `${sql}\n-- parameters: ${JSON.stringify(paramValues(this.params, mask))}` : sql;
  }

  event(params: Params | undefined = this.params): CommandEvent {
    const mask = this.gate.maskText;
    const data: Record<string, unknown> = { connection: this.gate.context.connection.name, text: mask(this.sql) };
    if (this.estimates)
      data.estimated_writes = this.estimates.map((e) => ({
        statement: e.statement,
        tables: e.tables,
        rows: e.rows,
        ...(e.tableRows !== undefined ? { table_rows: e.tableRows } : {}),
        ...(e.why ? { why: e.why } : {}),
      }));
    if (params) data.params = paramValues(params, mask);
    return { type: 'statement', data };
  }

  get hold(): HoldControl | undefined {
    const control = this.control;
    if (!control) return undefined;
    return {
      signal: control.signal,
      pending: (approval, decision) =>
        control.notice(
          `gatehouse: statement held for approval ${approval.id} (rule "${decision.rule}")`,
          approval.howToApprove,
          `it is denied if nobody approves before ${approval.expiresAt.toISOString()}`,
        ),
    };
  }
}

/**
 * The PostgreSQL adapter's decision point: analyses each statement with the real parser, turns it
 * into a `pg.query` action for the enforcement core and translates the verdict into the relay's
 * forward-or-refuse answer. A Parse is decided at Parse and audited at its Bind, where the
 * parameters are known and before anything runs.
 */
export function createQueryGate(deps: QueryGateDeps): StatementGate {
  return new QueryGate(deps);
}

class QueryGate implements StatementGate {
  /** The session changed search_path or its role: names may resolve otherwise on the estimator's connection. */
  private resolutionChanged = false;
  private readonly base: { connection: string; identity: EnforcementContext['session']['identity'] };

  constructor(private readonly deps: QueryGateDeps) {
    this.base = { connection: deps.context.connection.name, identity: deps.context.session.identity };
  }

  check(request: GateRequest, control: GateControl): GateVerdict | Promise<GateVerdict> {
    const { analyzer } = this.deps;
    switch (request.kind) {
      case 'query':
        return this.resolved(analyzer.analyzeQuery(request.sql), (statements, analyzed) => {
          const statement = new PgStatement(this.deps, request.sql, statements, control, undefined, analyzed);
          return this.decide(statement, {
            ...this.base,
            type: 'pg.query',
            via: 'simple',
            sql: request.sql,
            statements,
          });
        });
      case 'parse':
        return this.resolved(analyzer.analyzeParse(request.statementName, request.sql), (statements, analyzed) => {
          const statement = new PgStatement(this.deps, request.sql, statements, control, undefined, analyzed);
          statement.audit = 'refused';
          statement.reviewLater = true;
          return this.decide(statement, {
            ...this.base,
            type: 'pg.query',
            via: 'extended',
            sql: request.sql,
            statements,
          });
        });
      case 'bind':
        return this.bind(request, control);
      case 'function-call': {
        const statement = new PgStatement(this.deps, `-- FunctionCall oid ${request.functionOid}`, [], control);
        return this.decide(statement, { ...this.base, type: 'pg.function-call', functionOid: request.functionOid });
      }
    }
  }

  executed(result: ExecutionResult): void {
    const ran = (result.handle as PgStatement | undefined)?.statements ?? [];
    if (ran.some((s) => CATALOG_KINDS.has(s.kind))) this.deps.catalogChanged?.();
    recordResult(this.deps, result);
  }

  statementClosed(name: string): void {
    this.deps.analyzer.closeStatement(name);
  }

  statementCompleted(handle: StatementHandle, statementIndex: number): SessionEffects | void {
    const group = resultGroups((handle as PgStatement).statements)[statementIndex] ?? [];
    for (const analysis of group) this.deps.analyzer.statementCompleted(analysis);
    const own = group.find((a) => a.origin === undefined);
    // Code the gateway could not analyse (a DO block a rule allowed) may have closed or deallocated anything.
    if (own?.kind === 'unknown') return { portals: 'all', statements: 'all' };
    // A query answered from the template cache parses its tree on first use: skip that when the text cannot name anything.
    if (!own || NAMELESS_STATEMENT.test(own.text)) return undefined;
    return sessionEffectsOf(own.parseTree);
  }

  close(): void {}

  /** Runs `then` on the statements once the target resolved what they run (synchronously when cached). */
  private resolved(
    analyzed: readonly StatementAnalysis[],
    then: (
      statements: readonly StatementAnalysis[],
      analyzed: readonly StatementAnalysis[],
    ) => GateVerdict | Promise<GateVerdict>,
  ): GateVerdict | Promise<GateVerdict> {
    const resolved = this.deps.resolver ? this.deps.resolver.resolve(analyzed) : analyzed;
    return resolved instanceof Promise ? resolved.then((r) => then(r, analyzed)) : then(resolved, analyzed);
  }

  private decide(statement: PgStatement, action: Action): GateVerdict | Promise<GateVerdict> {
    const bounds = this.deps.bounds;
    if (bounds && statement.statements.some(changesResolution)) this.resolutionChanged = true;
    const overrun = bounds?.meter.overrun;
    if (overrun && !statement.statements.every((s) => s.command === 'ROLLBACK')) {
      const denial = refused(REFUSAL.denied, { action: 'deny', rule: LIMITS_RULE, reason: overrun });
      return this.committed(statement, denial);
    }
    if (bounds && action.type === 'pg.query' && hasWriteBound(bounds.limits) && writesOf(action.statements).length > 0)
      return this.estimated(bounds, action).then((estimated) => {
        statement.estimates = estimated.writeEstimates?.writes;
        return this.enforced(statement, estimated);
      });
    return this.enforced(statement, action);
  }

  /** The action with the target's estimates of its writes (none can be trusted once the session changed search_path or role). */
  private async estimated(bounds: WriteBounds, action: PgQueryAction): Promise<PgQueryAction> {
    const writes = this.resolutionChanged
      ? writesOf(action.statements).map((s) => ({
          statement: s.command,
          tables: s.tablesWritten,
          rows: null,
          why: 'this session changed search_path or its role, and the gateway estimates on its own connection',
        }))
      : await bounds.estimator.estimate(action.statements);
    return { ...action, writeEstimates: { writes, sessionWritten: bounds.meter.tally.rowsWritten } };
  }

  private committed(statement: PgStatement, verdict: Verdict): GateVerdict | Promise<GateVerdict> {
    const committed = this.deps.enforcer.commit(this.deps.context, verdict, statement.event());
    return committed instanceof Promise ? committed.then((v) => settle(statement, v)) : settle(statement, committed);
  }

  private enforced(statement: PgStatement, action: Action): GateVerdict | Promise<GateVerdict> {
    const lifts = this.deps.readOnly ? liftsReadOnly(statement.statements) : undefined;
    if (lifts) {
      const reason = `this session runs read-only on the target because the policy allows only reads on connection '${this.deps.context.connection.name}'; ${lifts} would lift that`;
      return this.committed(statement, refused(REFUSAL.denied, { action: 'deny', rule: READ_ONLY_RULE, reason }));
    }
    const verdict = this.deps.enforcer.enforce(this.deps.context, action, statement);
    if (verdict instanceof Promise) return verdict.then((v) => this.answered(statement, settle(statement, v)));
    return this.answered(statement, settle(statement, verdict));
  }

  /** A refused statement the target's parser rejects is answered as the server would: its 42601, message and position. */
  private answered(statement: PgStatement, verdict: GateVerdict): GateVerdict {
    if (verdict.forward || verdict.code !== SQLSTATE.insufficientPrivilege || !this.deps.syntaxError) return verdict;
    if (!statement.analyzed.some((a) => a.kind === 'unknown' && a.parseTree === null)) return verdict;
    const server = this.deps.syntaxError(statement.text);
    return server ? { forward: false, ...server } : verdict;
  }

  private bind(request: Extract<GateRequest, { kind: 'bind' }>, control: GateControl) {
    const { analyzer, enforcer, context } = this.deps;
    // A statement parsed through the gateway was decided (and approved) at Parse, unless SQL
    // DEALLOCATE/PREPARE has since given its name another meaning.
    const parsed = request.handle as PgStatement | undefined;
    const same =
      parsed?.verdict && analyzer.forStatement(request.statementName)?.every((s) => parsed.analyzed.includes(s));
    // A Parse that needs review is held here, once per Bind, with the values it will run with.
    if (parsed?.verdict?.decision.action === 'review' && same) {
      const bound = new PgStatement(this.deps, parsed.sql, parsed.statements, control, request.values, parsed.analyzed);
      return this.decide(bound, {
        ...this.base,
        type: 'pg.query',
        via: 'extended',
        sql: parsed.sql,
        statements: parsed.statements,
      });
    }
    if (parsed?.verdict && same) {
      const verdict = enforcer.commit(context, parsed.verdict, parsed.event(request.values));
      return verdict instanceof Promise
        ? verdict.then((v) => gateVerdictOf(v, parsed))
        : gateVerdictOf(verdict, parsed);
    }
    // A Bind may name a statement made with SQL PREPARE; decide on what it was prepared as.
    const statements = analyzer.forStatement(request.statementName);
    if (!statements)
      return {
        forward: false,
        code: SQLSTATE.insufficientPrivilege,
        message: `gatehouse: statement "${request.statementName}" was not prepared through the gateway`,
      } as const;
    const sql = statements.map((s) => s.text).join('; ');
    return this.resolved(statements, (resolved, analyzed) => {
      const prepared = new PgStatement(this.deps, sql, resolved, control, request.values, analyzed);
      return this.decide(prepared, { ...this.base, type: 'pg.query', via: 'extended', sql, statements: resolved });
    });
  }
}

/** Parameter values as the log and reviewers see them: text through `mask`, binary as `\\x` hex. */
function paramValues(params: Params, mask: (text: string) => string = (text) => text): (string | null)[] {
  return params.map((p) => (p === null ? null : typeof p === 'string' ? mask(p) : `\\x${p.toString('hex')}`));
}

/** The rule id of a statement refused because its transaction went over a `limits:` bound on writes. */
export const LIMITS_RULE = 'limits';

/** Settings after which an unqualified name may mean another table in the session than on the gateway's connection. */
const RESOLUTION_SETTINGS: ReadonlySet<string> = new Set(['search_path', 'role', 'session_authorization']);

function changesResolution(s: StatementAnalysis): boolean {
  return s.settings?.some((name) => RESOLUTION_SETTINGS.has(name)) ?? false;
}

function hasWriteBound(limits: EffectiveLimits): boolean {
  const { statement, session } = limits;
  return (
    statement.rowsWritten !== undefined || statement.fractionWritten !== undefined || session.rowsWritten !== undefined
  );
}

/** The rule id of a statement refused because it would lift a read-only target session. */
export const READ_ONLY_RULE = 'read-only-session';

/** Settings whose change would let a read-only session write. */
const READ_ONLY_SETTINGS: ReadonlySet<string> = new Set(['default_transaction_read_only', 'transaction_read_only']);

/** What in these statements would lift a read-only session (SET, set_config, READ WRITE, a function's SET clause), or undefined. */
function liftsReadOnly(statements: readonly StatementAnalysis[]): string | undefined {
  for (const s of statements) {
    const setting = s.settings?.find((name) => READ_ONLY_SETTINGS.has(name));
    if (setting) return `${s.origin ?? s.command} changing ${setting}`;
  }
  return undefined;
}

/**
 * A statement text that begins (no comment, no parenthesis) with a keyword of plain DML: in
 * PostgreSQL's grammar it cannot declare, close, prepare or deallocate anything or end a
 * transaction, so it has no session effects (`sessionEffectsOf` would find none).
 */
const NAMELESS_STATEMENT = /^\s*(?:select|insert|update|delete|values|table|with)\s/i;

/** Statements after which the target's catalog may say something else (DO and CALL are unknown). */
const CATALOG_KINDS: ReadonlySet<string> = new Set(['ddl', 'privilege', 'admin', 'unknown']);

function settle(statement: PgStatement, verdict: Verdict): GateVerdict {
  statement.verdict = verdict;
  return gateVerdictOf(verdict, statement);
}

/** The result events of one statement: duration, rows, bytes, masked values, and a masked sample. */
function recordResult(deps: QueryGateDeps, result: ExecutionResult): void {
  const { context, enforcer } = deps;
  void enforcer.record(context, 'statement.result', {
    duration_ms: Math.round(result.durationMs * 1000) / 1000,
    rows: result.rows,
    bytes: result.bytes,
    masked_values: result.maskedValues,
    sqlstate: result.errorCode,
    ...(result.error ? { error: deps.maskText(result.error.message) } : {}),
    ...(result.error?.hidden !== undefined ? { error_hidden: deps.maskText(result.error.hidden) } : {}),
  });
  if (result.sample.length > 0) {
    void enforcer.record(context, 'result.sample', {
      columns: result.columns,
      rows: result.sample.map((row) => row.map((v) => (v === null ? null : deps.maskText(v)))),
    });
  }
}
